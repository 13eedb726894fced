import GraphCompiler
import GraphIR
import GraphInterpreter

extension GradientCheck {
  /// The graph that yields the loss, the analytic gradient of every updated variable
  /// (`grad:<name>`) and the value of every `stop_gradient` node (`frozen:<i>`).
  struct AnalyticProbe {
    var graph: Graph
    var variables: [String]
    var frozen: [NodeID]
  }

  func analyticGraph(_ graph: Graph, loss: NodeID) throws -> AnalyticProbe {
    var probe = Graph(nodes: graph.nodes, outputs: [GraphOutput(name: "loss", node: loss)])
    var variables: [String] = []
    var frozen: [NodeID] = []
    for id in graph.ids {
      switch graph[id].op {
      case .update(let rule):
        variables.append(rule.variable)
        probe.outputs.append(
          GraphOutput(name: "grad:" + rule.variable, node: graph[id].operands[0]))
      case .stopGradient:
        frozen.append(id)
        probe.outputs.append(GraphOutput(name: "frozen:\(id.index)", node: id))
      default: break
      }
    }
    return AnalyticProbe(graph: try lower(probe), variables: variables, frozen: frozen)
  }

  /// The loss alone, with each `stop_gradient` replaced by its unperturbed value.
  func frozenLossGraph(
    _ graph: Graph, loss: NodeID, frozen: [NodeID], values: [String: HostTensor]
  ) throws -> Graph {
    var copy = Graph(nodes: graph.nodes, outputs: [GraphOutput(name: "loss", node: loss)])
    for id in frozen {
      copy.nodes[id.index] = Node(
        op: .constant(.values(values["frozen:\(id.index)"]!.scalars)), operands: [],
        type: graph[id].type, location: graph[id].location)
    }
    return try lower(copy)
  }

  /// Drops state updates, expands gradients, simplifies.
  private func lower(_ graph: Graph) throws -> Graph {
    var kept = Graph(outputs: graph.outputs)
    var mapping: [Int: NodeID] = [:]
    for id in graph.ids where !graph[id].op.hasSideEffects {
      var node = graph[id]
      node.operands = node.operands.map { mapping[$0.index]! }
      kept.nodes.append(node)
      mapping[id.index] = NodeID(kept.nodes.count - 1)
    }
    kept.outputs = graph.outputs.map { GraphOutput(name: $0.name, node: mapping[$0.node.index]!) }
    let expanded = try Pipeline([DifferentiateGradients()]).run(kept)
    return try Pipeline.simplification.run(expanded)
  }
}
