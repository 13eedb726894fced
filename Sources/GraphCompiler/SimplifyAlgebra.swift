// Simplify algebra.
// Requires: a verified graph.
// Guarantees: applies local identities, with "0" and "1" meaning a splat constant of that value
// or a broadcast of one: x+0, 0+x, x-0, x*1, 1*x, x/1 -> x; x*0, 0*x -> a zero splat of the
// type; neg(neg(x)) -> x; reshape, transpose and broadcast that keep the shape and order -> x;
// reshape(reshape(x)) -> one reshape; select with a splat mask -> the chosen operand.
// stop_gradient is kept. Replaced nodes are dropped; their operands are left for
// `EliminateDeadCode`. The result has the same types and outputs.

import GraphIR

public struct SimplifyAlgebra: GraphPass {
  public var name: String { "simplify-algebra" }

  public init() {}

  /// What a node simplifies to, in terms of the new graph.
  private enum Rewrite {
    /// An existing value of the new graph.
    case value(NodeID)
    /// A new node to append.
    case node(Op, [NodeID])
  }

  public func run(_ graph: Graph) throws(IRError) -> PassResult {
    var rewriter = GraphRewriter(graph)
    var changed = false
    for id in graph.ids {
      let node = graph[id]
      let operands = node.operands.map { rewriter[$0] }
      switch simplify(node, operands, in: rewriter.result) {
      case nil:
        rewriter.copy(id)
      case .value(let value):
        rewriter.replace(id, with: value)
        changed = true
      case .node(let op, let newOperands):
        let new = try rewriter.emit(op, newOperands, declared: node.type, location: node.location)
        rewriter.replace(id, with: new)
        changed = true
      }
    }
    return PassResult(graph: changed ? rewriter.finish() : graph, changed: changed)
  }

  private func simplify(_ node: Node, _ x: [NodeID], in graph: Graph) -> Rewrite? {
    switch node.op {
    case .binary(let op):
      return simplify(op, x[0], x[1], type: node.type, in: graph)
    case .unary(.neg):
      guard case .unary(.neg) = graph[x[0]].op else { return nil }
      return .value(graph[x[0]].operands[0])
    case .reshape(let shape):
      if shape == graph[x[0]].type.shape { return .value(x[0]) }
      guard case .reshape = graph[x[0]].op else { return nil }
      let inner = graph[x[0]].operands[0]
      return graph[inner].type.shape == shape ? .value(inner) : .node(.reshape(shape), [inner])
    case .transpose(let perm):
      return perm == Array(perm.indices) ? .value(x[0]) : nil
    case .broadcast(let shape):
      return shape == graph[x[0]].type.shape ? .value(x[0]) : nil
    case .select:
      guard let mask = graph.splatValue(x[0]) else { return nil }
      return .value(mask != 0 ? x[1] : x[2])
    default:
      return nil
    }
  }

  private func simplify(
    _ op: BinaryOp, _ a: NodeID, _ b: NodeID, type: TensorType, in graph: Graph
  ) -> Rewrite? {
    let (left, right) = (graph.splatValue(a), graph.splatValue(b))
    switch op {
    case .add where right == 0, .sub where right == 0: return .value(a)
    case .add where left == 0: return .value(b)
    case .mul where right == 1, .div where right == 1: return .value(a)
    case .mul where left == 1: return .value(b)
    case .mul where right == 0: return zero(b, type: type, in: graph)
    case .mul where left == 0: return zero(a, type: type, in: graph)
    default: return nil
    }
  }

  /// The zero operand itself when it is a plain constant, else a new zero splat of the type.
  private func zero(_ operand: NodeID, type: TensorType, in graph: Graph) -> Rewrite {
    if case .constant = graph[operand].op, graph[operand].type == type { return .value(operand) }
    return .node(.constant(.splat(0)), [])
  }
}

extension Graph {
  /// The value of a splat constant, looking through broadcasts of one; nil for anything else.
  func splatValue(_ id: NodeID) -> Double? {
    switch self[id].op {
    case .constant(.splat(let value)): value
    case .broadcast: splatValue(self[id].operands[0])
    default: nil
    }
  }
}
