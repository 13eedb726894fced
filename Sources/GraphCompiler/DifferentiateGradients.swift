import GraphIR

// Differentiate gradients: expands every `gradient(loss, x)` marker into primitive ops by
// reverse-mode accumulation, and removes `stop_gradient` (an identity once no marker remains).
// Requires: markers whose first operand is a scalar. Guarantees: no `gradient` or
// `stop_gradient` node remains. Markers are expanded in graph order, so a gradient of a value
// that itself depends on a gradient is a second-order derivative, with no special case.

/// Expands `gradient` markers into reverse-mode derivative computations.
public struct DifferentiateGradients: GraphPass {
  public let name = "differentiate-gradients"
  public init() {}

  public func run(_ graph: Graph) throws(IRError) -> PassResult {
    let markers = graph.ids.filter {
      if case .gradient = graph[$0].op { return true }
      if case .stopGradient = graph[$0].op { return true }
      return false
    }
    guard !markers.isEmpty else { return PassResult(graph: graph, changed: false) }
    var rewriter = GraphRewriter(graph)
    // Gradients already computed, keyed by the (new) loss and the (new) variable.
    var cache: [NodeID: [NodeID: NodeID]] = [:]
    for id in graph.ids {
      let node = graph[id]
      switch node.op {
      case .gradient:
        let loss = rewriter[node.operands[0]]
        let wrt = rewriter[node.operands[1]]
        if cache[loss]?[wrt] == nil {
          let targets = Self.pendingTargets(graph, from: id, loss: node.operands[0], rewriter)
          let grads = try rewriter.result.reverseMode(loss: loss, wrt: targets, at: node.location)
          cache[loss, default: [:]].merge(zip(targets, grads).map { $0 }) { a, _ in a }
        }
        rewriter.replace(id, with: cache[loss]![wrt]!)
      default:
        rewriter.copy(id)
      }
    }
    return PassResult(graph: Self.removingStopGradients(rewriter.finish()), changed: true)
  }

  /// Once every marker is expanded, `stop_gradient` is the identity. (It must stay until then:
  /// a later marker's backward sweep stops at it.)
  private static func removingStopGradients(_ graph: Graph) -> Graph {
    var rewriter = GraphRewriter(graph)
    for id in graph.ids {
      if case .stopGradient = graph[id].op {
        rewriter.replace(id, with: rewriter[graph[id].operands[0]])
      } else {
        rewriter.copy(id)
      }
    }
    return rewriter.finish()
  }

  /// The variables of this and every later marker on the same loss that are already defined,
  /// so one backward sweep serves them all.
  private static func pendingTargets(
    _ graph: Graph, from start: NodeID, loss: NodeID, _ rewriter: GraphRewriter
  ) -> [NodeID] {
    var targets: [NodeID] = []
    for id in graph.ids[start.index...] {
      let node = graph[id]
      guard case .gradient = node.op, node.operands[0] == loss,
        rewriter.isMapped(node.operands[1])
      else { continue }
      let target = rewriter[node.operands[1]]
      if !targets.contains(target) { targets.append(target) }
    }
    return targets
  }
}

extension Graph {
  /// Reverse-mode accumulation of d(loss)/d(each of `wrt`), appended to this graph.
  mutating func reverseMode(loss: NodeID, wrt: [NodeID], at location: SourceLocation?)
    throws(IRError) -> [NodeID]
  {
    let relevant = relevantNodes(loss: loss, wrt: wrt)
    var adjoints: [NodeID: NodeID] = [loss: try splat(1, self[loss].type, at: location)]
    for id in ids[0...loss.index].reversed() where relevant.contains(id) {
      guard let g = adjoints[id] else { continue }
      let contributions = try vectorJacobianProducts(of: id, adjoint: g)
      for (operand, contribution) in zip(self[id].operands, contributions) {
        guard let contribution, relevant.contains(operand) else { continue }
        if let existing = adjoints[operand] {
          adjoints[operand] = try binary(.add, existing, contribution, at: self[id].location)
        } else {
          adjoints[operand] = contribution
        }
      }
    }
    var result: [NodeID] = []
    for target in wrt {
      if let adjoint = adjoints[target] {
        result.append(adjoint)
      } else {
        result.append(try splat(0, self[target].type, at: location))
      }
    }
    return result
  }

  /// Nodes on some path from a variable in `wrt` to `loss` (float values only).
  private func relevantNodes(loss: NodeID, wrt: [NodeID]) -> Set<NodeID> {
    var fromWrt = Set(wrt)
    let start = wrt.map(\.index).min() ?? loss.index
    if start <= loss.index {
      for id in ids[start...loss.index] where self[id].operands.contains(where: fromWrt.contains) {
        if case .stopGradient = self[id].op { continue }
        if self[id].type.dtype == .f32 { fromWrt.insert(id) }
      }
    }
    var relevant = Set<NodeID>()
    var stack = [loss]
    while let id = stack.popLast() {
      guard fromWrt.contains(id), relevant.insert(id).inserted else { continue }
      stack.append(contentsOf: self[id].operands)
    }
    return relevant
  }
}
