import GraphCompiler
import GraphIR
import Graphs
import Testing

@Suite struct R1MemoryPlanTests {
  /// What `headwayc plan fmnist-resnet-small` prints: for every entry at N=256 the planned
  /// activation arena is well below the sum of all intermediate tensors.
  @Test func plannedArenaOfR1IsFarBelowTheSumOfItsIntermediates() throws {
    let definition = try #require(Programs.named("fmnist-resnet-small"))
    let planned = try GenericProgram(definition.program).instantiated(batch: 256)
    for entry in planned.entries {
      #expect(entry.memory.arenaBytes > 0)
      #expect(
        Double(entry.memory.arenaBytes) < 0.5 * Double(entry.memory.unplannedBytes),
        "\(entry.name): \(entry.memory.arenaBytes) vs \(entry.memory.unplannedBytes)")
    }
    let joint = try #require(planned.entries.first { $0.name == "joint.step" })
    // Every activation of the forward pass must be live at the start of the backward pass, so
    // the peak cannot be below the forward activations: conv outputs alone are 512 views of
    // 32x28x28 (x3 in stem and block 1) floats.
    #expect(joint.memory.arenaBytes > 3 * 512 * 32 * 28 * 28 * 4)
  }
}
