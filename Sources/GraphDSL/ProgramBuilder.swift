import GraphIR

/// Collects the variables and entry points of one training program.
public final class ProgramBuilder {
  public let name: String
  /// The seed every random initialiser of this program derives from.
  public let seed: UInt64
  /// The ranks of a data-parallel program (nil: one process).
  public let dataParallel: DataParallel?
  private var variables: [Variable] = []
  private var variableIndex: [String: Int] = [:]
  private var entries: [EntryPoint] = []
  private var errors: [IRError] = []
  /// Parameters LARS leaves out of weight decay and trust-ratio scaling (biases, BatchNorm).
  public private(set) var nonAdaptive: Set<String> = []

  public init(name: String, seed: UInt64 = 0, dataParallel: DataParallel? = nil) {
    self.name = name
    self.seed = seed
    self.dataParallel = dataParallel
  }

  /// Records one entry point: `body` receives a fresh graph builder.
  public func entry(_ name: String, training: Bool, _ body: (GraphBuilder) -> Void) {
    let builder = GraphBuilder(program: self, training: training)
    body(builder)
    entries.append(EntryPoint(name: name, graph: builder.graph))
  }

  /// Parameters declared so far whose names start with `prefix`, in declaration order.
  public func parameters(under prefix: String) -> [Variable] {
    variables.filter { $0.role == .parameter && $0.name.hasPrefix(prefix + ".") }
  }

  /// A seed unique to one variable name: FNV-1a of the name mixed with the program seed.
  public func seed(for name: String) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
    for byte in name.utf8 {
      hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
    }
    return hash
  }

  func declare(_ variable: Variable, adaptive: Bool, location: SourceLocation?) {
    if let index = variableIndex[variable.name] {
      if variables[index].type != variable.type {
        record(
          IRError(
            location: location,
            message: "variable '\(variable.name)' is declared as \(variables[index].type) "
              + "and again as \(variable.type)"))
      }
      return
    }
    variableIndex[variable.name] = variables.count
    variables.append(variable)
    if !adaptive { nonAdaptive.insert(variable.name) }
  }

  func record(_ error: IRError) {
    errors.append(error)
  }

  /// The finished program, verified; throws the first error any layer or op recorded.
  public func build() throws(IRError) -> Program {
    if let first = errors.first { throw first }
    let program = Program(name: name, variables: variables, entries: entries)
    try Verifier().verify(program)
    return program
  }
}
