import GraphCompiler
import GraphDSL
import GraphIR
import GraphInterpreter
import Graphs
import Testing

/// `bilevel.step`'s inner step as a loop run K - 1 times (`GraphLoop`), against the inner steps
/// written out by the DSL, and the compiled schedule and memory plan that let the runtime repeat
/// it.
@Suite struct LoopTests {
  /// The tiny model of the gradient tests with the written-out bilevel entries as the oracle.
  static func program(batch: Int = 2) throws -> Program {
    let backbone = Sequential(
      "backbone",
      [
        Sequential("stem", [Conv2DLayer("conv", 1, 4, kernel: 3), BatchNorm("bn", 4), ReLU()]),
        BasicBlock("block1", 4, 8, stride: 2),
        GlobalAveragePool(),
      ])
    var model = ContrastiveModel(
      name: "tiny", imageShape: [1, 8, 8], backbone: backbone,
      head: ProjectionHead("head", widths: [8, 16, 8]), innerSteps: [2])
    model.writtenOutBilevelSteps = [1, 3, 4]
    return try model.program(batch: batch)
  }

  /// The oracle: the DSL's K inner steps written out, interpreted, against `bilevel.step` with
  /// its loop written out K - 1 times, interpreted on the same state and inputs (both float64,
  /// the same ops in the same order). The inner momentum makes the velocity a carried value.
  @Test(arguments: [1, 3, 4])
  func theLoopRunKMinusOneTimesIsKInnerSteps(k: Int) throws {
    let program = try Lowering.run(try Self.program())
    let written = try #require(program.entry(named: "bilevel.k\(k).step")).graph
    let looped = try #require(program.entry(named: "bilevel.step")).graph.repeatingLoop(k - 1)
    var random = SplitMix64(seed: 9)
    var inputs: [String: HostTensor] = [:]
    let scalars = [
      "lr": 0.1, "temperature": 0.5, "optimizer": 0, "momentum": 0.9, "weight_decay": 5e-4,
      "inner_lr": 0.3, "inner_momentum": 0.9,
    ]
    // K = 1 reads no inner momentum: the looped graph's inputs are a superset.
    for input in looped.inputs {
      let type = looped[input.id].type
      inputs[input.name] = HostTensor(
        type,
        scalars[input.name].map { [$0] }
          ?? (0..<type.elementCount).map { _ in Double(random.unit()) })
    }
    var expectedState = initialState(for: program)
    var actualState = expectedState
    let expected = try Interpreter().run(written, inputs: inputs, state: &expectedState)
    let actual = try Interpreter().run(looped, inputs: inputs, state: &actualState)
    for name in ["loss", "inner_loss", "features"] {
      #expect(actual[name] == expected[name], "\(name)")
    }
    #expect(actualState == expectedState)
    #expect(expectedState["head.fc1.weight"] != initialState(for: program)["head.fc1.weight"])
  }

  /// The loop's kernels are one contiguous run computing nothing else, and the plan holds when
  /// the run is repeated: every read sees its value, in every repetition, at batch sizes the
  /// markers did not see (the independent dataflow checker, told about the repetitions).
  @Test(arguments: [0, 1, 2, 5])
  func theCompiledLoopCanRunAnyNumberOfTimes(repeats: Int) throws {
    var generic = try GenericProgram(Self.program)
    generic.keepEntries(["bilevel.step"])
    for batch in [1, 3] {
      let entry = try #require(try generic.instantiated(batch: batch).entries.first)
      let loop = try #require(try entry.graph.loop())
      let range = try #require(entry.graph.loopKernelRange())
      let members = entry.graph.kernelMembers()
      #expect(range.count > 3)
      for kernel in range { #expect(members[kernel].allSatisfy(loop.body.contains)) }
      let problems = dataflowViolations(entry.graph, entry.memory, loopRepeats: repeats)
      #expect(problems.isEmpty, "batch \(batch), \(repeats) repeats: \(problems.prefix(5))")
    }
  }

  /// Without the loop's lifetimes the repeated plan is wrong, so the checker above can fail: a
  /// plan of the same kernels made as if the loop ran once (its loop outputs dropped, so values
  /// it reads from before it are given back to the arena at their last read in the first
  /// repetition) breaks when the loop runs twice.
  @Test func theCheckerSeesThePlanOfALoopRunOnceFailWhenRepeated() throws {
    let program = try KernelPipeline.schedule(try Self.program())
    let graph = try #require(program.entry(named: "bilevel.step")).graph
    var unaware = graph
    unaware.outputs.removeAll { $0.name.hasPrefix("loop.") }
    let plan = PlanMemory().plan(unaware)
    #expect(dataflowViolations(unaware, plan).isEmpty)
    #expect(!dataflowViolations(graph, plan, loopRepeats: 2).isEmpty)
  }
}
