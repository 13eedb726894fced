import GraphIR

/// The compiler's pass list, front to back: expand gradients, declare the optimizer slots, then
/// simplify. Each stage can be stopped after (`headwayc dump --after NAME`), and with
/// `verify` the verifier runs after every pass. The optimizer updates stay statements (the
/// compiled code runs them as flat loops, the interpreter applies them); the reference path
/// asks for them written out in primitive ops (`lowerUpdates`, `LowerOptimizerUpdates`).
public enum Lowering {
  /// The names of the stages in order; `--after` accepts any of them.
  public static let stageNames = [
    "differentiate-gradients", "declare-optimizer-slots", "eliminate-common-subexpressions",
    "fold-constants", "simplify-algebra", "eliminate-dead-code", "simplify",
  ]

  /// Runs the pipeline, stopping after the stage named `stopAfter` (all of it when nil).
  /// The last stage, `simplify`, repeats the four simplification passes to a fixed point.
  /// `lowerUpdates`: the second stage writes the updates out (`LowerOptimizerUpdates`) instead
  /// of only declaring their slots.
  public static func run(
    _ program: Program, stopAfter: String? = nil, verify: Bool = true, lowerUpdates: Bool = false
  ) throws(IRError) -> Program {
    if let stopAfter, !stageNames.contains(stopAfter) {
      throw IRError(
        message: "unknown pass '\(stopAfter)'; passes: \(stageNames.joined(separator: ", "))")
    }
    let single: [any GraphPass] = [
      EliminateCommonSubexpressions(), FoldConstants(), SimplifyAlgebra(), EliminateDeadCode(),
    ]
    var program = try Pipeline([DifferentiateGradients()], verifyEachPass: verify).run(program)
    if stopAfter == stageNames[0] { return program }
    let optimizer: any ProgramPass =
      lowerUpdates ? LowerOptimizerUpdates() : DeclareOptimizerSlots()
    program = try optimizer.run(program).program
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
