import CompiledChecks
import GraphDSL
import GraphIR
import Graphs
import Runtime
import Testing

/// Compiled R2 (CIFAR ResNet-18, batch 2) against the interpreter. The interpreter is slow on
/// R2 (about 20 s an entry in a debug build), so these take the entries whose whole-entry
/// result depends on a ReLU decision within rounding of zero, and the plain joint step.
@Suite struct CompiledR2Tests {
  @Test(arguments: ["joint.step", "fixed.step", "bilevel-unrolled.k2.step"])
  func theEntryMatchesTheInterpreterWithTheCompiledDecisions(entry: String) throws {
    let definition = try #require(Programs.named("cifar-resnet18"))
    let program = try definition.program(batch: 2)
    let compiled = try CompiledProgram.named("cifar-resnet18", batch: 2)
    let outcome = try SelfCheck(tolerance: 1e-4).run(program, compiled, entries: [entry])
    let kernels = try #require(compiled.entries.first { $0.name == entry }).kernelCount
    #expect(outcome.chain.count == kernels)
    for step in outcome.chain where !step.passed { Issue.record("\(step)") }
    #expect(outcome.reports.count > 100)
    for report in outcome.reports where !report.passed { Issue.record("\(report)") }
    // A flipped decision is one float32 rounding from the threshold, never more.
    for flip in outcome.flips where !(flip.margin < 1e-5) { Issue.record("\(flip)") }
  }
}
