import CompiledChecks
import GraphDSL
import GraphIR
import Graphs
import Runtime
import Testing

@Suite struct HeadReinitTests {
  @Test func reinitializingTheHeadDrawsNewReproducibleValuesAndLeavesTheBackbone() throws {
    let program = try Programs.named("fmnist-resnet-small")!.program(batch: 2)
    var trainer = try ReferenceTrainer(program: program, entry: "bilevel.step")
    let before = trainer.state
    trainer.reinitialize(under: "head", round: 3)
    let first = trainer.state
    trainer.reinitialize(under: "head", round: 3)
    #expect(trainer.state == first)
    #expect(first["head.fc1.weight"] != before["head.fc1.weight"])
    #expect(first["head.bn1.weight"] == before["head.bn1.weight"])  // constant 1 stays 1
    #expect(first["backbone.stem.conv.weight"] == before["backbone.stem.conv.weight"])
    trainer.reinitialize(under: "head", round: 4)
    #expect(trainer.state["head.fc1.weight"] != first["head.fc1.weight"])
  }
}
