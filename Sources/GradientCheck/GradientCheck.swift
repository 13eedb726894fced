import GraphCompiler
import GraphIR
import GraphInterpreter

/// Checks the gradients an entry point uses in float64.
///
/// For every variable the entry updates, the analytic gradient `g` (what the compiler's
/// reverse-mode differentiation produces) is projected on a random direction `v` and compared
/// with the exact directional derivative of the entry's loss along `v`, computed by forward
/// mode in the interpreter (`Interpreter.tangents`, rules written independently of the
/// reverse-mode ones). The two agree to float64 rounding (about 1e-12 relative) when the
/// gradient is right, whatever the machine, so the verdict is decisive. A central difference
/// `(L(x + eps v) - L(x - eps v)) / 2 eps` is reported beside it: with eps = 1e-8 its own noise
/// is about 1e-16 |L| / eps, which for a small `<g, v>` reaches 1e-4 relative (R1's BatchNorm
/// biases), so it is no gate; it checks the forward-mode rules themselves in the op tests.
/// `stop_gradient` values are frozen at their unperturbed values, which is exactly the
/// function autodiff differentiates; so first-order bilevel entries are checked as first-order
/// and `bilevel-unrolled` entries through the unrolled inner steps (second order).
public struct GradientCheck {
  public var epsilon: Double
  public var tolerance: Double
  public var seed: UInt64
  /// Whether to compute the central difference too (two more loss evaluations per variable).
  public var finiteDifferences: Bool
  /// Whether to check all variables along one joint direction (one report, one forward-mode
  /// pass instead of one per variable): as decisive, since a wrong gradient of any variable
  /// changes the sum for a random direction, but it does not say which.
  public var combined: Bool

  public init(
    epsilon: Double = 1e-8, tolerance: Double = 1e-8, seed: UInt64 = 7,
    finiteDifferences: Bool = true, combined: Bool = false
  ) {
    self.epsilon = epsilon
    self.tolerance = tolerance
    self.seed = seed
    self.finiteDifferences = finiteDifferences
    self.combined = combined
  }

  /// The comparison for one variable.
  public struct Report: Sendable, CustomStringConvertible {
    public var variable: String
    /// `<g, v>` from reverse mode.
    public var analytic: Double
    /// The directional derivative from forward mode.
    public var exact: Double
    /// The central difference (NaN when not computed).
    public var numeric: Double
    /// |analytic - exact| relative to the larger of the two, at least 1e-6 (so two
    /// rounding-level values of a zero derivative agree): the gate.
    public var relativeError: Double
    /// |analytic - numeric| relative to the larger of the two (at least 1e-3): for information.
    public var numericError: Double
    public var passed: Bool

    public var description: String {
      let status = passed ? "ok  " : "FAIL"
      let difference =
        numeric.isNaN ? "" : " (central difference \(numeric), rel.err \(numericError))"
      return "\(status) \(variable): reverse \(analytic) forward \(exact) rel.err "
        + "\(relativeError)\(difference)"
    }
  }

  /// Checks every variable updated by `entry` of `program` (its output must be named `loss`).
  public func check(_ program: Program, entry name: String) throws -> [Report] {
    guard let entry = program.entry(named: name) else {
      throw CheckError("no entry point '\(name)' in \(program.name)")
    }
    guard let loss = entry.graph.output(named: "loss") else {
      throw CheckError("entry '\(name)' has no output named 'loss'")
    }
    var random = SplitMix64(seed: seed)
    let inputs = randomInputs(entry.graph, &random)
    let state = initialState(for: program)
    let probe = try analyticGraph(entry.graph, loss: loss)
    var scratch = state
    let base = try Interpreter().run(probe.graph, inputs: inputs, state: &scratch)
    let lossOnly = try frozenLossGraph(entry.graph, loss: loss, frozen: probe.frozen, values: base)
    var directions: [(variable: String, direction: [Double], analytic: Double)] = []
    for variable in probe.variables {
      guard let value = state[variable], let gradient = base["grad:" + variable] else { continue }
      let direction = value.scalars.map { _ in random.normal() }
      let analytic = zip(gradient.scalars, direction).reduce(0) { $0 + $1.0 * $1.1 }
      directions.append((variable, direction, analytic))
    }
    let groups =
      combined
      ? [("all \(directions.count) variables", directions)]
      : directions.map { ($0.variable, [$0]) }
    var reports: [Report] = []
    for (name, group) in groups {
      let along = Dictionary(uniqueKeysWithValues: group.map { ($0.variable, $0.direction) })
      let analytic = group.reduce(0) { $0 + $1.analytic }
      let numeric =
        finiteDifferences
        ? try directionalDerivative(lossOnly, inputs: inputs, state: state, along: along)
        : Double.nan
      let exact = try Interpreter().tangents(
        lossOnly, inputs: inputs, state: state, along: along)["loss"]![0]
      let error = abs(analytic - exact) / max(abs(analytic), abs(exact), 1e-6)
      reports.append(
        Report(
          variable: name, analytic: analytic, exact: exact, numeric: numeric,
          relativeError: error,
          numericError: abs(analytic - numeric) / max(abs(analytic), abs(numeric), 1e-3),
          passed: error <= tolerance))
    }
    return reports
  }

  private func directionalDerivative(
    _ graph: Graph, inputs: [String: HostTensor], state: [String: HostTensor],
    along directions: [String: [Double]]
  ) throws -> Double {
    func loss(_ sign: Double) throws -> Double {
      var perturbed = state
      for (variable, direction) in directions {
        let value = state[variable]!
        perturbed[variable] = HostTensor(
          value.type, zip(value.scalars, direction).map { $0 + sign * epsilon * $1 })
      }
      return try Interpreter().run(graph, inputs: inputs, state: &perturbed)["loss"]!.scalars[0]
    }
    return (try loss(1) - loss(-1)) / (2 * epsilon)
  }

  /// Random inputs: normal floats, a small learning rate, labels within the class count.
  func randomInputs(_ graph: Graph, _ random: inout SplitMix64) -> [String: HostTensor] {
    var inputs: [String: HostTensor] = [:]
    for (name, id) in graph.inputs {
      let type = graph[id].type
      if type.dtype == .i32 {
        let classes =
          graph.nodes.compactMap { node -> Int? in
            guard node.operands.contains(id), case .oneHot(let c) = node.op else { return nil }
            return c
          }.first ?? 2
        inputs[name] = HostTensor(
          type, (0..<type.elementCount).map { _ in Double(random.next() % UInt64(classes)) })
      } else if type.shape.isEmpty {
        inputs[name] = HostTensor(scalar: 0.1)
      } else {
        inputs[name] = HostTensor(type, (0..<type.elementCount).map { _ in random.normal() })
      }
    }
    return inputs
  }
}

/// A failure to set up a check (not a failed comparison).
public struct CheckError: Error, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}
