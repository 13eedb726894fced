import GraphCompiler
import GraphDSL
import GraphIR
import Graphs
import Testing

/// Names of the variables an entry reads and writes.
private func variablesTouched(_ graph: Graph) -> (read: Set<String>, written: Set<String>) {
  var read = Set<String>()
  var written = Set<String>()
  for node in graph.nodes {
    if case .variable(let name) = node.op { read.insert(name) }
    if let name = node.op.writtenVariable { written.insert(name) }
  }
  return (read, written)
}

private func isMarkerOrUpdate(_ op: Op) -> Bool {
  switch op {
  case .gradient, .stopGradient, .update: true
  default: false
  }
}

@Suite struct ProgramsTests {
  @Test(arguments: Programs.all.map(\.name))
  func `Every program builds at its smallest batch, verifies and lowers to primitive ops`(
    _ name: String
  ) throws {
    let definition = try #require(Programs.named(name))
    let batch = try #require(definition.batchSizes.min())
    let program = try definition.program(batch: batch)
    try Verifier().verify(program)
    #expect(!program.entries.isEmpty)
    let lowered = try Lowering.run(program, verify: true, lowerUpdates: true)
    try Verifier().verify(lowered)
    #expect(lowered.entries.map(\.name) == program.entries.map(\.name))
    for entry in lowered.entries {
      let left = entry.graph.nodes.filter { isMarkerOrUpdate($0.op) }
      #expect(left.isEmpty, "\(name) \(entry.name): \(left.map(\.op.mnemonic))")
    }
    // The compiler's own pipeline keeps the updates (run as flat loops) and declares the same
    // slots.
    let compiled = try Lowering.run(program, verify: true)
    #expect(compiled.variables.map(\.name) == lowered.variables.map(\.name))
    for (entry, original) in zip(compiled.entries, program.entries) {
      let updates = { (graph: Graph) in
        graph.nodes.filter { if case .update = $0.op { true } else { false } }.map(\.op)
      }
      #expect(updates(entry.graph) == updates(original.graph), "\(name) \(entry.name)")
    }
  }

  @Test func `R1 has an entry per training mode plus encode and embed`() throws {
    let program = try #require(Programs.named("fmnist-resnet-small")).program(batch: 2)
    let names = Set(program.entries.map(\.name))
    for name in [
      "joint.step", "none.step", "fixed.step", "bilevel.step", "bilevel-unrolled.k2.step",
      "encode", "embed",
    ] {
      #expect(names.contains(name), "missing \(name)")
    }
  }

  @Test func `R1 none.step never touches the head and fixed.step never updates it`() throws {
    let program = try #require(Programs.named("fmnist-resnet-small")).program(batch: 2)
    let headParameters = Set(program.parameters(under: "head"))
    #expect(!headParameters.isEmpty)
    let backboneParameters = Set(program.parameters(under: "backbone"))
    let lowered = try Lowering.run(program, verify: true)
    for candidate in [program, lowered] {
      let none = variablesTouched(try #require(candidate.entry(named: "none.step")).graph)
      #expect(none.read.union(none.written).allSatisfy { !$0.hasPrefix("head.") })
      #expect(backboneParameters.isSubset(of: none.written))

      let fixed = variablesTouched(try #require(candidate.entry(named: "fixed.step")).graph)
      #expect(headParameters.isSubset(of: fixed.read))
      #expect(fixed.written.isDisjoint(with: headParameters), "\(fixed.written.sorted())")
      #expect(!fixed.written.contains { $0.hasPrefix("head.") && $0.hasSuffix(".momentum") })
      #expect(backboneParameters.isSubset(of: fixed.written))

      let joint = variablesTouched(try #require(candidate.entry(named: "joint.step")).graph)
      #expect(headParameters.union(backboneParameters).isSubset(of: joint.written))
    }
  }
}

extension Program {
  /// Names of the parameters under `prefix.`.
  fileprivate func parameters(under prefix: String) -> [String] {
    variables.filter { $0.role == .parameter && $0.name.hasPrefix(prefix + ".") }.map(\.name)
  }
}
