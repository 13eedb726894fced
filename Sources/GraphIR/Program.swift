/// How a variable is initialised. Random initialisers carry their own seed, so every run of the
/// same program starts from the same state.
public enum Initializer: Hashable, Sendable {
  case zeros
  case constant(Double)
  case normal(std: Double, seed: UInt64)
  case uniform(bound: Double, seed: UInt64)
}

/// What a variable is for: trained parameter, statistic (BatchNorm running mean/var), or
/// optimizer slot.
public enum VariableRole: String, Hashable, Sendable {
  case parameter, state, slot
}

/// Persistent state shared by the entry points of a program.
public struct Variable: Hashable, Sendable {
  public var name: String
  public var type: TensorType
  public var role: VariableRole
  public var initializer: Initializer

  public init(name: String, type: TensorType, role: VariableRole, initializer: Initializer) {
    self.name = name
    self.type = type
    self.role = role
    self.initializer = initializer
  }
}

/// A named function of a program: reads inputs and variables, produces outputs, assigns state.
public struct EntryPoint: Hashable, Sendable {
  public var name: String
  public var graph: Graph

  public init(name: String, graph: Graph) {
    self.name = name
    self.graph = graph
  }
}

/// A training program: variables plus several entry points over them.
public struct Program: Hashable, Sendable {
  public var name: String
  public var variables: [Variable]
  public var entries: [EntryPoint]

  public init(name: String, variables: [Variable] = [], entries: [EntryPoint] = []) {
    self.name = name
    self.variables = variables
    self.entries = entries
  }

  public func variable(named name: String) -> Variable? {
    variables.first { $0.name == name }
  }

  public func entry(named name: String) -> EntryPoint? {
    entries.first { $0.name == name }
  }

  /// Returns a copy with each entry point's graph replaced by `transform(graph)`.
  public func mapGraphs(_ transform: (Graph) throws -> Graph) rethrows -> Program {
    var copy = self
    for index in copy.entries.indices {
      copy.entries[index].graph = try transform(copy.entries[index].graph)
    }
    return copy
  }
}
