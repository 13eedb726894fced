import GraphIR
import Testing

/// A program that uses every variable role, every initializer and every op kind, with
/// negative numbers and tiny doubles in attributes.
func everythingProgram() throws -> Program {
  var program = Program(
    name: "everything",
    variables: [
      Variable(
        name: "w", type: .f32([4, 3, 3, 3]), role: .parameter,
        initializer: .normal(std: 0.01, seed: 42)),
      Variable(
        name: "m", type: .f32([64, 10]), role: .parameter,
        initializer: .uniform(bound: 1e-08, seed: .max)),
      Variable(name: "b", type: .f32([10]), role: .parameter, initializer: .zeros),
      Variable(name: "running", type: .f32([1, 10]), role: .state, initializer: .constant(-0.5)),
      Variable(name: "w.momentum", type: .f32([4, 3, 3, 3]), role: .slot, initializer: .zeros),
    ])
  program.entries = [
    EntryPoint(name: "train", graph: try trainGraph()),
    EntryPoint(name: "elementwise", graph: try elementwiseGraph()),
  ]
  return program
}

/// Convolution, pooling, their gradients, contractions, movement, collectives and state
/// updates.
private func trainGraph() throws -> Graph {
  var g = Graph()
  let loc = SourceLocation(file: "graphs/everything.swift", line: 12)
  let conv = Conv2D(stride: 1, padding: 1)
  let x = try g.append(.input("x"), declared: .f32([2, 3, 8, 8]), location: loc)
  let labels = try g.append(.input("labels"), declared: .i32([2]))
  let lr = try g.append(.input("lr"), declared: .scalar)
  let w = try g.append(.variable("w"), declared: .f32([4, 3, 3, 3]), location: loc)
  let m = try g.append(.variable("m"), declared: .f32([64, 10]))
  let b = try g.append(.variable("b"), declared: .f32([10]))
  let y = try g.append(.conv2d(conv), [x, w])
  let pool = try g.append(.avgPool2d(window: 2, stride: 2), [y])
  let poolGrad = try g.append(
    .avgPool2dGrad(window: 2, stride: 2, inputShape: [2, 4, 8, 8]), [pool])
  try g.append(.conv2dInputGrad(conv, inputShape: [2, 3, 8, 8]), [poolGrad, w])
  try g.append(.conv2dFilterGrad(conv, filterShape: [4, 3, 3, 3]), [x, poolGrad])
  let flat = try g.append(.reshape([2, 64]), [pool])
  let logits = try g.append(.matmul(transposeA: false, transposeB: false), [flat, m])
  let mt = try g.append(.matmul(transposeA: true, transposeB: true), [m, flat])
  let t = try g.append(.transpose([1, 0]), [mt])
  let bias = try g.append(.broadcast([2, 10]), [b])
  let sum = try g.append(.binary(.add), [logits, bias])
  let hot = try g.append(.oneHot(classes: 10), [labels])
  let part = try g.append(.slice(start: [0, 2], size: [2, 3]), [sum])
  let padded = try g.append(.pad(low: [0, 2], high: [0, 5]), [part])
  let both = try g.append(.concat(axis: 0), [padded, t, hot])
  let total = try g.append(.reduce(.sum, axes: [0, 1]), [both])
  let loss = try g.append(.reshape([]), [total])
  let frozen = try g.append(.stopGradient, [loss])
  let gw = try g.append(.gradient, [loss, w])
  let gm = try g.append(.gradient, [loss, m])
  let gb = try g.append(.gradient, [loss, b])
  try g.append(
    .update(UpdateRule(kind: .sgd, variable: "w", momentum: 0.9, weightDecay: 5e-4)), [gw, lr])
  let lars = UpdateRule(
    kind: .lars, variable: "m", weightDecay: 1e-08, excludeFromAdaptation: true,
    trustCoefficient: 0.02)
  try g.append(.update(lars), [gm, lr])
  let adam = UpdateRule(
    kind: .adamw, variable: "b", weightDecay: 0.1, beta1: 0.8, beta2: 0.99, epsilon: 1e-08)
  try g.append(.update(adam), [gb, lr])
  let mean = try g.append(.reduce(.mean, axes: [0]), [sum])
  let gathered = try g.append(
    .collective(Collective(.allGather, ranks: 2, axis: 1, rotate: true)), [mean])
  let scattered = try g.append(
    .collective(Collective(.reduceScatter, ranks: 2, axis: 1)), [gathered])
  let reduced = try g.append(.collective(Collective(.allReduce, ranks: 2)), [scattered])
  try g.append(.assign("running"), [reduced], location: loc)
  g.outputs = [GraphOutput(name: "loss", node: loss), GraphOutput(name: "frozen", node: frozen)]
  return g
}

/// Every unary, binary and comparison op, pow, select, reductions and the constant kinds.
private func elementwiseGraph() throws -> Graph {
  var g = Graph()
  let x = try g.append(.input("x"), declared: .f32([2, 2]))
  let c = try g.append(.constant(.splat(-3.25)), declared: .scalar)
  let splat = try g.append(.broadcast([2, 2]), [c])
  let diagonal = try g.append(
    .constant(.diagonal(offset: -1, value: 1e-08)), declared: .f32([2, 2]))
  let values = try g.append(.constant(.values([-1.5, 1e-08, 2, 1e20])), declared: .f32([2, 2]))
  let low = try g.append(.constant(.splat(-.infinity)), declared: .f32([2, 2]))
  var last = x
  for op in UnaryOp.allCases { last = try g.append(.unary(op), [last]) }
  last = try g.append(.powConstant(-0.5), [last])
  for op in BinaryOp.allCases { last = try g.append(.binary(op), [last, splat]) }
  for op in Comparison.allCases { last = try g.append(.compare(op), [last, diagonal]) }
  last = try g.append(.select, [last, values, low])
  for op in ReduceOp.allCases { last = try g.append(.reduce(op, axes: [1]), [last]) }
  try g.append(.reduce(.sum, axes: []), [last])
  g.outputs = [GraphOutput(name: "y", node: last)]
  return g
}

@Suite struct RoundTripTests {
  @Test func `The example program is valid`() throws {
    try Verifier().verify(try everythingProgram())
  }

  @Test func `Printing then parsing a program gives back the same value and text`() throws {
    let program = try everythingProgram()
    let text = Printer().print(program)
    let parsed = try Parser.parseProgram(text)
    #expect(parsed == program)
    #expect(Printer().print(parsed) == text)
  }

  @Test func `Locations are printed only when asked for`() throws {
    let program = try everythingProgram()
    #expect(Printer().print(program).contains(#"loc("graphs/everything.swift":12)"#))
    let bare = Printer(includeLocations: false).print(program)
    #expect(!bare.contains("loc("))
    let parsed = try Parser.parseProgram(bare)
    #expect(parsed.entries[0].graph.nodes.allSatisfy { $0.location == nil })
  }

  @Test func `Negative and tiny numbers print in a form the parser reads back`() throws {
    let text = Printer().print(try everythingProgram())
    for fragment in [
      "splat=-3.25", "diagonal=-1, value=1e-08", "values=[-1.5,1e-08,2.0,1e+20]",
      "splat=-inf", "exponent=-0.5", "epsilon=1e-08", "constant(-0.5)",
      "uniform(1e-08, 18446744073709551615)", "normal(0.01, 42)",
    ] {
      #expect(text.contains(fragment), "missing \(fragment)")
    }
  }

  @Test func `A graph body round-trips on its own`() throws {
    let graph = try everythingProgram().entries[1].graph
    let text = Printer().print(graph)
    #expect(try Parser.parseGraph(text) == graph)
  }
}
