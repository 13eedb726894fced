import GraphIR

/// The outer optimizer of a training program; lowered to primitive ops by the compiler.
public struct OptimizerSpec: Hashable, Sendable {
  public var kind: UpdateRule.Kind
  public var momentum: Double
  public var weightDecay: Double
  public var trustCoefficient: Double

  public init(
    _ kind: UpdateRule.Kind, momentum: Double = 0.9, weightDecay: Double = 0,
    trustCoefficient: Double = 0.001
  ) {
    self.kind = kind
    self.momentum = momentum
    self.weightDecay = weightDecay
    self.trustCoefficient = trustCoefficient
  }

  /// SimCLR's small-batch choice for R1/R2: SGD, momentum 0.9, weight decay 5e-4.
  public static let sgd = OptimizerSpec(.sgd, momentum: 0.9, weightDecay: 5e-4)
  public static let lars = OptimizerSpec(.lars, momentum: 0.9, weightDecay: 1e-6)
  public static let adamw = OptimizerSpec(.adamw, weightDecay: 1e-4)
  /// SGD, LARS or AdamW, picked at every call from the entry's `optimizer`, `momentum` and
  /// `weight_decay` inputs (`OptimizerInputs`); the trust coefficient and AdamW's beta2 and
  /// epsilon stay those of this spec.
  public static let runtime = OptimizerSpec(.runtime)

  /// The update rule for one variable.
  func rule(for variable: String, adaptive: Bool) -> UpdateRule {
    UpdateRule(
      kind: kind, variable: variable, momentum: momentum, weightDecay: weightDecay,
      excludeFromAdaptation: !adaptive, trustCoefficient: trustCoefficient)
  }
}

/// The scalar inputs of an optimizer chosen at run time: which one (0 SGD, 1 LARS, 2 AdamW),
/// its momentum (AdamW's beta1) and its weight decay.
public struct OptimizerInputs {
  public var choice: Tensor
  public var momentum: Tensor
  public var weightDecay: Tensor
}

extension GraphBuilder {
  /// Declares the entry inputs `optimizer`, `momentum` and `weight_decay`.
  public func optimizerInputs() -> OptimizerInputs {
    OptimizerInputs(
      choice: input("optimizer", .scalar), momentum: input("momentum", .scalar),
      weightDecay: input("weight_decay", .scalar))
  }

  /// Differentiates `loss` with respect to each variable and emits its optimizer update. A
  /// `.runtime` optimizer reads `inputs` (declared here when not given).
  public func minimize(
    _ loss: Tensor, variables: [Variable], optimizer: OptimizerSpec, learningRate: Tensor,
    inputs: OptimizerInputs? = nil
  ) {
    var hyper: [Tensor] = []
    if optimizer.kind == .runtime {
      let given = inputs ?? optimizerInputs()
      hyper = [given.choice, given.momentum, given.weightDecay]
    }
    for variable in variables {
      let value = read(variable.name, variable.type)
      let grad = gradient(of: loss, withRespectTo: value)
      let adaptive = !program.nonAdaptive.contains(variable.name)
      _ = append(
        .update(optimizer.rule(for: variable.name, adaptive: adaptive)),
        [grad, learningRate] + hyper)
    }
  }
}
