import GraphIR

/// Rebuilds a graph node by node: passes copy, replace or drop each source node, and the
/// rewriter keeps the mapping from old values to new ones and renumbers densely.
struct GraphRewriter {
  let source: Graph
  var result = Graph()
  private var mapping: [NodeID?]

  init(_ source: Graph) {
    self.source = source
    mapping = Array(repeating: nil, count: source.nodes.count)
  }

  /// The new value standing for an old one; the old one must already be copied or replaced.
  subscript(old: NodeID) -> NodeID {
    guard let new = mapping[old.index] else {
      preconditionFailure("\(old) was used after being dropped")
    }
    return new
  }

  func isMapped(_ old: NodeID) -> Bool { mapping[old.index] != nil }

  /// Copies an old node with its operands remapped.
  @discardableResult
  mutating func copy(_ old: NodeID) -> NodeID {
    var node = source[old]
    node.operands = node.operands.map { self[$0] }
    result.nodes.append(node)
    let new = NodeID(result.nodes.count - 1)
    mapping[old.index] = new
    return new
  }

  /// Makes `old` stand for an existing new value.
  mutating func replace(_ old: NodeID, with new: NodeID) {
    mapping[old.index] = new
  }

  /// Appends a new node (operands already in the new graph), inferring its type.
  mutating func emit(
    _ op: Op, _ operands: [NodeID] = [], declared: TensorType? = nil,
    location: SourceLocation? = nil
  ) throws(IRError) -> NodeID {
    try result.append(op, operands, declared: declared, location: location)
  }

  /// The rebuilt graph with the source's outputs remapped.
  func finish() -> Graph {
    var graph = result
    graph.outputs = source.outputs.map { GraphOutput(name: $0.name, node: self[$0.node]) }
    return graph
  }
}
