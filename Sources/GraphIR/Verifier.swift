/// Checks that a graph or program is well formed: SSA order, operand counts, every type equal
/// to what the shape rules infer, variables declared with matching types, at most one write per
/// variable, unique input and output names, a loop that keeps `GraphLoop`'s rules, every
/// collective of a graph over the same number of ranks. Errors name the op, its DSL location
/// and shapes.
public struct Verifier {
  public init() {}

  /// Verifies every entry point against the program's variables.
  public func verify(_ program: Program) throws(IRError) {
    var names = Set<String>()
    for variable in program.variables where !names.insert(variable.name).inserted {
      throw IRError(message: "variable '\(variable.name)' is declared twice")
    }
    let variables = Dictionary(program.variables.map { ($0.name, $0.type) }) { a, _ in a }
    var entryNames = Set<String>()
    for entry in program.entries {
      guard entryNames.insert(entry.name).inserted else {
        throw IRError(message: "entry point '\(entry.name)' is defined twice")
      }
      do { try verify(entry.graph, variables: variables) } catch {
        var error = error
        error.message = "in entry '\(entry.name)': " + error.message
        throw error
      }
    }
  }

  /// Verifies one graph; `variables` gives the declared type of each readable variable (nil:
  /// accept any variable whose uses agree with each other).
  public func verify(_ graph: Graph, variables: [String: TensorType]? = nil) throws(IRError) {
    var written = Set<String>()
    var inputs: [String: TensorType] = [:]
    var undeclared: [String: TensorType] = [:]
    var ranks: (count: Int, first: NodeID)?
    for id in graph.ids {
      let node = graph[id]
      func fail(_ message: String) -> IRError {
        IRError(
          op: node.op, location: node.location,
          operandTypes: node.operands.filter { $0 < id }.map { graph[$0].type },
          message: "\(id): \(message)")
      }
      if let bad = node.operands.first(where: { $0.index < 0 || $0 >= id }) {
        throw fail("operand \(bad) is not defined before its use")
      }
      let inferred: TensorType
      do {
        inferred = try node.op.inferType(node.operands.map { graph[$0].type }, declared: node.type)
      } catch { throw fail(error.message) }
      guard inferred == node.type else {
        throw fail("result type \(node.type) does not match inferred \(inferred)")
      }
      switch node.op {
      case .input(let name):
        if let other = inputs.updateValue(node.type, forKey: name), other != node.type {
          throw fail("input '\(name)' is read with two types, \(other) and \(node.type)")
        }
      case .variable(let name):
        try checkVariable(name, node.type, variables, &undeclared, fail)
      case .collective(let collective):
        if let ranks, ranks.count != collective.ranks {
          throw fail(
            "a collective over \(collective.ranks) ranks in a graph whose \(ranks.first) is over "
              + "\(ranks.count): every collective of an entry is for the same ranks")
        }
        ranks = ranks ?? (collective.ranks, id)
      case .assign, .update:
        let name = node.op.writtenVariable!
        try checkVariable(name, node.type, variables, &undeclared, fail)
        guard written.insert(name).inserted else {
          throw fail("variable '\(name)' is written twice in one entry point")
        }
      default:
        break
      }
    }
    try verifyOutputs(graph)
  }

  private func checkVariable(
    _ name: String, _ type: TensorType, _ variables: [String: TensorType]?,
    _ undeclared: inout [String: TensorType], _ fail: (String) -> IRError
  ) throws(IRError) {
    guard let variables else {
      if let other = undeclared.updateValue(type, forKey: name), other != type {
        throw fail("variable '\(name)' is used with two types, \(other) and \(type)")
      }
      return
    }
    guard let declared = variables[name] else {
      throw fail("variable '\(name)' is not declared")
    }
    guard declared == type else {
      throw fail("variable '\(name)' is declared \(declared) but used as \(type)")
    }
  }

  private func verifyOutputs(_ graph: Graph) throws(IRError) {
    var names = Set<String>()
    for output in graph.outputs {
      guard names.insert(output.name).inserted else {
        throw IRError(message: "output '\(output.name)' is named twice")
      }
      guard output.node.index >= 0, output.node.index < graph.nodes.count else {
        throw IRError(message: "output '\(output.name)' refers to missing \(output.node)")
      }
      guard !graph[output.node].op.hasSideEffects else {
        throw IRError(message: "output '\(output.name)' refers to a state update")
      }
    }
    _ = try graph.loop()
  }
}
