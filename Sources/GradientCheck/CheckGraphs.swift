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

/// SplitMix64, with Box-Muller normals: deterministic test data from a seed.
struct SplitMix {
  var state: UInt64

  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  mutating func uniform() -> Double { (Double(next() >> 11) + 0.5) / 9_007_199_254_740_992 }

  mutating func normal() -> Double {
    let (u, v) = (uniform(), uniform())
    return (-2 * u.log()).squareRoot() * (2 * Double.pi * v).cosine()
  }
}

#if canImport(Glibc)
  import Glibc

  extension Double {
    fileprivate func log() -> Double { Glibc.log(self) }
    fileprivate func cosine() -> Double { Glibc.cos(self) }
  }
#endif
