import GraphCompiler
import GraphIR
import GraphInterpreter

/// Checks the gradients an entry point uses against central finite differences in float64.
///
/// For every variable the entry updates, the analytic gradient `g` (what the compiler's
/// differentiation produces) is compared with the directional derivative of the entry's loss
/// along a random direction `v`: `(L(x + eps v) - L(x - eps v)) / 2 eps` against `<g, v>`.
/// `stop_gradient` values are frozen at their unperturbed values, which is exactly the
/// function autodiff differentiates; so first-order bilevel entries are checked as first-order
/// and `bilevel-unrolled` entries through the unrolled inner steps (second order).
public struct GradientCheck {
  public var epsilon: Double
  public var tolerance: Double
  public var seed: UInt64

  public init(epsilon: Double = 1e-8, tolerance: Double = 1e-5, seed: UInt64 = 7) {
    self.epsilon = epsilon
    self.tolerance = tolerance
    self.seed = seed
  }

  /// The comparison for one variable.
  public struct Report: Sendable, CustomStringConvertible {
    public var variable: String
    public var analytic: Double
    public var numeric: Double
    public var relativeError: Double
    public var passed: Bool

    public var description: String {
      let status = passed ? "ok  " : "FAIL"
      return "\(status) \(variable): analytic \(analytic) numeric \(numeric) "
        + "rel.err \(relativeError)"
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
    var reports: [Report] = []
    for variable in probe.variables {
      guard let value = state[variable], let gradient = base["grad:" + variable] else { continue }
      let direction = value.scalars.map { _ in random.normal() }
      let analytic = zip(gradient.scalars, direction).reduce(0) { $0 + $1.0 * $1.1 }
      let numeric = try directionalDerivative(
        lossOnly, inputs: inputs, state: state, variable: variable, direction: direction)
      let error = abs(analytic - numeric) / max(abs(analytic), abs(numeric), 1e-3)
      reports.append(
        Report(
          variable: variable, analytic: analytic, numeric: numeric, relativeError: error,
          passed: error <= tolerance))
    }
    return reports
  }

  private func directionalDerivative(
    _ graph: Graph, inputs: [String: HostTensor], state: [String: HostTensor], variable: String,
    direction: [Double]
  ) throws -> Double {
    func loss(_ sign: Double) throws -> Double {
      var perturbed = state
      let value = state[variable]!
      perturbed[variable] = HostTensor(
        value.type, zip(value.scalars, direction).map { $0 + sign * epsilon * $1 })
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
