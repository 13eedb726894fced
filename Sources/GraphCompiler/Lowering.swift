import GraphIR

/// The compiler's pass list, front to back: expand gradients, lower optimizer updates, then
/// simplify. Each stage can be stopped after (`headwayc dump --after NAME`), and with
/// `verify` the verifier runs after every pass.
public enum Lowering {
  /// The names of the stages in order; `--after` accepts any of them.
  public static let stageNames = [
    "differentiate-gradients", "lower-optimizer-updates", "eliminate-common-subexpressions",
    "fold-constants", "simplify-algebra", "eliminate-dead-code", "simplify",
  ]

  /// Runs the pipeline, stopping after the stage named `stopAfter` (all of it when nil).
  /// The last stage, `simplify`, repeats the four simplification passes to a fixed point.
  public static func run(_ program: Program, stopAfter: String? = nil, verify: Bool = true)
    throws(IRError) -> Program
  {
    if let stopAfter, !stageNames.contains(stopAfter) {
      throw IRError(
        message: "unknown pass '\(stopAfter)'; passes: \(stageNames.joined(separator: ", "))")
    }
    let single: [any GraphPass] = [
      EliminateCommonSubexpressions(), FoldConstants(), SimplifyAlgebra(), EliminateDeadCode(),
    ]
    var program = try Pipeline([DifferentiateGradients()], verifyEachPass: verify).run(program)
    if stopAfter == stageNames[0] { return program }
    program = try LowerOptimizerUpdates().run(program).program
    if verify { try Verifier().verify(program) }
    if stopAfter == stageNames[1] { return program }
    for pass in single {
      program = try Pipeline([pass], verifyEachPass: verify).run(program)
      if stopAfter == pass.name { return program }
    }
    var simplification = Pipeline.simplification
    simplification.verifyEachPass = verify
    return try simplification.run(program)
  }
}
