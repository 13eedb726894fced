// Eliminate dead code.
// Requires: a verified graph.
// Guarantees: the result keeps exactly the nodes that an output or a side-effect node (assign,
// update) depends on, in their original order; everything else is dropped. Unused inputs are
// dropped too. Ids are dense and in SSA order.

import GraphIR

public struct EliminateDeadCode: GraphPass {
  public var name: String { "eliminate-dead-code" }

  public init() {}

  public func run(_ graph: Graph) throws(IRError) -> PassResult {
    let live = liveNodes(graph)
    guard live.contains(false) else { return PassResult(graph: graph, changed: false) }
    var rewriter = GraphRewriter(graph)
    for id in graph.ids where live[id.index] {
      rewriter.copy(id)
    }
    return PassResult(graph: rewriter.finish(), changed: true)
  }

  /// Marks the roots (outputs and side effects), then walks backwards marking their operands.
  private func liveNodes(_ graph: Graph) -> [Bool] {
    var live = graph.nodes.map(\.op.hasSideEffects)
    for output in graph.outputs { live[output.node.index] = true }
    for id in graph.ids.reversed() where live[id.index] {
      for operand in graph[id].operands { live[operand.index] = true }
    }
    return live
  }
}
