import GraphCompiler
import GraphIR
import GraphInterpreter

/// Runs compiled entry points and the reference interpreter on the same random inputs and
/// state and reports, per output and per variable, the largest difference relative to the
/// largest magnitude of the interpreter's tensor.
public struct SelfCheck {
  public var seed: UInt64
  public var tolerance: Double

  public init(seed: UInt64 = 3, tolerance: Double = 1e-4) {
    self.seed = seed
    self.tolerance = tolerance
  }

  /// One compared tensor.
  public struct Report: Sendable, CustomStringConvertible {
    public var entry: String
    public var tensor: String
    public var error: Double
    public var passed: Bool

    public var description: String {
      "\(passed ? "ok  " : "FAIL") \(entry) \(tensor): max rel.err \(error)"
    }
  }

  /// Checks every entry of `compiled` (or only `entries`) against `program`, the IR of the
  /// same program at the same batch size.
  public func run(
    _ program: Program, _ compiled: CompiledProgram, entries: [String]? = nil, threads: Int = 0
  ) throws -> [Report] {
    let lowered = try Lowering.run(program)
    var reports: [Report] = []
    for entry in compiled.entries where entries?.contains(entry.name) ?? true {
      guard let graph = lowered.entry(named: entry.name)?.graph else {
        throw TrainingError("entry '\(entry.name)' is compiled but not in the program's IR")
      }
      // Each entry draws from its own stream, so checking one entry alone sees the same data.
      var random = SplitMix64(
        seed: SplitMix64.seed(seed, UInt64(entry.name.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) })))
      let session = CompiledSession(program: compiled, threads: threads)
      var state = randomState(lowered, &random)
      for (name, value) in state { try session.write(value.scalars.map(Float.init), to: name) }
      let inputs = randomInputs(entry, &random)
      let compiledOutputs = try session.run(entry, inputs: inputs)
      let before = state
      let expected = try Interpreter().run(graph, inputs: inputs, state: &state)
      for output in entry.outputs {
        reports.append(
          compare(
            entry.name, output.name, compiledOutputs[output.name]!.scalars,
            expected[output.name]!.scalars))
      }
      for (name, value) in state.sorted(by: { $0.key < $1.key }) where value != before[name] {
        reports.append(
          compare(entry.name, name, session.read(name).map(Double.init), value.scalars))
      }
    }
    return reports
  }

  private func compare(_ entry: String, _ tensor: String, _ actual: [Double], _ expected: [Double])
    -> Report
  {
    let scale = max(expected.map { abs($0) }.max() ?? 0, 1e-6)
    let worst = zip(actual, expected).map { abs($0 - $1) }.max() ?? 0
    let error = worst.isNaN || actual.count != expected.count ? .infinity : worst / scale
    return Report(entry: entry, tensor: tensor, error: error, passed: error <= tolerance)
  }

  /// Initial parameters; statistics and optimizer slots filled with plausible random values so
  /// their update paths are exercised. Every value is rounded to float32 first.
  private func randomState(_ program: Program, _ random: inout SplitMix64) -> [String: HostTensor] {
    var state = initialState(for: program)
    for variable in program.variables where variable.role != .parameter {
      let positive =
        variable.name.hasSuffix("running_var") || variable.name.hasSuffix("adam_v")
        || variable.name.hasSuffix("adam_step")
      state[variable.name] = HostTensor(
        variable.type,
        (0..<variable.type.elementCount).map { _ in
          let r = Double(random.uniform(-1...1))
          return positive ? 1 + abs(r) : 0.1 * r
        })
    }
    return state.mapValues { HostTensor($0.type, $0.scalars.map { Double(Float($0)) }) }
  }

  private func randomInputs(_ entry: CompiledEntry, _ random: inout SplitMix64) -> [String:
    HostTensor]
  {
    var inputs: [String: HostTensor] = [:]
    for input in entry.inputs {
      let count = input.type.elementCount
      let values: [Double]
      if input.type.dtype == .i32 {
        values = (0..<count).map { _ in Double(random.next() % 10) }
      } else if input.type.shape.isEmpty {
        values = [0.1]
      } else {
        values = (0..<count).map { _ in Double(random.unit()) }
      }
      inputs[input.name] = HostTensor(input.type, values)
    }
    return inputs
  }
}
