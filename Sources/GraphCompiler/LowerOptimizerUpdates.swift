import GraphIR

#if canImport(Glibc)
  import Glibc
#endif

// Lower optimizer updates: replaces each `<kind>_update(grad, lr) {var=...}` statement by
// primitive ops that read the parameter and its slots and assign their new values. Slots are
// program variables named `<parameter>.<slot>`, zero-initialised, declared by this pass.
// Requires: updates only on declared variables. Guarantees: no `update` node remains.

/// Turns SGD, LARS and AdamW update statements into primitive ops and assigns.
public struct LowerOptimizerUpdates: ProgramPass {
  public let name = "lower-optimizer-updates"
  public init() {}

  public func run(_ program: Program) throws(IRError) -> ProgramPassResult {
    var program = program
    var changed = false
    for index in program.entries.indices {
      let graph = program.entries[index].graph
      guard graph.nodes.contains(where: { if case .update = $0.op { true } else { false } })
      else { continue }
      var rewriter = GraphRewriter(graph)
      for id in graph.ids {
        guard case .update(let rule) = graph[id].op else {
          rewriter.copy(id)
          continue
        }
        let node = graph[id]
        try rewriter.result.lower(
          rule, operands: node.operands.map { rewriter[$0] }, type: node.type, at: node.location)
        program.declareSlots(of: rule, type: node.type)
      }
      program.entries[index].graph = rewriter.finish()
      changed = true
    }
    return ProgramPassResult(program: program, changed: changed)
  }
}

extension Graph {
  /// Emits the update for one parameter, reading and assigning its slots (`UpdateRule.slots`).
  mutating func lower(
    _ rule: UpdateRule, operands: [NodeID], type: TensorType, at: SourceLocation?
  ) throws(IRError) {
    let name = rule.variable
    let (grad, lr) = (operands[0], operands[1])
    let param = try append(.variable(name), declared: type, location: at)
    let rate = try broadcast(lr, to: type.shape, at: at)
    switch rule.kind {
    case .sgd:
      let velocity = try append(.variable(name + ".momentum"), declared: type, location: at)
      let decayed = try addScaled(grad, param, rule.weightDecay, at)
      let newVelocity = try addScaled(decayed, velocity, rule.momentum, at)
      let step = try binary(.mul, rate, newVelocity, at: at)
      try assign(name + ".momentum", newVelocity, at)
      try assign(name, try binary(.sub, param, step, at: at), at)
    case .lars:
      let velocity = try append(.variable(name + ".momentum"), declared: type, location: at)
      let excluded = rule.excludeFromAdaptation
      let decayed = excluded ? grad : try addScaled(grad, param, rule.weightDecay, at)
      var scaledRate = rate
      if !excluded {
        let trust = try trustRatio(param, decayed, rule.trustCoefficient, at)
        scaledRate = try binary(.mul, rate, try broadcast(trust, to: type.shape, at: at), at: at)
      }
      let step = try binary(.mul, scaledRate, decayed, at: at)
      let newVelocity = try addScaled(step, velocity, rule.momentum, at)
      try assign(name + ".momentum", newVelocity, at)
      try assign(name, try binary(.sub, param, newVelocity, at: at), at)
    case .adamw:
      try lowerAdamW(rule, param: param, grad: grad, rate: rate, type: type, at: at)
    case .runtime:
      try lowerRuntime(rule, param: param, operands: operands, type: type, at: at)
    }
  }

  private mutating func lowerAdamW(
    _ rule: UpdateRule, param: NodeID, grad: NodeID, rate: NodeID, type: TensorType,
    at: SourceLocation?
  ) throws(IRError) {
    let name = rule.variable
    let (mName, vName, tName) = (name + ".adam_m", name + ".adam_v", name + ".adam_step")
    let m = try append(.variable(mName), declared: type, location: at)
    let v = try append(.variable(vName), declared: type, location: at)
    let t = try append(.variable(tName), declared: .scalar, location: at)
    let newT = try binary(.add, t, try splat(1, .scalar, at: at), at: at)
    let newM = try mix(m, grad, rule.beta1, at)
    let newV = try mix(v, try binary(.mul, grad, grad, at: at), rule.beta2, at)
    // Bias corrections 1 - beta^t, with beta^t = exp(t * log(beta)).
    func correction(_ beta: Double) throws(IRError) -> NodeID {
      let power = try unary(.exp, try scale(newT, by: log(beta), at: at), at: at)
      let c = try binary(.sub, try splat(1, .scalar, at: at), power, at: at)
      return try broadcast(c, to: type.shape, at: at)
    }
    let mHat = try binary(.div, newM, try correction(rule.beta1), at: at)
    let vHat = try binary(.div, newV, try correction(rule.beta2), at: at)
    let denominator = try binary(
      .add, try unary(.sqrt, vHat, at: at), try splat(rule.epsilon, type, at: at), at: at)
    let direction = try addScaled(
      try binary(.div, mHat, denominator, at: at), param,
      rule.weightDecay, at)
    try assign(mName, newM, at)
    try assign(vName, newV, at)
    try assign(tName, newT, at)
    try assign(name, try binary(.sub, param, try binary(.mul, rate, direction, at: at), at: at), at)
  }

  /// `a + factor * b`, or `a` when the factor is zero.
  private mutating func addScaled(_ a: NodeID, _ b: NodeID, _ factor: Double, _ at: SourceLocation?)
    throws(IRError) -> NodeID
  {
    factor == 0 ? a : try binary(.add, a, try scale(b, by: factor, at: at), at: at)
  }

  /// `beta * old + (1 - beta) * new`.
  mutating func mix(_ old: NodeID, _ new: NodeID, _ beta: Double, _ at: SourceLocation?)
    throws(IRError) -> NodeID
  {
    try binary(.add, try scale(old, by: beta, at: at), try scale(new, by: 1 - beta, at: at), at: at)
  }

  /// LARS trust ratio `eta * |w| / |g|` (a scalar), or 1 when either norm is zero (as SimCLR
  /// does).
  mutating func trustRatio(
    _ w: NodeID, _ g: NodeID, _ eta: Double, _ at: SourceLocation?
  ) throws(IRError) -> NodeID {
    func norm(_ x: NodeID) throws(IRError) -> NodeID {
      let axes = Array(0..<self[x].type.rank)
      let sum = try append(
        .reduce(.sum, axes: axes), [try binary(.mul, x, x, at: at)], location: at)
      return try unary(.sqrt, try append(.reshape([]), [sum], location: at), at: at)
    }
    let (wNorm, gNorm) = (try norm(w), try norm(g))
    let zero = try splat(0, .scalar, at: at)
    let bothPositive = try binary(
      .mul, try compare(.gt, wNorm, zero, at: at), try compare(.gt, gNorm, zero, at: at), at: at)
    let safeG = try select(bothPositive, gNorm, try splat(1, .scalar, at: at), at: at)
    let ratio = try scale(try binary(.div, wNorm, safeG, at: at), by: eta, at: at)
    return try select(bothPositive, ratio, try splat(1, .scalar, at: at), at: at)
  }

  mutating func assign(_ name: String, _ value: NodeID, _ at: SourceLocation?)
    throws(IRError)
  {
    try append(.assign(name), [value], location: at)
  }
}
