import GradientCheck
import GraphIR
import Testing

/// A program whose `step` entry computes `loss = sum(op(x...) * r)` for random variables x and
/// a fixed random weighting r, with an SGD update per variable so the gradient check sees them.
/// With `secondOrder`, the loss is instead `sum(d(first loss)/dx0 * r2)`: checking its gradient
/// checks the derivative of every gradient rule the op's first derivative uses.
func opProgram(
  _ op: Op, operands: [TensorType], positive: Bool = false, secondOrder: Bool = false
) throws -> Program {
  var graph = Graph()
  var variables: [Variable] = []
  var reads: [NodeID] = []
  for (i, type) in operands.enumerated() {
    let name = "x\(i)"
    variables.append(
      Variable(
        name: name, type: type, role: .parameter,
        initializer: .normal(std: 1, seed: UInt64(17 + i))))
    reads.append(try graph.append(.variable(name), declared: type))
  }
  // Positive operands (for log, sqrt, ...) through exp, whose own gradient is checked too.
  let operands = try reads.map { read throws in
    positive ? try graph.append(.unary(.exp), [read]) : read
  }
  let y = try graph.append(op, operands)
  var loss = try weightedSum(&graph, y, seed: 3)
  if secondOrder {
    let g = try graph.append(.gradient, [loss, reads[0]])
    loss = try weightedSum(&graph, g, seed: 5)
  }
  graph.outputs = [GraphOutput(name: "loss", node: loss)]
  let lr = try graph.append(.input("lr"), declared: .scalar)
  for (i, read) in reads.enumerated() {
    let g = try graph.append(.gradient, [loss, read])
    try graph.append(.update(UpdateRule(kind: .sgd, variable: "x\(i)")), [g, lr])
  }
  let program = Program(
    name: "op", variables: variables, entries: [EntryPoint(name: "step", graph: graph)])
  try Verifier().verify(program)
  return program
}

/// `sum(y * r)` for a deterministic pseudo-random r, as a scalar.
func weightedSum(_ graph: inout Graph, _ y: NodeID, seed: UInt64) throws -> NodeID {
  let type = graph[y].type
  let r = Initializer.normal(std: 1, seed: seed).values(count: type.elementCount)
  let weights = try graph.append(.constant(.values(r)), declared: type)
  let product = try graph.append(.binary(.mul), [y, weights])
  let sum = try graph.append(.reduce(.sum, axes: Array(0..<type.rank)), [product])
  return try graph.append(.reshape([]), [sum])
}

func expectGradientsMatch(
  _ op: Op, _ operands: [TensorType], positive: Bool = false, secondOrder: Bool = false,
  sourceLocation: Testing.SourceLocation = #_sourceLocation
) throws {
  let program = try opProgram(op, operands: operands, positive: positive, secondOrder: secondOrder)
  let reports = try GradientCheck(tolerance: 1e-9).check(program, entry: "step")
  #expect(reports.count == operands.count, sourceLocation: sourceLocation)
  for report in reports {
    // Reverse mode against forward mode, and forward mode's own rules against a central
    // difference (smooth inputs, so the difference is accurate here).
    #expect(report.passed, "\(op.mnemonic): \(report)", sourceLocation: sourceLocation)
    #expect(
      report.numericError <= 1e-6, "\(op.mnemonic): \(report)", sourceLocation: sourceLocation)
  }
}

@Suite struct OpGradientTests {
  @Test func convolutionGradientsMatchFiniteDifferences() throws {
    for conv in [Conv2D(stride: 1, padding: 1), Conv2D(stride: 2, padding: 1), Conv2D(stride: 2)] {
      try expectGradientsMatch(.conv2d(conv), [.f32([2, 3, 6, 6]), .f32([4, 3, 3, 3])])
    }
  }
}

extension OpGradientTests {
  static let square = TensorType.f32([3, 4])

  /// Unary and binary elementwise ops on inputs kept away from kinks and poles.
  @Test(arguments: [UnaryOp.neg, .exp, .sqrt, .rsqrt, .log, .relu, .abs])
  func unaryGradientsMatchFiniteDifferences(_ op: UnaryOp) throws {
    try expectGradientsMatch(.unary(op), [Self.square], positive: true)
  }

  @Test(arguments: BinaryOp.allCases)
  func binaryGradientsMatchFiniteDifferences(_ op: BinaryOp) throws {
    try expectGradientsMatch(.binary(op), [Self.square, Self.square])
  }

  @Test func reductionGradientsMatchFiniteDifferences() throws {
    for op in ReduceOp.allCases {
      try expectGradientsMatch(.reduce(op, axes: [1]), [.f32([3, 4, 2])])
      try expectGradientsMatch(.reduce(op, axes: [0, 2]), [.f32([3, 4, 2])])
    }
  }

  @Test func movementGradientsMatchFiniteDifferences() throws {
    try expectGradientsMatch(.broadcast([2, 3, 4]), [.f32([3, 1])])
    try expectGradientsMatch(.reshape([4, 3]), [Self.square])
    try expectGradientsMatch(.transpose([2, 0, 1]), [.f32([2, 3, 4])])
    try expectGradientsMatch(.slice(start: [1, 0], size: [2, 3]), [Self.square])
    try expectGradientsMatch(.pad(low: [1, 0], high: [0, 2]), [Self.square])
    try expectGradientsMatch(.concat(axis: 1), [Self.square, .f32([3, 2])])
  }

  @Test func contractionGradientsMatchFiniteDifferences() throws {
    try expectGradientsMatch(
      .matmul(transposeA: false, transposeB: false), [.f32([3, 4]), .f32([4, 2])])
    try expectGradientsMatch(
      .matmul(transposeA: true, transposeB: false), [.f32([4, 3]), .f32([4, 2])])
    try expectGradientsMatch(
      .matmul(transposeA: false, transposeB: true), [.f32([3, 4]), .f32([2, 4])])
    try expectGradientsMatch(
      .matmul(transposeA: true, transposeB: true), [.f32([4, 3]), .f32([2, 4])])
    let conv = Conv2D(stride: 2, padding: 1)
    try expectGradientsMatch(
      .conv2dInputGrad(conv, inputShape: [2, 3, 6, 6]), [.f32([2, 4, 3, 3]), .f32([4, 3, 3, 3])])
    try expectGradientsMatch(
      .conv2dFilterGrad(conv, filterShape: [4, 3, 3, 3]),
      [.f32([2, 3, 6, 6]), .f32([2, 4, 3, 3])])
    try expectGradientsMatch(.avgPool2d(window: 2, stride: 2), [.f32([2, 3, 4, 4])])
    try expectGradientsMatch(
      .avgPool2dGrad(window: 2, stride: 2, inputShape: [2, 3, 4, 4]), [.f32([2, 3, 2, 2])])
  }

  @Test func powerAndSelectGradientsMatchFiniteDifferences() throws {
    try expectGradientsMatch(.powConstant(1.5), [Self.square], positive: true)
    try expectGradientsMatch(.select, [Self.square, Self.square, Self.square])
  }

  /// Second order: every op the head, BatchNorm and InfoNCE use.
  @Test func secondOrderGradientsOfHeadOpsMatchFiniteDifferences() throws {
    for op: Op in [.unary(.exp), .unary(.log), .unary(.rsqrt), .unary(.sqrt)] {
      try expectGradientsMatch(op, [Self.square], positive: true, secondOrder: true)
    }
    for op in [BinaryOp.add, .sub, .mul, .div] {
      try expectGradientsMatch(.binary(op), [Self.square, Self.square], secondOrder: true)
    }
    try expectGradientsMatch(.unary(.relu), [Self.square], secondOrder: true)
    try expectGradientsMatch(.reduce(.sum, axes: [1]), [Self.square], secondOrder: true)
    try expectGradientsMatch(.reduce(.mean, axes: [0]), [Self.square], secondOrder: true)
    try expectGradientsMatch(.broadcast([2, 3, 4]), [.f32([3, 1])], secondOrder: true)
    try expectGradientsMatch(
      .matmul(transposeA: false, transposeB: true), [.f32([3, 4]), .f32([2, 4])], secondOrder: true)
  }
}
