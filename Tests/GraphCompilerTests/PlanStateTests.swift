import GraphCompiler
import GraphIR
import Testing

@Suite struct PlanStateTests {
  /// Parameters of 12, 100 and 28 bytes interleaved with statistics and with slots declared
  /// out of parameter order.
  let program = try! Parser.parseProgram(
    """
    program "p"
    variable "conv.w" : f32[3] parameter zeros
    variable "bn.mean" : f32[2] state zeros
    variable "fc.w" : f32[5,5] parameter zeros
    variable "fc.w.adam_m" : f32[5,5] slot zeros
    variable "bias" : f32[7] parameter zeros
    variable "bias.momentum" : f32[7] slot zeros
    variable "fc.w.momentum" : f32[5,5] slot zeros
    variable "bn.var" : f32[20] state zeros
    variable "conv.w.momentum" : f32[3] slot zeros
    variable "conv.w.adam_m" : f32[3] slot zeros
    variable "bias.adam_m" : f32[7] slot zeros
    """)

  @Test func `Parameters come first in declaration order, then state, then slots by kind`() {
    // Slot kinds in the order their first slot is declared; each kind in parameter order.
    #expect(
      StateLayout(program).variables.map(\.name) == [
        "conv.w", "fc.w", "bias", "bn.mean", "bn.var",
        "conv.w.adam_m", "fc.w.adam_m", "bias.adam_m",
        "conv.w.momentum", "fc.w.momentum", "bias.momentum",
      ])
  }

  @Test func `Each slot block repeats the parameter block's layout`() {
    let layout = StateLayout(program)
    let parameters = ["conv.w", "fc.w", "bias"]
    let base = layout.offsets[parameters[0]]!
    for kind in ["momentum", "adam_m"] {
      let slotBase = layout.offsets[parameters[0] + "." + kind]!
      for parameter in parameters {
        let slot = layout.offsets[parameter + "." + kind]!
        #expect(slot - slotBase == layout.offsets[parameter]! - base, "\(parameter).\(kind)")
      }
    }
  }

  @Test func `Offsets are 64-byte aligned and the total adds up the rounded sizes`() {
    let layout = StateLayout(program)
    #expect(layout.offsets.values.allSatisfy { $0 % 64 == 0 })
    // 12 -> 64, 100 -> 128, 28 -> 64 bytes per parameter block; 8 -> 64 and 80 -> 128 for state.
    #expect(layout.offsets["conv.w"] == 0)
    #expect(layout.offsets["fc.w"] == 64)
    #expect(layout.offsets["bias"] == 192)
    #expect(layout.offsets["bn.mean"] == 256)
    #expect(layout.offsets["bn.var"] == 320)
    #expect(layout.offsets["conv.w.adam_m"] == 448)
    #expect(layout.offsets["conv.w.momentum"] == 448 + 256)
    #expect(layout.bytes == 3 * 256 + 64 + 128)
  }

  @Test func `The tiny R1 program's momentum block mirrors its parameters`() throws {
    let planned = try plannedTinyResNet()
    let layout = planned.state
    let parameters = planned.program.variables.filter { $0.role == .parameter }.map(\.name)
    #expect(parameters == ["conv1.w", "bn.gamma", "conv2.w", "fc.w"])
    #expect(
      layout.variables.map(\.name)
        == parameters + ["bn.mean"] + parameters.map { $0 + ".momentum" })
    let momentumBase = layout.offsets["conv1.w.momentum"]!
    for parameter in parameters {
      #expect(layout.offsets[parameter + ".momentum"]! - momentumBase == layout.offsets[parameter]!)
    }
    let expected = planned.program.variables.reduce(0) {
      $0 + ($1.type.elementCount * 4 + 63) / 64 * 64
    }
    #expect(layout.bytes == expected)
  }
}
