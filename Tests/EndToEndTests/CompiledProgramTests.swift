import CKernelSupport
import CompiledChecks
import GraphCompiler
import GraphDSL
import GraphIR
import Graphs
import Runtime
import Testing

/// Compiled R1 (batch 2) against the reference interpreter, every entry of every mode.
@Suite struct CompiledProgramTests {
  static let batch = 2

  func programs() throws -> (GenericProgram, CompiledProgram) {
    let definition = try #require(Programs.named("fmnist-resnet-small"))
    return (
      try GenericProgram(definition.program),
      try CompiledProgram.named("fmnist-resnet-small", batch: Self.batch)
    )
  }

  @Test func everyKernelOfR1MatchesTheInterpreterOnItsOwnInputs() throws {
    let (program, compiled) = try programs()
    let reports = try KernelCheck(tolerance: 1e-4).run(program, compiled)
    #expect(reports.count == compiled.entries.reduce(0) { $0 + $1.kernelCount })
    for report in reports where !report.passed { Issue.record("\(report)") }
  }

  /// bf16 convolutions against their definitions on operands rounded to bfloat16, every kernel
  /// of the joint and bilevel steps (the kernels after them read the convolutions' results).
  @Test func everyKernelOfR1InBF16MatchesTheInterpreterOnRoundedOperands() throws {
    guard hw_cpu_has_bf16() != 0 else {
      #expect(throws: TrainingError.self) { try Precision.bf16.check() }
      return
    }
    let (program, compiled) = try programs()
    let entries = ["joint.step", "bilevel.step"]
    let reports = try KernelCheck(tolerance: 1e-4, precision: .bf16).run(
      program, compiled, entries: entries)
    let kernels = compiled.entries.filter { entries.contains($0.name) }.map(\.kernelCount)
    #expect(reports.count == kernels.reduce(0, +))
    for report in reports where !report.passed { Issue.record("\(report)") }
  }

  @Test func everyEntryOfR1MatchesTheInterpreterWithin1e4() throws {
    let (program, compiled) = try programs()
    let outcome = try SelfCheck(tolerance: 1e-4).run(program, compiled)
    let reports = outcome.reports
    #expect(outcome.chain.count == compiled.entries.reduce(0) { $0 + $1.kernelCount })
    for step in outcome.chain where !step.passed { Issue.record("\(step)") }
    let entries = Set(reports.map(\.entry))
    for mode in ["joint.step", "none.step", "fixed.step", "bilevel.step"] {
      #expect(entries.contains(mode))
    }
    #expect(entries.contains("bilevel-unrolled.k5.step"))
    for report in reports where !report.passed { Issue.record("\(report)") }
    // Against pure float64 too, with the margin float32 rounding needs (see SelfCheck).
    for report in reports where (report.float64Error ?? 0) > 1e-3 { Issue.record("\(report)") }
  }

  @Test(arguments: [0.0, 1.0, 2.0])
  func theJointAndBilevelStepsMatchTheInterpreterWithEachOptimizer(choice: Double) throws {
    let (program, compiled) = try programs()
    let check = SelfCheck(
      tolerance: 1e-4,
      scalars: ["optimizer": choice, "momentum": 0.9, "weight_decay": 0.01, "temperature": 0.5])
    let outcome = try check.run(program, compiled, entries: ["joint.step", "bilevel.step"])
    let reports = outcome.reports
    for step in outcome.chain where !step.passed { Issue.record("\(step)") }
    #expect(Set(reports.map(\.entry)) == ["joint.step", "bilevel.step"])
    // Every updated parameter and its slots are compared: AdamW changes two more per parameter.
    let slots = reports.filter { $0.tensor.hasSuffix(".adam_v") }.count
    #expect(choice == 2 ? slots > 20 : slots == 0)
    for report in reports where !report.passed { Issue.record("\(report)") }
  }

  /// Any batch size opens without a rebuild (the kernels are generic in it); 0 is refused.
  @Test func anyBatchSizeOpensAndZeroIsRefused() throws {
    let compiled = try CompiledProgram.named("fmnist-resnet-small", batch: 3)
    let joint = try compiled.entry(named: "joint.step")
    #expect(joint.inputs.first { $0.name == "views" }?.type.shape == [6, 1, 28, 28])
    #expect(joint.arenaBytes > 0)
    #expect {
      _ = try CompiledProgram.named("fmnist-resnet-small", batch: 0)
    } throws: { error in
      "\(error)".contains("at least 1")
    }
    // Far more than any machine of this kind holds: a clear error before anything is allocated.
    #expect {
      _ = try CompiledProgram.named("fmnist-resnet-small", batch: 50_000_000)
    } throws: { error in
      "\(error)".contains("more than this machine's") && "\(error)".contains("--batch")
    }
  }
}

@Suite struct CompiledInitializationTests {
  @Test func theCRuntimeInitialisesEveryVariableBitForBitAsTheIR() throws {
    let compiled = try CompiledProgram.named("fmnist-resnet-small", batch: 2)
    let session = CompiledSession(program: compiled)
    for variable in compiled.variables {
      let expected = variable.initializer.values(count: variable.type.elementCount).map(Float.init)
      #expect(session.read(variable.name) == expected, "\(variable.name)")
    }
  }
}
