import GraphCompiler
import GraphIR

/// The optimizer updates of an entry that share one rule (`UpdateRule.shared`) and the same
/// scalar operands: one call, after the copies, of a generated function that fills an
/// `hw_optimizer_rule` and runs `hw_optimize` over a table of segments, one per parameter,
/// giving where the parameter and its slots lie in the state arena. Its arguments: the
/// scalars (learning rate, then a run-time rule's `optimizer`, `momentum`, `weight_decay`),
/// the state arena, then each parameter's gradient.
struct OptimizerCall {
  let graph: Graph
  let state: StateLayout
  let group: OptimizerGroup

  var rule: UpdateRule { group.rule }
  var scalars: [NodeID] { group.scalars }
  var updates: [NodeID] { group.updates }

  /// The entry's calls, one per `Graph.optimizerGroups` group.
  static func groups(in graph: Graph, state: StateLayout) -> [OptimizerCall] {
    graph.optimizerGroups().map { OptimizerCall(graph: graph, state: state, group: $0) }
  }

  /// The gradients' buffers, one per segment (`Graph.optimizerGradient`).
  var gradients: [NodeID] { updates.map { graph.optimizerGradient(of: $0) } }

  /// The number of parameters' elements the call updates.
  var elements: Int { updates.reduce(0) { $0 + graph[$1].type.elementCount } }

  var mnemonic: String { "optimize_\(rule.kind.rawValue)" }

  var provenance: String {
    "\(rule.kind.rawValue)_update of \(updates.count) parameters, \(elements) elements"
  }

  /// Estimated bytes moved: each element's gradient, parameter and slots read, parameter and
  /// slots written (a run-time rule counted as AdamW, its largest).
  var bytesMoved: Int {
    let slots = rule.kind == .sgd || rule.kind == .lars ? 1 : 2
    return elements * 4 * (2 + 2 * slots + 1)
  }

  /// The function, named `name`: the segment table, the rule, the call.
  func emit(named name: String, into code: inout CodePrinter) {
    code.block("static void \(name)(void *const *a)") { code in
      code.line(
        "/* {parameter, first moment, second moment, step count, elements, adapted}: float offsets")
      code.line(" * in the state arena, -1 where the rule keeps no such slot */")
      code.line("static const hw_optimizer_segment segments[\(updates.count)] = {")
      code.indented { code in
        for id in updates { code.line(segment(id)) }
      }
      code.line("};")
      let fixed = rule.kind != .runtime
      code.line("const hw_optimizer_rule rule = {")
      code.indented { code in
        for field in fields { code.line(field + ",") }
      }
      code.line("};")
      let first = fixed ? 1 : 4
      code.line(
        "hw_optimize(&rule, segments, \(updates.count), (float *)a[\(first)], "
          + "(const float *const *)&a[\(first + 1)]);")
    }
  }

  /// The designated initialisers of the rule.
  private var fields: [String] {
    let scalar = { (index: Int) in "*(const float *)a[\(index)]" }
    switch rule.kind {
    case .runtime:
      return [
        ".kind = hw_optimizer_choice(\(scalar(1)))", ".learning_rate = \(scalar(0))",
        ".momentum = \(scalar(2))", ".weight_decay = \(scalar(3))",
        ".trust = \(rule.trustCoefficient)", ".beta2 = \(rule.beta2)",
        ".epsilon = \(rule.epsilon)",
      ]
    case .sgd, .lars:
      return [
        ".kind = \(rule.kind == .sgd ? "HW_SGD" : "HW_LARS")", ".learning_rate = \(scalar(0))",
        ".momentum = \(rule.momentum)", ".weight_decay = \(rule.weightDecay)",
        ".trust = \(rule.trustCoefficient)",
      ]
    case .adamw:
      return [
        ".kind = HW_ADAMW", ".learning_rate = \(scalar(0))", ".momentum = \(rule.beta1)",
        ".weight_decay = \(rule.weightDecay)", ".beta2 = \(rule.beta2)",
        ".epsilon = \(rule.epsilon)",
      ]
    }
  }

  /// One row of the segment table, with the parameter's name.
  private func segment(_ id: NodeID) -> String {
    guard case .update(let rule) = graph[id].op else { preconditionFailure("not an update") }
    let slots = Dictionary(
      uniqueKeysWithValues: zip(rule.slotSuffixes, rule.slots(of: graph[id].type)).map {
        ($0, state.offsets[$1.name]! / 4)
      })
    let first = slots["momentum"] ?? slots["adam_m"]!
    let columns = [
      state.offsets[rule.variable]! / 4, first, slots["adam_v"] ?? -1, slots["adam_step"] ?? -1,
      graph[id].type.elementCount, rule.excludeFromAdaptation ? 0 : 1,
    ]
    return "{\(columns.map(String.init).joined(separator: ", "))}, /* \(rule.variable) */"
  }
}
