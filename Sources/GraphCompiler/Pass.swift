import GraphIR

/// A named, pure rewrite of one graph. It reports whether it changed anything.
public protocol GraphPass: Sendable {
  /// The name used by `headwayc dump --after` (verb-object, kebab-case).
  var name: String { get }
  func run(_ graph: Graph) throws(IRError) -> PassResult
}

/// A pass that needs the whole program (it adds variables or reads their declarations).
public protocol ProgramPass: Sendable {
  var name: String { get }
  func run(_ program: Program) throws(IRError) -> ProgramPassResult
}

/// The output of a graph pass.
public struct PassResult: Sendable {
  public var graph: Graph
  public var changed: Bool

  public init(graph: Graph, changed: Bool) {
    self.graph = graph
    self.changed = changed
  }
}

/// The output of a program pass.
public struct ProgramPassResult: Sendable {
  public var program: Program
  public var changed: Bool

  public init(program: Program, changed: Bool) {
    self.program = program
    self.changed = changed
  }
}
