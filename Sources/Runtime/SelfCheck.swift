import GraphCompiler
import GraphIR
import GraphInterpreter

/// Runs compiled entry points and the reference interpreter on the same random inputs and
/// state and reports, per output and per updated variable, the largest difference relative to
/// the largest magnitude of the interpreter's tensor.
///
/// The gate compares with the interpreter running the same fused graph with float32 storage
/// (each stored value rounded to float32, as the compiled code stores it); the error against
/// pure float64 is reported beside it. The two differ where float32 rounding upstream moves a
/// value across a ReLU kink or into a cancelling BatchNorm sum: measured on R1 at batch 2,
/// up to about 2e-4 against float64, and 1e-5 against float32 storage. Each kernel alone is
/// checked against float64 by `KernelCheck`.
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
    /// The error against the pure float64 interpreter, for information (whole entries only).
    public var float64Error: Double?

    public var description: String {
      let extra = float64Error.map { String(" (vs float64 \($0))") } ?? ""
      return "\(passed ? "ok  " : "FAIL") \(entry) \(tensor): max rel.err \(error)\(extra)"
    }
  }

  /// Checks every entry of `compiled` (or only `entries`) against `program`, the IR of the
  /// same program at the same batch size.
  public func run(
    _ program: Program, _ compiled: CompiledProgram, entries: [String]? = nil, threads: Int = 0
  ) throws -> [Report] {
    let lowered = try KernelPipeline.run(program, batch: compiled.batch).program
    var reports: [Report] = []
    for entry in compiled.entries where entries?.contains(entry.name) ?? true {
      guard let graph = lowered.entry(named: entry.name)?.graph else {
        throw TrainingError("entry '\(entry.name)' is compiled but not in the program's IR")
      }
      var random = CheckData.random(seed: seed, entry: entry.name)
      let session = CompiledSession(program: compiled, threads: threads)
      var state = CheckData.state(lowered, &random)
      for (name, value) in state { try session.write(value.scalars.map(Float.init), to: name) }
      let inputs = CheckData.inputs(entry, &random, scalars: scalars)
      let compiledOutputs = try session.run(entry, inputs: inputs)
      let before = state
      var exactState = state
      let expected = try Interpreter().run(
        graph, inputs: inputs, state: &state, roundingStoredValues: true)
      let exact = try Interpreter().run(graph, inputs: inputs, state: &exactState)
      func report(_ tensor: String, _ actual: [Double], _ rounded: [Double], _ float64: [Double]) {
        var result = compare(entry.name, tensor, actual, rounded)
        result.float64Error = compare(entry.name, tensor, actual, float64).error
        reports.append(result)
      }
      for output in entry.outputs {
        report(
          output.name, compiledOutputs[output.name]!.scalars, expected[output.name]!.scalars,
          exact[output.name]!.scalars)
      }
      for (name, value) in state.sorted(by: { $0.key < $1.key }) where value != before[name] {
        report(
          name, session.read(name).map(Double.init), value.scalars, exactState[name]!.scalars)
      }
    }
    return reports
  }

  func compare(_ entry: String, _ tensor: String, _ actual: [Double], _ expected: [Double])
    -> Report
  {
    let scale = max(expected.map { abs($0) }.max() ?? 0, 1e-6)
    let worst = zip(actual, expected).map { abs($0 - $1) }.max() ?? 0
    let error = worst.isNaN || actual.count != expected.count ? .infinity : worst / scale
    return Report(entry: entry, tensor: tensor, error: error, passed: error <= tolerance)
  }
}
