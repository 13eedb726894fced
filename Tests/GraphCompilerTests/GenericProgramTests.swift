import GraphCompiler
import GraphIR
import GraphInterpreter
import Graphs
import Testing

@Suite struct BatchPolynomialTests {
  /// Values of known polynomials at the two markers give the polynomials back.
  @Test(arguments: [[0, 1], [0, 2], [0, 1568], [-1, 1568], [0, 0, 4], [3, -2, 1], [7]])
  func recoversThePolynomialFromItsValuesAtTheMarkers(coefficients: [Int]) throws {
    func value(_ n: Int) -> Int { coefficients.reversed().reduce(0) { $0 * n + $1 } }
    let polynomial = try #require(
      BatchPolynomial(value(GenericBatch.markers.0), value(GenericBatch.markers.1)))
    #expect(polynomial.coefficients == coefficients)
    #expect(polynomial.evaluate(5) == value(5))
  }

  @Test func printsAsACExpressionInN() throws {
    let (m, k) = GenericBatch.markers
    #expect(try #require(BatchPolynomial(2 * m, 2 * k)).parenthesized == "(2 * n)")
    #expect(try #require(BatchPolynomial(m, k)).parenthesized == "n")
    #expect(try #require(BatchPolynomial(1568 * m - 1, 1568 * k - 1)).description == "1568 * n - 1")
    #expect(try #require(BatchPolynomial(4 * m * m, 4 * k * k)).description == "4 * n * n")
  }

  /// Two values that no small polynomial links (a fixed number that happens to differ, or a
  /// value past the markers' range) are refused.
  @Test func refusesValuesThatAreNoPolynomialOfTheBatchSize() {
    #expect(BatchPolynomial(3, 4) == nil)
    let (m, k) = GenericBatch.markers
    #expect(BatchPolynomial(2 * m, 2 * k + 1) == nil)
  }
}

@Suite struct GenericBatchPairingTests {
  @Test func replacesTheIntegersThatDifferAndKeepsTheRest() throws {
    let (m, k) = GenericBatch.markers
    let text = try GenericBatch.pair(
      "for (i = 0; i < \(2 * m * 784); i++) y[i] = x[i] * 0.5 + 1e-05;",
      "for (i = 0; i < \(2 * k * 784); i++) y[i] = x[i] * 0.5 + 1e-05;", place: "test"
    ) { $0.parenthesized }
    #expect(text == "for (i = 0; i < (1568 * n); i++) y[i] = x[i] * 0.5 + 1e-05;")
  }

  /// A float that changes with the batch size (a count folded into a constant) cannot be
  /// recovered, so the pairing names it instead of guessing.
  @Test func refusesAFloatThatDependsOnTheBatchSize() {
    #expect(throws: GenericBatch.Mismatch.self) {
      try GenericBatch.pair("y = x * 0.25;", "y = x * 0.125;", place: "test") { $0.description }
    }
  }
}

@Suite struct GenericProgramTests {
  /// The oracle for instantiation: R1's entries at a batch size no program lists, built by the
  /// DSL at that size and interpreted, against the program compiled generic and instantiated
  /// there (fused, scheduled, with the markers' in-place stores), interpreted on the same inputs
  /// and state. Both are float64 and the same ops, so they agree to rounding.
  @Test(arguments: ["joint.step", "bilevel-unrolled.k1.step"])
  func anInstantiatedEntryComputesWhatTheDSLBuildsAtThatBatchSize(entry: String) throws {
    let definition = try #require(Programs.named("fmnist-resnet-small"))
    var generic = try GenericProgram(definition.program)
    generic.keepEntries([entry])
    let instance = try generic.instantiated(batch: 3)
    let direct = try Lowering.run(try definition.program(batch: 3))
    let graph = try #require(direct.entry(named: entry)).graph
    let compiled = try #require(instance.program.entry(named: entry)).graph
    var random = SplitMix64(seed: 5)
    var inputs: [String: HostTensor] = [:]
    for input in graph.inputs {
      let type = graph[input.id].type
      inputs[input.name] = HostTensor(
        type, (0..<type.elementCount).map { _ in Double(random.unit()) * 0.5 + 0.25 })
    }
    #expect(inputs["views"]?.type.shape == [6, 1, 28, 28])
    var expectedState = initialState(for: direct)
    var actualState = expectedState
    let expected = try Interpreter().run(graph, inputs: inputs, state: &expectedState)
    let actual = try Interpreter().run(compiled, inputs: inputs, state: &actualState)
    for (name, value) in expected {
      expectClose(actual[name]?.scalars ?? [], value.scalars, name)
    }
    for (name, value) in expectedState {
      expectClose(actualState[name]?.scalars ?? [], value.scalars, name)
    }
  }

  /// The memory plan at any batch size, checked by the independent checkers.
  @Test(arguments: [1, 3, 37])
  func theMemoryPlanAtAnUnlistedBatchSizeIsSound(batch: Int) throws {
    let definition = try #require(Programs.named("fmnist-resnet-small"))
    let planned = try GenericProgram(definition.program).instantiated(batch: batch)
    for entry in planned.entries {
      let problems =
        overlappingRegions(entry.graph, entry.memory)
        + dataflowViolations(entry.graph, entry.memory)
      #expect(problems.isEmpty, "\(batch) \(entry.name): \(problems.prefix(5))")
    }
  }
}

private func expectClose(_ actual: [Double], _ expected: [Double], _ name: String) {
  #expect(actual.count == expected.count, "\(name)")
  let worst = zip(actual, expected).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
  #expect(worst < 1e-12, "\(name): relative difference \(worst)")
}
