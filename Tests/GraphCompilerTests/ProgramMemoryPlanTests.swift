import GraphCompiler
import GraphIR
import Graphs
import Testing

/// The memory plan of every entry of every program in graphs/ at every batch size it is built
/// for, checked by the two independent checkers of the test support: no two regions live at
/// once overlap, and run store by store every read sees the value its node defined.
@Suite struct ProgramMemoryPlanTests {
  static let builds = Programs.all.flatMap { definition in
    definition.batchSizes.map { "\(definition.name) \($0)" }
  }

  @Test(arguments: builds)
  func everyEntryHasASoundMemoryPlan(build: String) throws {
    let parts = build.split(separator: " ")
    let definition = try #require(Programs.named(String(parts[0])))
    let batch = try #require(Int(parts[1]))
    let planned = try GenericProgram(definition.program).instantiated(batch: batch)
    #expect(!planned.entries.isEmpty)
    for entry in planned.entries {
      let problems =
        overlappingRegions(entry.graph, entry.memory)
        + dataflowViolations(entry.graph, entry.memory)
      #expect(problems.isEmpty, "\(build) \(entry.name): \(problems.prefix(5))")
      #expect(entry.memory.offsets.values.allSatisfy { $0 % 64 == 0 }, "\(entry.name)")
    }
  }
}
