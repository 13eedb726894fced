import GraphCompiler
import GraphIR
import GraphInterpreter
import Runtime

/// Runs compiled entry points and the reference interpreter on the same random inputs and
/// state and reports, per output and per updated variable, the largest difference relative to
/// the largest magnitude of the interpreter's tensor.
///
/// A whole entry's result depends on every ReLU decision along the way, and float32 rounding
/// can put a pre-activation that is within a few ulps of zero on the other side (in R2 a few
/// elements of the 32x32 layers' masks, out of millions, change the BatchNorm gradient sums
/// of the first layers by up to 5e-3). And float32 rounding alone, amplified through a long
/// chain (R2's unrolled bilevel steps at batch 2, BatchNorm over 4 views), moves the earliest
/// layers' gradients by about 1e-4 even with every decision the same. So the gate has two
/// parts:
///
/// - `ChainCheck`: every kernel, run in order on one arena, matches its own definition on the
///   values it actually read, and reads nothing another kernel damaged;
/// - the whole entry matches the interpreter with float32 storage that takes the compiled
///   code's comparison outcomes (the flips `ChainCheck` reports, each within rounding of the
///   threshold), within the tolerance plus twice what float32 storage alone changes in that
///   tensor (the same interpreter with the same decisions in pure float64): the compiled code
///   may be as sensitive to its own rounding as the interpreter is to its.
///
/// The errors against the interpreter deciding for itself (float32 storage) and against pure
/// float64 are reported beside it.
public struct SelfCheck {
  public var seed: UInt64
  public var tolerance: Double
  /// Values for scalar inputs by name; the others come from `CheckData.inputs` (temperature
  /// 0.5, everything else 0.1, which selects SGD for `optimizer`).
  public var scalars: [String: Double]

  public init(seed: UInt64 = 5, tolerance: Double = 1e-4, scalars: [String: Double] = [:]) {
    self.seed = seed
    self.tolerance = tolerance
    self.scalars = scalars
  }

  /// One compared tensor.
  public struct Report: Sendable, CustomStringConvertible {
    public var entry: String
    public var tensor: String
    public var error: Double
    public var passed: Bool
    /// Whole entries: how far float32 storage alone moves the interpreter's tensor (part of
    /// the bound), and the errors against the interpreter with float32 storage deciding every
    /// comparison itself and against pure float64, for information.
    public var storageError: Double?
    public var float32Error: Double?
    public var float64Error: Double?

    public var description: String {
      var extra = storageError.map { String(" (float32 storage alone \($0)") } ?? ""
      extra += float32Error.map { String(", own decisions \($0)") } ?? ""
      extra += float64Error.map { String(", float64 \($0))") } ?? ""
      return "\(passed ? "ok  " : "FAIL") \(entry) \(tensor): max rel.err \(error)\(extra)"
    }
  }

  /// What one run found: the whole-entry tensors, the kernels of the chains and the flipped
  /// comparisons.
  public struct Outcome: Sendable {
    public var reports: [Report] = []
    public var chain: [ChainCheck.Step] = []
    public var flips: [ChainCheck.Flip] = []
    public var failures: Int {
      reports.filter { !$0.passed }.count + chain.filter { !$0.passed }.count
    }
  }

  /// Checks every entry of `compiled` (or only `entries`) against `program` (the same
  /// program, compiled generic in the batch size) at the compiled batch size.
  public func run(
    _ program: GenericProgram, _ compiled: CompiledProgram, entries: [String]? = nil,
    threads: Int = 0
  ) throws -> Outcome {
    let planned = try program.instantiated(batch: compiled.batch)
    var outcome = Outcome()
    for entry in compiled.entries where entries?.contains(entry.name) ?? true {
      guard let plan = planned.entries.first(where: { $0.name == entry.name }) else {
        throw TrainingError("entry '\(entry.name)' is compiled but not in the program's IR")
      }
      try check(entry, plan, planned.program, compiled, threads: threads, into: &outcome)
    }
    return outcome
  }

  /// Checks `entry` as `run` does, on the given state and inputs instead of random ones (for
  /// example a `StepDump`'s, to see whether a difference from another implementation comes
  /// from comparisons the compiled code decided the other way).
  public func run(
    _ program: GenericProgram, _ compiled: CompiledProgram, entry name: String,
    state: [String: HostTensor], inputs: [String: HostTensor], threads: Int = 1
  ) throws -> Outcome {
    let planned = try program.instantiated(batch: compiled.batch)
    guard let plan = planned.entries.first(where: { $0.name == name }) else {
      throw TrainingError("entry '\(name)' is not in the program's IR")
    }
    var outcome = Outcome()
    try check(
      try compiled.entry(named: name), plan, compiled, before: state, inputs: inputs,
      threads: threads, into: &outcome)
    return outcome
  }

  private func check(
    _ entry: CompiledEntry, _ plan: PlannedEntry, _ program: Program, _ compiled: CompiledProgram,
    threads: Int, into outcome: inout Outcome
  ) throws {
    var random = CheckData.random(seed: seed, entry: entry.name)
    let before = CheckData.state(program, &random)
    let inputs = CheckData.inputs(entry, &random, scalars: scalars)
    try check(
      entry, plan, compiled, before: before, inputs: inputs, threads: threads, into: &outcome)
  }

  private func check(
    _ entry: CompiledEntry, _ plan: PlannedEntry, _ compiled: CompiledProgram,
    before: [String: HostTensor], inputs: [String: HostTensor], threads: Int,
    into outcome: inout Outcome
  ) throws {
    let session = CompiledSession(program: compiled, threads: threads)
    for (name, value) in before { try session.write(value.scalars.map(Float.init), to: name) }
    let compiledOutputs = try session.run(entry, inputs: inputs)
    let chain = try ChainCheck(tolerance: tolerance).run(
      entry, plan, compiled, state: before, inputs: inputs, threads: threads)
    outcome.chain += chain.steps
    outcome.flips += chain.flips
    var (gate, own, exact) = (before, before, before)
    let expected = try Interpreter().run(
      plan.graph, inputs: inputs, state: &gate, roundingStoredValues: true,
      given: chain.decisions)
    let rounded = try Interpreter().run(
      plan.graph, inputs: inputs, state: &own, roundingStoredValues: true)
    let float64 = try Interpreter().run(
      plan.graph, inputs: inputs, state: &exact, given: chain.decisions)
    func report(_ tensor: String, _ actual: [Double], _ values: [[Double]]) {
      let storage = Self.relativeError(values[0], values[2])
      var result = compare(entry.name, tensor, actual, values[0], allowance: 2 * storage)
      result.storageError = storage
      result.float32Error = Self.relativeError(actual, values[1])
      result.float64Error = Self.relativeError(actual, values[2])
      outcome.reports.append(result)
    }
    for output in entry.outputs {
      report(
        output.name, compiledOutputs[output.name]!.scalars,
        [expected, rounded, float64].map { $0[output.name]!.scalars })
    }
    for (name, value) in gate.sorted(by: { $0.key < $1.key }) where value != before[name] {
      report(
        name, session.read(name).map(Double.init),
        [value.scalars, own[name]!.scalars, exact[name]!.scalars])
    }
  }

  func compare(
    _ entry: String, _ tensor: String, _ actual: [Double], _ expected: [Double],
    allowance: Double = 0
  ) -> Report {
    let error = Self.relativeError(actual, expected)
    return Report(
      entry: entry, tensor: tensor, error: error, passed: error <= tolerance + allowance)
  }

  /// The largest difference relative to the largest magnitude of `expected` (at least 1e-6);
  /// infinite for a NaN or a count mismatch.
  static func relativeError(_ actual: [Double], _ expected: [Double]) -> Double {
    let scale = max(expected.map { abs($0) }.max() ?? 0, 1e-6)
    let worst = zip(actual, expected).map { abs($0 - $1) }.max() ?? 0
    return worst.isNaN || actual.count != expected.count ? .infinity : worst / scale
  }
}
