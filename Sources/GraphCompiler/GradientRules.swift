import GraphIR

// Reverse-mode rules: for a node y = op(x...) and the adjoint g of y, the contribution to the
// adjoint of each operand. Every rule emits primitive ops only, so the result can itself be
// differentiated (second order for the bilevel hypergradient).

extension Graph {
  /// Adjoint contributions for each operand of `id` (nil where none flows).
  mutating func vectorJacobianProducts(of id: NodeID, adjoint g: NodeID) throws(IRError)
    -> [NodeID?]
  {
    let node = self[id]
    let x = node.operands
    let at = node.location
    switch node.op {
    case .unary(let op): return [try unaryRule(op, x[0], y: id, g, at)]
    case .powConstant(let p):
      let dydx = try scale(try emit(.powConstant(p - 1), x[0], at: at), by: p, at: at)
      return [try binary(.mul, g, dydx, at: at)]
    case .binary(let op): return try binaryRule(op, x[0], x[1], y: id, g, at)
    case .select:
      let zero = try splat(0, like: g, at: at)
      return [nil, try select(x[0], g, zero, at: at), try select(x[0], zero, g, at: at)]
    case .reduce(let op, _): return [try reduceRule(op, x[0], y: id, g, at)]
    case .broadcast: return [try sumToShape(g, self[x[0]].type.shape, at: at)]
    case .reshape: return [try emit(.reshape(self[x[0]].type.shape), g, at: at)]
    case .transpose(let perm):
      var inverse = perm
      for (i, p) in perm.enumerated() { inverse[p] = i }
      return [try emit(.transpose(inverse), g, at: at)]
    case .slice(let start, let size):
      let shape = self[x[0]].type.shape
      let high = shape.indices.map { shape[$0] - start[$0] - size[$0] }
      return [try emit(.pad(low: start, high: high), g, at: at)]
    case .pad(let low, _):
      return [try emit(.slice(start: low, size: self[x[0]].type.shape), g, at: at)]
    case .concat(let axis): return try concatRule(axis, x, g, at)
    case .matmul(let ta, let tb): return try matmulRule(ta, tb, x[0], x[1], g, at)
    default: return try structuredRule(node, g)
    }
  }

  private mutating func structuredRule(_ node: Node, _ g: NodeID) throws(IRError) -> [NodeID?] {
    let x = node.operands
    let at = node.location
    switch node.op {
    case .conv2d(let c):
      return [
        try emit(.conv2dInputGrad(c, inputShape: self[x[0]].type.shape), g, x[1], at: at),
        try emit(.conv2dFilterGrad(c, filterShape: self[x[1]].type.shape), x[0], g, at: at),
      ]
    case .conv2dInputGrad(let c, _):
      return [
        try emit(.conv2d(c), g, x[1], at: at),
        try emit(.conv2dFilterGrad(c, filterShape: self[x[1]].type.shape), g, x[0], at: at),
      ]
    case .conv2dFilterGrad(let c, _):
      return [
        try emit(.conv2dInputGrad(c, inputShape: self[x[0]].type.shape), x[1], g, at: at),
        try emit(.conv2d(c), x[0], g, at: at),
      ]
    case .avgPool2d(let window, let stride):
      let shape = self[x[0]].type.shape
      return [
        try emit(.avgPool2dGrad(window: window, stride: stride, inputShape: shape), g, at: at)
      ]
    case .avgPool2dGrad(let window, let stride, _):
      return [try emit(.avgPool2d(window: window, stride: stride), g, at: at)]
    case .collective(let c):
      return [try emit(.collective(c.transpose), g, at: at)]
    default:
      // Leaves, comparisons, one-hot, stop_gradient and state updates pass no gradient.
      return node.operands.map { _ in nil }
    }
  }

  private mutating func unaryRule(
    _ op: UnaryOp, _ x: NodeID, y: NodeID, _ g: NodeID, _ at: SourceLocation?
  ) throws(IRError) -> NodeID {
    switch op {
    case .neg: return try unary(.neg, g, at: at)
    case .exp: return try binary(.mul, g, y, at: at)
    case .log: return try binary(.div, g, x, at: at)
    case .sqrt: return try binary(.div, try scale(g, by: 0.5, at: at), y, at: at)
    case .rsqrt:
      let dydx = try scale(try binary(.div, y, x, at: at), by: -0.5, at: at)
      return try binary(.mul, g, dydx, at: at)
    case .relu:
      let positive = try compare(.gt, x, try splat(0, like: x, at: at), at: at)
      return try binary(.mul, g, positive, at: at)
    case .abs:
      let zero = try splat(0, like: x, at: at)
      let sign = try binary(
        .sub, try compare(.gt, x, zero, at: at), try compare(.lt, x, zero, at: at), at: at)
      return try binary(.mul, g, sign, at: at)
    }
  }

  private mutating func binaryRule(
    _ op: BinaryOp, _ a: NodeID, _ b: NodeID, y: NodeID, _ g: NodeID, _ at: SourceLocation?
  ) throws(IRError) -> [NodeID?] {
    switch op {
    case .add: return [g, g]
    case .sub: return [g, try unary(.neg, g, at: at)]
    case .mul: return [try binary(.mul, g, b, at: at), try binary(.mul, g, a, at: at)]
    case .div:
      let da = try binary(.div, g, b, at: at)
      let db = try unary(.neg, try binary(.div, try binary(.mul, g, y, at: at), b, at: at), at: at)
      return [da, db]
    case .max, .min:
      let mask = try compare(op == .max ? .ge : .le, a, b, at: at)
      let zero = try splat(0, like: g, at: at)
      return [try select(mask, g, zero, at: at), try select(mask, zero, g, at: at)]
    }
  }

  private mutating func reduceRule(
    _ op: ReduceOp, _ x: NodeID, y: NodeID, _ g: NodeID, _ at: SourceLocation?
  ) throws(IRError) -> NodeID {
    let shape = self[x].type.shape
    let spread = try broadcast(g, to: shape, at: at)
    switch op {
    case .sum: return spread
    case .mean:
      let count = self[x].type.elementCount / self[y].type.elementCount
      let factor = try append(.constant(.ratio(1, count)), declared: self[x].type, location: at)
      return try binary(.mul, spread, factor, at: at)
    case .max:
      let isMax = try compare(.eq, x, try broadcast(y, to: shape, at: at), at: at)
      return try binary(.mul, spread, isMax, at: at)
    }
  }

  private mutating func concatRule(
    _ axis: Int, _ operands: [NodeID], _ g: NodeID, _ at: SourceLocation?
  ) throws(IRError) -> [NodeID?] {
    var offset = 0
    var result: [NodeID?] = []
    for operand in operands {
      let size = self[operand].type.shape
      var start = Array(repeating: 0, count: size.count)
      start[axis] = offset
      offset += size[axis]
      result.append(try emit(.slice(start: start, size: size), g, at: at))
    }
    return result
  }

  private mutating func matmulRule(
    _ ta: Bool, _ tb: Bool, _ a: NodeID, _ b: NodeID, _ g: NodeID, _ at: SourceLocation?
  ) throws(IRError) -> [NodeID?] {
    func mm(_ p: NodeID, _ q: NodeID, _ tp: Bool, _ tq: Bool) throws(IRError) -> NodeID {
      try emit(.matmul(transposeA: tp, transposeB: tq), p, q, at: at)
    }
    switch (ta, tb) {
    case (false, false): return [try mm(g, b, false, true), try mm(a, g, true, false)]
    case (false, true): return [try mm(g, b, false, false), try mm(g, a, true, false)]
    case (true, false): return [try mm(b, g, false, true), try mm(a, g, false, false)]
    case (true, true): return [try mm(b, g, true, true), try mm(g, a, true, true)]
    }
  }
}
