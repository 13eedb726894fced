import GraphCompiler
import GraphIR
import GraphInterpreter
import Testing

/// `w` : f32[2] trained on loss = sum(w * w) (so g = 2w) by `update`, whose attributes are
/// given textually; not lowered yet.
private func quadraticProgram(_ update: String) throws -> Program {
  try Parser.parseProgram(
    """
    program "p"
    variable "w" : f32[2] parameter zeros

    entry "step" {
      %0 = variable() {var="w"} : f32[2]
      %1 = mul(%0, %0) : f32[2]
      %2 = reduce_sum(%1) {axes=[0]} : f32[1]
      %3 = reshape(%2) {shape=[]} : f32[]
      %4 = gradient(%3, %0) : f32[2]
      %5 = input() {name="lr"} : f32[]
      %6 = input() {name="optimizer"} : f32[]
      %7 = input() {name="momentum"} : f32[]
      %8 = input() {name="weight_decay"} : f32[]
      %9 = \(update) : f32[2]
      output "loss" = %3
    }
    """)
}

/// Runs `steps` optimizer steps from w = [1, 2] with learning rate `lr` (and the inputs of a
/// runtime update: `optimizer`, momentum 0.9, weight decay 0.01) twice, with the interpreter
/// applying the update statement and on the arithmetic `LowerOptimizerUpdates` writes out;
/// expects the two to agree and returns the first's final state.
private func train(
  _ program: Program, lr: Double, steps: Int, optimizer: Double = 0,
  sourceLocation: Testing.SourceLocation = #_sourceLocation
) throws -> [String: HostTensor] {
  let applied = try train(
    lowered: try Lowering.run(program), lr: lr, steps: steps, optimizer: optimizer)
  let lowered = try train(
    lowered: try Lowering.run(program, lowerUpdates: true), lr: lr, steps: steps,
    optimizer: optimizer)
  #expect(applied.keys.sorted() == lowered.keys.sorted(), sourceLocation: sourceLocation)
  for (name, tensor) in applied {
    expectClose(lowered[name], tensor.scalars, sourceLocation: sourceLocation)
  }
  return applied
}

private func train(
  lowered program: Program, lr: Double, steps: Int, optimizer: Double
) throws -> [String: HostTensor] {
  var state = initialState(for: program)
  state["w"] = HostTensor(.f32([2]), [1, 2])
  let graph = try #require(program.entry(named: "step")).graph
  let inputs = [
    "lr": lr, "optimizer": optimizer, "momentum": 0.9, "weight_decay": 0.01,
  ].mapValues { HostTensor(scalar: $0) }
  for _ in 0..<steps {
    _ = try Interpreter().run(graph, inputs: inputs, state: &state)
  }
  return state
}

private func expectClose(
  _ actual: HostTensor?, _ expected: [Double], tolerance: Double = 1e-12,
  sourceLocation: Testing.SourceLocation = #_sourceLocation
) {
  let scalars = actual?.scalars ?? []
  #expect(scalars.count == expected.count, sourceLocation: sourceLocation)
  for (a, e) in zip(scalars, expected) {
    #expect(abs(a - e) <= tolerance, "\(scalars) vs \(expected)", sourceLocation: sourceLocation)
  }
}

private func norm(_ x: [Double]) -> Double { x.map { $0 * $0 }.reduce(0, +).squareRoot() }

@Suite struct OptimizerStepTests {
  let w = [1.0, 2.0]
  let lr = 0.1
  let wd = 0.01
  let momentum = 0.9

  @Test func `One SGD step moves w by lr times the decayed gradient`() throws {
    let program = try quadraticProgram(
      #"sgd_update(%4, %5) {var="w", momentum=0.9, weight_decay=0.01}"#)
    let state = try train(program, lr: lr, steps: 1)
    // v = g + wd w with g = 2w and zero initial momentum; w' = w - lr v.
    let v = w.map { 2 * $0 + wd * $0 }
    expectClose(state["w.momentum"], v)
    expectClose(state["w"], zip(w, v).map { $0 - lr * $1 })
    expectClose(state["w"], [0.799, 1.598])
  }

  @Test func `A second SGD step uses the stored momentum`() throws {
    let program = try quadraticProgram(
      #"sgd_update(%4, %5) {var="w", momentum=0.9, weight_decay=0.01}"#)
    let state = try train(program, lr: lr, steps: 2)
    let v1 = w.map { 2 * $0 + wd * $0 }
    let w1 = zip(w, v1).map { $0 - lr * $1 }
    let v2 = zip(w1, v1).map { 2 * $0 + wd * $0 + momentum * $1 }
    expectClose(state["w.momentum"], v2)
    expectClose(state["w"], zip(w1, v2).map { $0 - lr * $1 })
  }

  @Test func `The first AdamW step moves each weight by lr times sign(g) plus decay`() throws {
    let program = try quadraticProgram(
      #"adamw_update(%4, %5) {var="w", beta1=0.9, beta2=0.999, epsilon=1e-08, "#
        + #"weight_decay=0.01}"#)
    let state = try train(program, lr: lr, steps: 1)
    let g = w.map { 2 * $0 }
    // m = (1 - b1) g and v = (1 - b2) g^2; bias correction makes m^ = g and v^ = g^2, so the
    // direction is g / (|g| + eps) + wd w: about sign(g) + wd w.
    let direction = zip(g, w).map { g, w in g / (abs(g) + 1e-8) + wd * w }
    expectClose(state["w"], zip(w, direction).map { $0 - lr * $1 })
    expectClose(state["w"], [1 - lr * (1 + wd * 1), 2 - lr * (1 + wd * 2)], tolerance: 1e-8)
    expectClose(state["w.adam_m"], g.map { 0.1 * $0 })
    expectClose(state["w.adam_v"], g.map { 0.001 * $0 * $0 })
    expectClose(state["w.adam_step"], [1])
  }

  @Test func `A LARS step scales lr by trust times |w| over |g + wd w|`() throws {
    let program = try quadraticProgram(
      #"lars_update(%4, %5) {var="w", momentum=0.9, weight_decay=0.01, trust=0.001, "#
        + #"exclude=false}"#)
    let state = try train(program, lr: lr, steps: 1)
    let decayed = w.map { 2 * $0 + wd * $0 }
    let ratio = 0.001 * norm(w) / norm(decayed)
    // |w| = sqrt(5), |2.01 w| = 2.01 sqrt(5): the ratio is 0.001 / 2.01.
    #expect(abs(ratio - 0.001 / 2.01) < 1e-15)
    let step = decayed.map { lr * ratio * $0 }
    expectClose(state["w.momentum"], step)
    expectClose(state["w"], zip(w, step).map { $0 - $1 })
  }

  @Test func `An excluded LARS parameter takes a plain step without decay or trust ratio`()
    throws
  {
    let program = try quadraticProgram(
      #"lars_update(%4, %5) {var="w", momentum=0.9, weight_decay=0.01, trust=0.001, "#
        + #"exclude=true}"#)
    let state = try train(program, lr: lr, steps: 2)
    let step1 = w.map { lr * 2 * $0 }
    let w1 = zip(w, step1).map { $0 - $1 }
    let step2 = zip(w1, step1).map { lr * 2 * $0 + momentum * $1 }
    expectClose(state["w.momentum"], step2)
    expectClose(state["w"], zip(w1, step2).map { $0 - $1 })
  }

  @Test(arguments: [
    (0.0, #"sgd_update(%4, %5) {var="w", momentum=0.9, weight_decay=0.01}"#, false),
    (
      1.0,
      #"lars_update(%4, %5) {var="w", momentum=0.9, weight_decay=0.01, trust=0.001, "#
        + #"exclude=false}"#, false
    ),
    (
      1.0,
      #"lars_update(%4, %5) {var="w", momentum=0.9, weight_decay=0.01, trust=0.001, "#
        + #"exclude=true}"#, true
    ),
    (
      2.0,
      #"adamw_update(%4, %5) {var="w", beta1=0.9, beta2=0.999, epsilon=1e-08, "#
        + #"weight_decay=0.01}"#, false
    ),
  ])
  func `A runtime update with optimizer k takes the steps of the static rule k`(
    choice: Double, staticUpdate: String, exclude: Bool
  ) throws {
    let runtime = try quadraticProgram(
      #"runtime_update(%4, %5, %6, %7, %8) {var="w", trust=0.001, exclude=\#(exclude), "#
        + #"beta2=0.999, epsilon=1e-08}"#)
    let chosen = try train(runtime, lr: lr, steps: 3, optimizer: choice)
    let reference = try train(try quadraticProgram(staticUpdate), lr: lr, steps: 3)
    expectClose(chosen["w"], reference["w"]!.scalars, tolerance: 1e-12)
    let firstMoment = reference["w.momentum"] ?? reference["w.adam_m"]!
    expectClose(chosen["w.momentum"], firstMoment.scalars, tolerance: 1e-12)
    if let v = reference["w.adam_v"] {
      expectClose(chosen["w.adam_v"], v.scalars)
      expectClose(chosen["w.adam_step"], [3])
    } else {
      expectClose(chosen["w.adam_v"], [0, 0])
      expectClose(chosen["w.adam_step"], [0])
    }
  }
}
