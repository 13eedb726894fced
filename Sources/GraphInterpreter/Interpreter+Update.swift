import GraphIR

#if canImport(Glibc)
  import Glibc
#endif

// The semantics of an optimizer update statement, applied directly (the compiled code's flat
// loops are checked against this; `LowerOptimizerUpdates` writes the same arithmetic out in
// primitive ops, and the tests hold the two equal). With g the gradient, p the parameter, lr
// the learning rate:
// - SGD: v' = mu v + (g + wd p); p' = p - lr v'.
// - LARS: v' = mu v + lr trust (g + wd p), trust = eta |p| / |g + wd p| (1 when either norm is
//   zero); an excluded parameter: v' = mu v + lr g. p' = p - v'.
// - AdamW: m' = b1 m + (1 - b1) g, v' = b2 v + (1 - b2) g^2, t' = t + 1;
//   p' = p - lr (m' / (1 - b1^t') / (sqrt(v' / (1 - b2^t')) + eps) + wd p).
// - Run time: the `optimizer` operand picks AdamW above 1.5, LARS above 0.5, else SGD, with the
//   `momentum` operand as mu (AdamW's b1) and `weight_decay` as wd; AdamW's second moment and
//   step count stay as they are under SGD and LARS.

extension Interpreter {
  /// The values an update writes, its variable and each slot, computed from the state as the
  /// call found it and the operands (gradient, learning rate, then a run-time rule's scalars).
  static func update(
    _ rule: UpdateRule, type: TensorType, operands x: [[Double]], state: [String: HostTensor]
  ) throws(InterpreterError) -> [(name: String, value: HostTensor)] {
    var slots: [String: [Double]] = [:]
    for slot in rule.slots(of: type) {
      guard let tensor = state[slot.name], tensor.type == slot.type else {
        throw InterpreterError(
          "optimizer update of '\(rule.variable)' needs slot '\(slot.name)' of type \(slot.type)"
            + " in the state (declare it: run DeclareOptimizerSlots)")
      }
      slots[slot.name] = tensor.scalars
    }
    guard let parameter = state[rule.variable]?.scalars else {
      throw InterpreterError("optimizer update of missing variable '\(rule.variable)'")
    }
    let step = OptimizerArithmetic(rule: rule, operands: x)
    let name = rule.variable
    let p = parameter
    let g = x[0]
    let written: [String: [Double]]
    switch step.kind {
    case .sgd, .lars:
      let (newP, newV) = step.momentumStep(p: p, g: g, velocity: slots[name + ".momentum"]!)
      written = [name: newP, name + ".momentum": newV]
    default:
      let first = name + (rule.kind == .runtime ? ".momentum" : ".adam_m")
      let t = slots[name + ".adam_step"]![0] + 1
      let (newP, newM, newV) = step.adamStep(
        p: p, g: g, m: slots[first]!, v: slots[name + ".adam_v"]!, t: t)
      written = [name: newP, first: newM, name + ".adam_v": newV, name + ".adam_step": [t]]
    }
    var result = [(name: name, value: HostTensor(type, written[name]!))]
    for slot in rule.slots(of: type) {
      result.append((slot.name, HostTensor(slot.type, written[slot.name] ?? slots[slot.name]!)))
    }
    return result
  }
}

/// One rule with its hyperparameters resolved (a run-time rule's from its scalar operands).
private struct OptimizerArithmetic {
  var kind: UpdateRule.Kind
  let lr: Double
  let mu: Double
  let wd: Double
  let rule: UpdateRule

  init(rule: UpdateRule, operands x: [[Double]]) {
    self.rule = rule
    lr = x[1][0]
    if rule.kind == .runtime {
      let choice = x[2][0]
      kind = choice > 1.5 ? .adamw : choice > 0.5 ? .lars : .sgd
      (mu, wd) = (x[3][0], x[4][0])
    } else {
      kind = rule.kind
      (mu, wd) = (rule.kind == .adamw ? rule.beta1 : rule.momentum, rule.weightDecay)
    }
  }

  /// SGD and LARS: the new parameter and velocity.
  func momentumStep(p: [Double], g: [Double], velocity: [Double]) -> ([Double], [Double]) {
    let decayed = zip(g, p).map { $0 + wd * $1 }
    if kind == .sgd {
      let v = zip(velocity, decayed).map { mu * $0 + $1 }
      return (zip(p, v).map { $0 - lr * $1 }, v)
    }
    let v: [Double]
    if rule.excludeFromAdaptation {
      v = zip(velocity, g).map { mu * $0 + lr * $1 }
    } else {
      let rate = lr * trust(p, decayed)
      v = zip(velocity, decayed).map { mu * $0 + rate * $1 }
    }
    return (zip(p, v).map { $0 - $1 }, v)
  }

  /// LARS's trust ratio eta |p| / |d|, or 1 when either norm is zero.
  func trust(_ p: [Double], _ d: [Double]) -> Double {
    let pNorm = p.reduce(0) { $0 + $1 * $1 }.squareRoot()
    let dNorm = d.reduce(0) { $0 + $1 * $1 }.squareRoot()
    return pNorm > 0 && dNorm > 0 ? rule.trustCoefficient * pNorm / dNorm : 1
  }

  /// AdamW at step count `t` (already advanced): the new parameter and moments.
  func adamStep(p: [Double], g: [Double], m: [Double], v: [Double], t: Double)
    -> ([Double], [Double], [Double])
  {
    let b2 = rule.beta2
    let newM = zip(m, g).map { mu * $0 + (1 - mu) * $1 }
    let newV = zip(v, g).map { b2 * $0 + (1 - b2) * $1 * $1 }
    let c1 = 1 - exp(t * log(mu))
    let c2 = 1 - exp(t * log(b2))
    var newP = p
    for i in p.indices {
      let direction = newM[i] / c1 / ((newV[i] / c2).squareRoot() + rule.epsilon) + wd * p[i]
      newP[i] = p[i] - lr * direction
    }
    return (newP, newM, newV)
  }
}
