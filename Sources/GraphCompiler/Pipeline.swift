// A sequence of graph passes, optionally repeated until none of them changes anything.
// Requires: a verified graph or program.
// Guarantees: the passes run in order, each on the previous one's result; with
// `verifyEachPass`, the result of every pass is verified (against the program's variables when
// running a program) and a failure names the pass and entry point.

import GraphIR

public struct Pipeline: Sendable {
  public var passes: [any GraphPass]
  public var verifyEachPass: Bool
  /// How often the whole sequence may run; it stops early once a round changes nothing.
  public var maxRounds: Int

  public init(_ passes: [any GraphPass], verifyEachPass: Bool = true, maxRounds: Int = 1) {
    self.passes = passes
    self.verifyEachPass = verifyEachPass
    self.maxRounds = maxRounds
  }

  /// CSE, constant folding, algebraic simplification and DCE, to a fixed point (8 rounds at
  /// most).
  public static var simplification: Pipeline {
    Pipeline(
      [
        EliminateCommonSubexpressions(), FoldConstants(), SimplifyAlgebra(), EliminateDeadCode(),
      ], maxRounds: 8)
  }

  /// Runs the passes on one graph, verifying it without variable declarations.
  public func run(_ graph: Graph) throws(IRError) -> Graph {
    try run(graph, variables: nil, entry: nil)
  }

  /// Runs the passes on every entry point's graph.
  public func run(_ program: Program) throws(IRError) -> Program {
    let variables = Dictionary(program.variables.map { ($0.name, $0.type) }) { a, _ in a }
    var result = program
    for index in result.entries.indices {
      let entry = result.entries[index]
      result.entries[index].graph = try run(entry.graph, variables: variables, entry: entry.name)
    }
    return result
  }

  private func run(_ graph: Graph, variables: [String: TensorType]?, entry: String?)
    throws(IRError) -> Graph
  {
    var graph = graph
    for _ in 0..<maxRounds {
      var changed = false
      for pass in passes {
        let result = try pass.run(graph)
        graph = result.graph
        changed = changed || result.changed
        if verifyEachPass { try verify(graph, variables: variables, after: pass, entry: entry) }
      }
      if !changed { break }
    }
    return graph
  }

  private func verify(
    _ graph: Graph, variables: [String: TensorType]?, after pass: any GraphPass, entry: String?
  ) throws(IRError) {
    do { try Verifier().verify(graph, variables: variables) } catch {
      var error = error
      let place = entry.map { " in entry '\($0)'" } ?? ""
      error.message = "after \(pass.name)\(place): " + error.message
      throw error
    }
  }
}
