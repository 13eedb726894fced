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
    let live = graph.liveNodes()
    guard live.contains(false) else { return PassResult(graph: graph, changed: false) }
    var rewriter = GraphRewriter(graph)
    for id in graph.ids where live[id.index] {
      rewriter.copy(id)
    }
    return PassResult(graph: rewriter.finish(), changed: true)
  }
}
