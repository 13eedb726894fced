/// The index of a node in its graph. Nodes only refer to earlier nodes (SSA order).
public struct NodeID: Hashable, Comparable, Sendable, CustomStringConvertible {
  public var index: Int
  public init(_ index: Int) { self.index = index }
  public static func < (a: NodeID, b: NodeID) -> Bool { a.index < b.index }
  public var description: String { "%\(index)" }
}

/// One SSA value: an op, its operands and its (inferred) type.
public struct Node: Hashable, Sendable {
  public var op: Op
  public var operands: [NodeID]
  public var type: TensorType
  public var location: SourceLocation?
  /// The kernel that computes and stores this value, set by `FuseKernels`; nil for values that
  /// are never stored (leaves, and ops inlined into their consumers' loops).
  public var kernel: Int?

  public init(
    op: Op, operands: [NodeID], type: TensorType, location: SourceLocation? = nil,
    kernel: Int? = nil
  ) {
    self.op = op
    self.operands = operands
    self.type = type
    self.location = location
    self.kernel = kernel
  }
}

/// A named result of an entry point.
public struct GraphOutput: Hashable, Sendable {
  public var name: String
  public var node: NodeID

  public init(name: String, node: NodeID) {
    self.name = name
    self.node = node
  }
}

/// A dataflow graph in SSA order, with named outputs.
public struct Graph: Hashable, Sendable {
  public var nodes: [Node] = []
  public var outputs: [GraphOutput] = []

  public init(nodes: [Node] = [], outputs: [GraphOutput] = []) {
    self.nodes = nodes
    self.outputs = outputs
  }

  public subscript(id: NodeID) -> Node { nodes[id.index] }
  public var ids: [NodeID] { nodes.indices.map(NodeID.init) }

  /// Appends a node whose type is inferred from its operands (leaf ops need `declared`).
  @discardableResult
  public mutating func append(
    _ op: Op, _ operands: [NodeID] = [], declared: TensorType? = nil,
    location: SourceLocation? = nil
  ) throws(IRError) -> NodeID {
    let type: TensorType
    do {
      type = try op.inferType(operands.map { self[$0].type }, declared: declared)
    } catch {
      throw IRError(
        op: op, location: location, operandTypes: operands.map { self[$0].type },
        message: error.message)
    }
    nodes.append(Node(op: op, operands: operands, type: type, location: location))
    return NodeID(nodes.count - 1)
  }

  /// The output node named `name`, if any.
  public func output(named name: String) -> NodeID? {
    outputs.first { $0.name == name }?.node
  }

  /// Input nodes by name, in graph order.
  public var inputs: [(name: String, id: NodeID)] {
    ids.compactMap { id in
      if case .input(let name) = self[id].op { return (name, id) }
      return nil
    }
  }

  /// Whether each node is live: an output or a side effect (assign, update) depends on it.
  public func liveNodes() -> [Bool] {
    var live = nodes.map(\.op.hasSideEffects)
    for output in outputs { live[output.node.index] = true }
    for id in ids.reversed() where live[id.index] {
      for operand in self[id].operands { live[operand.index] = true }
    }
    return live
  }

  /// How many nodes use each node as an operand, plus one per output naming it.
  public func useCounts() -> [Int] {
    var counts = Array(repeating: 0, count: nodes.count)
    for node in nodes { for operand in node.operands { counts[operand.index] += 1 } }
    for output in outputs { counts[output.node.index] += 1 }
    return counts
  }
}
