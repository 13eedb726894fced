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

  /// The update rule for one variable.
  func rule(for variable: String, adaptive: Bool) -> UpdateRule {
    UpdateRule(
      kind: kind, variable: variable, momentum: momentum, weightDecay: weightDecay,
      excludeFromAdaptation: !adaptive, trustCoefficient: trustCoefficient)
  }
}

extension GraphBuilder {
  /// Differentiates `loss` with respect to each variable and emits its optimizer update.
  public func minimize(
    _ loss: Tensor, variables: [Variable], optimizer: OptimizerSpec, learningRate: Tensor
  ) {
    for variable in variables {
      let value = read(variable.name, variable.type)
      let grad = gradient(of: loss, withRespectTo: value)
      let adaptive = !program.nonAdaptive.contains(variable.name)
      _ = append(
        .update(optimizer.rule(for: variable.name, adaptive: adaptive)), [grad, learningRate])
    }
  }
}
