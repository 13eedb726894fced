/// Deterministic textual IR. The parser reads back exactly what this prints.
public struct Printer {
  /// Whether to print `loc("file":line)` after each node (tests compare without them).
  public var includeLocations: Bool

  public init(includeLocations: Bool = true) {
    self.includeLocations = includeLocations
  }

  public func print(_ program: Program) -> String {
    var lines = ["program \"\(program.name)\""]
    for variable in program.variables {
      lines.append(
        "variable \"\(variable.name)\" : \(variable.type) \(variable.role.rawValue) "
          + Self.format(variable.initializer))
    }
    for entry in program.entries {
      lines.append("")
      lines.append("entry \"\(entry.name)\" {")
      lines.append(print(entry.graph, indent: "  "))
      lines.append("}")
    }
    return lines.joined(separator: "\n") + "\n"
  }

  /// Prints one graph's nodes and outputs, one per line.
  public func print(_ graph: Graph, indent: String = "") -> String {
    var lines: [String] = []
    for id in graph.ids { lines.append(indent + print(graph[id], id: id)) }
    for output in graph.outputs {
      lines.append(indent + "output \"\(output.name)\" = \(output.node)")
    }
    return lines.joined(separator: "\n")
  }

  /// `%3 = add(%1, %2) : f32[4]`, with attributes in braces and an optional location.
  public func print(_ node: Node, id: NodeID) -> String {
    var text = "\(id) = \(node.op.mnemonic)"
    text += "(" + node.operands.map(\.description).joined(separator: ", ") + ")"
    let attributes = node.op.attributes
    if !attributes.isEmpty {
      text += " {" + attributes.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") + "}"
    }
    text += " : \(node.type)"
    if let kernel = node.kernel { text += " kernel(\(kernel))" }
    if includeLocations, let location = node.location {
      text += " loc(\"\(location.file)\":\(location.line))"
    }
    return text
  }

  static func format(_ initializer: Initializer) -> String {
    switch initializer {
    case .zeros: "zeros"
    case .constant(let v): "constant(\(Attribute.format(v)))"
    case .normal(let std, let seed): "normal(\(Attribute.format(std)), \(seed))"
    case .uniform(let bound, let seed): "uniform(\(Attribute.format(bound)), \(seed))"
    }
  }
}
