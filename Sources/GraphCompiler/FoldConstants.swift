// Fold constants.
// Requires: a verified graph.
// Guarantees: every op whose operands are all splat constants and whose result is again a splat
// (elementwise ops, broadcast, reshape, transpose, slice, pad of a zero splat, reductions) is
// replaced by a `constant` splat node of the same type and location. Nothing else is folded.
// The folded operands stay in place; `EliminateDeadCode` removes them once unused.

import GraphIR

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

public struct FoldConstants: GraphPass {
  public var name: String { "fold-constants" }

  public init() {}

  public func run(_ graph: Graph) throws(IRError) -> PassResult {
    var rewriter = GraphRewriter(graph)
    var changed = false
    for id in graph.ids {
      let node = graph[id]
      let values = node.operands.map { Self.splat(rewriter.result[rewriter[$0]]) }
      let operands = values.compactMap { $0 }
      guard !operands.isEmpty, operands.count == values.count,
        let value = Self.fold(node.op, operands, operandType: graph[node.operands[0]].type)
      else {
        rewriter.copy(id)
        continue
      }
      let folded = try rewriter.emit(
        .constant(.splat(value)), declared: node.type, location: node.location)
      rewriter.replace(id, with: folded)
      changed = true
    }
    return PassResult(graph: changed ? rewriter.finish() : graph, changed: changed)
  }

  private static func splat(_ node: Node) -> Double? {
    if case .constant(.splat(let value)) = node.op { return value }
    return nil
  }

  /// The splat value of `op` applied to splat operands, or nil when the result is no splat or
  /// the op is not folded.
  static func fold(_ op: Op, _ operands: [Double], operandType: TensorType) -> Double? {
    let x = operands[0]
    switch op {
    case .unary(let unary): return evaluate(unary, x)
    case .powConstant(let exponent): return pow(x, exponent)
    case .binary(let binary): return evaluate(binary, x, operands[1])
    case .compare(let comparison): return evaluate(comparison, x, operands[1]) ? 1 : 0
    case .select: return x != 0 ? operands[1] : operands[2]
    case .broadcast, .reshape, .transpose, .slice: return x
    case .pad: return x == 0 ? 0 : nil
    case .reduce(.sum, let axes):
      return x * Double(axes.map { operandType.shape[$0] }.reduce(1, *))
    case .reduce(.mean, _), .reduce(.max, _): return x
    default: return nil
    }
  }

  static func evaluate(_ op: UnaryOp, _ x: Double) -> Double {
    switch op {
    case .neg: -x
    case .exp: exp(x)
    case .log: log(x)
    case .sqrt: x.squareRoot()
    case .rsqrt: 1 / x.squareRoot()
    case .relu: x > 0 ? x : 0
    case .abs: Swift.abs(x)
    }
  }

  static func evaluate(_ op: BinaryOp, _ a: Double, _ b: Double) -> Double {
    switch op {
    case .add: a + b
    case .sub: a - b
    case .mul: a * b
    case .div: a / b
    case .max: Swift.max(a, b)
    case .min: Swift.min(a, b)
    }
  }

  static func evaluate(_ op: Comparison, _ a: Double, _ b: Double) -> Bool {
    switch op {
    case .lt: a < b
    case .le: a <= b
    case .gt: a > b
    case .ge: a >= b
    case .eq: a == b
    case .ne: a != b
    }
  }
}
