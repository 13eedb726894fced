import GraphIR

#if canImport(Glibc)
  import Glibc
#endif

// The optimizer chosen at run time: a `runtime_update(grad, lr, optimizer, momentum,
// weight_decay)` lowers to SGD, LARS and AdamW side by side, with the momentum and weight
// decay read from its scalar operands, and selects by the `optimizer` scalar (< 0.5: SGD,
// < 1.5: LARS, otherwise AdamW, whose beta1 is the momentum). The three share their
// structure, `velocity' = mu * velocity + step`, so the arithmetic is written to leave few
// values with several users: per parameter the fused code stores the decayed gradient, the
// new velocity, AdamW's second moment and the parameter, plus the two LARS norms.
//
// Slots: `<p>.momentum` holds the velocity of SGD and LARS and AdamW's first moment;
// `<p>.adam_v` and `<p>.adam_step` change only under AdamW.

extension Graph {
  mutating func lowerRuntime(
    _ rule: UpdateRule, param: NodeID, operands: [NodeID], type: TensorType, at: SourceLocation?
  ) throws(IRError) {
    let name = rule.variable
    let (mName, vName, tName) = (name + ".momentum", name + ".adam_v", name + ".adam_step")
    let (grad, lr, choice, momentum, decay) = (
      operands[0], operands[1], operands[2], operands[3], operands[4]
    )
    func full(_ x: NodeID) throws(IRError) -> NodeID {
      try broadcast(x, to: type.shape, at: at)
    }
    func times(_ a: NodeID, _ b: NodeID) throws(IRError) -> NodeID {
      try binary(.mul, a, b, at: at)
    }
    let velocity = try append(.variable(mName), declared: type, location: at)
    let (rate, mu, wd) = (try full(lr), try full(momentum), try full(decay))
    let isAdam = try compare(.gt, choice, try splat(1.5, .scalar, at: at), at: at)
    let isLars = try full(try compare(.gt, choice, try splat(0.5, .scalar, at: at), at: at))
    let decayed = try binary(.add, grad, try times(wd, param), at: at)

    // What each rule adds to mu * velocity: SGD g + wd p; LARS lr trust (g + wd p), or lr g
    // for an excluded parameter; AdamW (1 - mu) g.
    var larsStep = try times(rate, grad)
    if !rule.excludeFromAdaptation {
      let trust = try trustRatio(param, decayed, rule.trustCoefficient, at)
      larsStep = try times(try times(rate, try full(trust)), decayed)
    }
    let adamStep = try times(try binary(.sub, try splat(1, type, at: at), mu, at: at), grad)
    let step = try select(
      try full(isAdam), adamStep, try select(isLars, larsStep, decayed, at: at), at: at)
    let newVelocity = try binary(.add, try times(mu, velocity), step, at: at)

    let adam = try runtimeAdamW(
      rule, param: param, grad: grad, firstMoment: newVelocity, momentum: momentum, decay: wd,
      isAdam: isAdam, names: (vName, tName), at: at)
    // SGD moves by lr * velocity, LARS by the velocity (the rate is inside it), AdamW by
    // lr * its direction.
    let change = try select(
      try full(isAdam), try times(rate, adam.direction),
      try select(isLars, newVelocity, try times(rate, newVelocity), at: at), at: at)
    try assign(mName, newVelocity, at)
    try assign(vName, adam.v, at)
    try assign(tName, adam.t, at)
    try assign(name, try binary(.sub, param, change, at: at), at)
  }

  /// AdamW's second moment and step count (changed only when `isAdam`) and its direction
  /// m^ / (sqrt(v^) + eps) + wd p, with m^ and v^ bias-corrected by 1 - beta^t.
  private mutating func runtimeAdamW(
    _ rule: UpdateRule, param: NodeID, grad: NodeID, firstMoment: NodeID, momentum: NodeID,
    decay: NodeID, isAdam: NodeID, names: (v: String, t: String), at: SourceLocation?
  ) throws(IRError) -> (v: NodeID, t: NodeID, direction: NodeID) {
    let type = self[param].type
    let one = try splat(1, .scalar, at: at)
    let oldT = try append(.variable(names.t), declared: .scalar, location: at)
    let t = try select(isAdam, try binary(.add, oldT, one, at: at), oldT, at: at)
    let oldV = try append(.variable(names.v), declared: type, location: at)
    let mixed = try mix(oldV, try binary(.mul, grad, grad, at: at), rule.beta2, at)
    let v = try select(try broadcast(isAdam, to: type.shape, at: at), mixed, oldV, at: at)
    // 1 - beta^t = 1 - exp(t log beta); beta1 = 0 gives exp(-inf) = 0. Under SGD and LARS
    // t stays 0 and these divide by zero in a branch the select drops.
    let power1 = try unary(
      .exp, try binary(.mul, t, try unary(.log, momentum, at: at), at: at), at: at)
    let power2 = try unary(.exp, try scale(t, by: log(rule.beta2), at: at), at: at)
    let correction1 = try broadcast(try binary(.sub, one, power1, at: at), to: type.shape, at: at)
    let correction2 = try broadcast(try binary(.sub, one, power2, at: at), to: type.shape, at: at)
    let mHat = try binary(.div, firstMoment, correction1, at: at)
    let vHat = try binary(.div, v, correction2, at: at)
    let denominator = try binary(
      .add, try unary(.sqrt, vHat, at: at), try splat(rule.epsilon, type, at: at), at: at)
    let direction = try binary(
      .add, try binary(.div, mHat, denominator, at: at), try binary(.mul, decay, param, at: at),
      at: at)
    return (v, t, direction)
  }
}
