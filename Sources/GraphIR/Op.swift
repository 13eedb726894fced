/// One operation of the IR. Every op produces one value (assign and update produce none that
/// may be used). Attributes are part of the case; operands live on the node.
public enum Op: Hashable, Sendable {
  // Variables, inputs and constants: no operands; the node's type is declared.
  case input(String)
  case variable(String)
  case constant(Constant)

  // State updates: side effects, applied after every read of the entry point (parallel update).
  /// Writes operand 0 into the named variable.
  case assign(String)
  /// An optimizer step on a parameter: operands are the gradient and the learning rate.
  /// Lowered to primitive ops and assigns by `LowerOptimizerUpdates`.
  case update(UpdateRule)

  // Elementwise: operands of identical shape (the DSL inserts `broadcast`).
  case unary(UnaryOp)
  /// `x ** exponent` for a constant exponent.
  case powConstant(Double)
  case binary(BinaryOp)
  /// Compares two operands; yields 1 where the comparison holds and 0 elsewhere.
  case compare(Comparison)
  /// `mask != 0 ? a : b`; operands: mask, a, b.
  case select

  // Reductions: over the given axes, keeping them with size 1.
  case reduce(ReduceOp, axes: [Int])

  // Movement.
  /// Numpy-style expansion to `shape`: operand dims are right-aligned and equal or 1.
  case broadcast([Int])
  case reshape([Int])
  case transpose([Int])
  case slice(start: [Int], size: [Int])
  /// Zero padding; the gradient of `slice`.
  case pad(low: [Int], high: [Int])
  case concat(axis: Int)

  // Contractions and their gradients.
  /// 2-D matrix product of operands A and B, either optionally transposed.
  case matmul(transposeA: Bool, transposeB: Bool)
  /// NCHW input, OIHW filter; square stride and zero padding. With `channelsLast`, the input
  /// and output are NHWC (the filter stays OIHW).
  case conv2d(Conv2D)
  /// Gradient of conv2d with respect to its input; operands: output gradient, filter.
  case conv2dInputGrad(Conv2D, inputShape: [Int])
  /// Gradient of conv2d with respect to its filter; operands: input, output gradient.
  case conv2dFilterGrad(Conv2D, filterShape: [Int])
  /// Average pooling over square windows (NCHW).
  case avgPool2d(window: Int, stride: Int)
  /// Gradient of avgPool2d; operand: output gradient.
  case avgPool2dGrad(window: Int, stride: Int, inputShape: [Int])

  // Data parallelism.
  /// A collective across the ranks of a data-parallel run (`Collective`).
  case collective(Collective)

  // Labels.
  /// int32 labels of shape [N] to float one-hot [N, classes].
  case oneHot(classes: Int)

  // Differentiation markers, expanded by `DifferentiateGradients`.
  /// d(operand 0, a scalar) / d(operand 1).
  case gradient
  /// Identity forward, zero gradient.
  case stopGradient
}

public enum UnaryOp: String, Hashable, Sendable, CaseIterable {
  case neg, exp, log, sqrt, rsqrt, relu, abs
}

public enum BinaryOp: String, Hashable, Sendable, CaseIterable {
  case add, sub, mul, div, max, min
}

public enum Comparison: String, Hashable, Sendable, CaseIterable {
  case lt, le, gt, ge, eq, ne
}

public enum ReduceOp: String, Hashable, Sendable, CaseIterable {
  case sum, mean, max
}

/// Stride and zero padding of a square 2-D convolution, and the layout of its activations.
public struct Conv2D: Hashable, Sendable {
  public var stride: Int
  public var padding: Int
  /// Input, output and their gradients are `[N, H, W, C]` instead of `[N, C, H, W]` (set by
  /// the compiler's `UseChannelsLast` pass; the DSL writes NCHW).
  public var channelsLast: Bool

  public init(stride: Int = 1, padding: Int = 0, channelsLast: Bool = false) {
    self.stride = stride
    self.padding = padding
    self.channelsLast = channelsLast
  }
}

/// A constant tensor; its shape comes from the node's type.
public enum Constant: Hashable, Sendable {
  /// Every element equal to `value`.
  case splat(Double)
  /// A 2-D [n, m] matrix with `value` where `j == (i + offset) mod m`, zero elsewhere.
  case diagonal(offset: Int, value: Double)
  /// Explicit row-major values.
  case values([Double])
  /// Every element equal to `numerator / denominator` (one correctly rounded division): a
  /// factor that depends on an element count (a mean's `1 / count`, BatchNorm's unbiased
  /// `count / (count - 1)`), kept as integers so that the compiler can follow the batch size
  /// through it. Never folded into a splat.
  case ratio(Int, Int)
}

extension Constant {
  /// The value of every element, for the constants that have one (splat and ratio).
  public var uniformValue: Double? {
    switch self {
    case .splat(let value): value
    case .ratio(let numerator, let denominator): Double(numerator) / Double(denominator)
    case .diagonal, .values: nil
    }
  }
}

/// The optimizer step a parameter receives. Slots (momentum, Adam moments) are program
/// variables named `<variable>.<slot>`, created by the lowering pass.
///
/// `sgd`, `lars` and `adamw` updates take `(grad, lr)` and bake their hyperparameters in;
/// a `runtime` update takes `(grad, lr, optimizer, momentum, weight_decay)`, scalars read at
/// every call, so one compiled program trains with any of the three (optimizer 0: SGD,
/// 1: LARS, 2: AdamW, whose beta1 is the momentum input).
public struct UpdateRule: Hashable, Sendable {
  public enum Kind: String, Hashable, Sendable, CaseIterable {
    case sgd, lars, adamw, runtime
  }
  public var kind: Kind
  public var variable: String
  public var momentum: Double
  public var weightDecay: Double
  /// LARS: excluded parameters (biases, BatchNorm) get plain momentum SGD without weight decay.
  public var excludeFromAdaptation: Bool
  public var trustCoefficient: Double
  public var beta1: Double
  public var beta2: Double
  public var epsilon: Double

  public init(
    kind: Kind, variable: String, momentum: Double = 0.9, weightDecay: Double = 0,
    excludeFromAdaptation: Bool = false, trustCoefficient: Double = 0.001,
    beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8
  ) {
    self.kind = kind
    self.variable = variable
    self.momentum = momentum
    self.weightDecay = weightDecay
    self.excludeFromAdaptation = excludeFromAdaptation
    self.trustCoefficient = trustCoefficient
    self.beta1 = beta1
    self.beta2 = beta2
    self.epsilon = epsilon
  }
}

extension Op {
  /// Ops with side effects: never removed, never merged.
  public var hasSideEffects: Bool {
    switch self {
    case .assign, .update: true
    default: false
    }
  }

  /// Elementwise ops, whose operands and result share one shape.
  public var isElementwise: Bool {
    switch self {
    case .unary, .powConstant, .binary, .compare, .select: true
    default: false
    }
  }
}

extension Op {
  /// The variable an assign or update writes.
  public var writtenVariable: String? {
    switch self {
    case .assign(let name): name
    case .update(let rule): rule.variable
    default: nil
    }
  }
}

extension UpdateRule {
  /// The optimizer state the rule keeps per parameter, as suffixes of the slot names
  /// (`<variable>.<suffix>`): SGD and LARS a velocity; AdamW two moments and a step count; the
  /// run-time choice the velocity (AdamW's first moment), the second moment and the step count.
  public var slotSuffixes: [String] {
    switch kind {
    case .sgd, .lars: ["momentum"]
    case .adamw: ["adam_m", "adam_v", "adam_step"]
    case .runtime: ["momentum", "adam_v", "adam_step"]
    }
  }

  /// The slot variables of the rule's parameter with their types (a step count is a scalar).
  public func slots(of type: TensorType) -> [(name: String, type: TensorType)] {
    slotSuffixes.map { suffix in
      (variable + "." + suffix, suffix == "adam_step" ? TensorType.scalar : type)
    }
  }

  /// The rule with its variable and LARS exclusion left out: updates equal in this share one
  /// flat optimizer loop.
  public var shared: UpdateRule {
    var rule = self
    rule.variable = ""
    rule.excludeFromAdaptation = false
    return rule
  }
}
