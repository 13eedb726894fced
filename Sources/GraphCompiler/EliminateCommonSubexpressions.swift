// Eliminate common subexpressions.
// Requires: a verified graph.
// Guarantees: no two nodes without side effects have the same op, operands and type; uses of a
// later duplicate refer to the first occurrence, whose location is kept. Side-effect nodes
// (assign, update) are never merged. Leaves (inputs, variables, constants) merge when their op
// and type are equal. Duplicates are dropped, so ids stay dense and in SSA order.

import GraphIR

public struct EliminateCommonSubexpressions: GraphPass {
  public var name: String { "eliminate-common-subexpressions" }

  public init() {}

  /// What makes two nodes interchangeable: everything but the location.
  private struct Key: Hashable {
    var op: Op
    var operands: [NodeID]
    var type: TensorType
  }

  public func run(_ graph: Graph) throws(IRError) -> PassResult {
    var rewriter = GraphRewriter(graph)
    var firstOccurrence: [Key: NodeID] = [:]
    var changed = false
    for id in graph.ids {
      let node = graph[id]
      if node.op.hasSideEffects {
        rewriter.copy(id)
        continue
      }
      let key = Key(op: node.op, operands: node.operands.map { rewriter[$0] }, type: node.type)
      if let existing = firstOccurrence[key] {
        rewriter.replace(id, with: existing)
        changed = true
      } else {
        firstOccurrence[key] = rewriter.copy(id)
      }
    }
    return PassResult(graph: changed ? rewriter.finish() : graph, changed: changed)
  }
}
