import GraphCompiler
import Graphs
import Runtime
import Testing

/// The arena plan the runtime computes in C (`hw_entry_plan`) for a batch size, against the
/// compiler's `PlanMemory` of the program instantiated at that size: every buffer's offset,
/// every scratch range and the arena's size must be the same.
@Suite struct RuntimePlanTests {
  static let cases = [
    "fmnist-resnet-small 2", "fmnist-resnet-small 5", "fmnist-resnet-small 128",
    "cifar-resnet18 3", "linear-probe 7",
  ]

  @Test(arguments: cases)
  func theRuntimePlanIsTheCompilersAtThatBatchSize(build: String) throws {
    let parts = build.split(separator: " ")
    let definition = try #require(Programs.named(String(parts[0])))
    let batch = try #require(Int(parts[1]))
    let planned = try GenericProgram(definition.program).instantiated(batch: batch)
    let compiled = try CompiledProgram.named(definition.name, batch: batch)
    for entry in planned.entries {
      let runtime = try compiled.entry(named: entry.name)
      let memory = entry.memory
      #expect(runtime.arenaBytes == memory.arenaBytes, "\(build) \(entry.name)")
      let expected = memory.placements.map { memory.offsets[$0.id]! }
      let offsets = runtime.bufferOffsets
      let first = zip(offsets, expected).enumerated().first { $0.element.0 != $0.element.1 }
      #expect(
        offsets.count == expected.count && first == nil,
        "\(build) \(entry.name): \(offsets.count) buffers vs \(expected.count), first difference \(String(describing: first))"
      )
      for (kernel, range) in runtime.scratchRanges.enumerated() {
        let scratch = memory.scratch[kernel]
        #expect(
          range.bytes == scratch?.bytes ?? 0
            && (range.bytes == 0 || range.offset == scratch?.offset),
          "\(build) \(entry.name) k\(kernel): \(range) vs \(String(describing: scratch))")
      }
    }
  }
}
