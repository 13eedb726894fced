import GraphIR

/// Batch normalisation over the channel axis 1 of [N, C] or [N, C, H, W] inputs.
///
/// Training mode normalises with the batch mean and biased variance and, when the builder
/// records state updates, moves the running statistics (unbiased variance, as PyTorch) by
/// `momentum`. Evaluation mode normalises with the running statistics.
public struct BatchNorm: Layer {
  public var name: String
  public var channels: Int
  public var momentum: Double
  public var epsilon: Double
  /// Whether to learn a scale and shift (false for the last head layer of some variants).
  public var affine: Bool
  public let location: SourceLocation

  public init(
    _ name: String, _ channels: Int, momentum: Double = 0.1, epsilon: Double = 1e-5,
    affine: Bool = true, file: String = #filePath, line: Int = #line
  ) {
    self.name = name
    self.channels = channels
    self.momentum = momentum
    self.epsilon = epsilon
    self.affine = affine
    location = SourceLocation(filePath: file, line: line)
  }

  public func forward(_ x: Tensor) -> Tensor {
    let b = x.builder
    // Per-channel values broadcast as [C] for [N, C] and [C, 1, 1] for [N, C, H, W].
    let statShape = [channels] + Array(repeating: 1, count: Swift.max(x.type.rank - 2, 0))
    let axes = [0] + Array(2..<Swift.max(x.type.rank, 2))
    let runningMean = b.variable(
      "running_mean", .f32(statShape), role: .state, initializer: .zeros)
    let runningVar = b.variable(
      "running_var", .f32(statShape), role: .state, initializer: .constant(1))
    let mean: Tensor
    let variance: Tensor
    if b.training {
      mean = x.mean(axes: axes).reshaped(statShape)
      let centered = x - mean
      variance = (centered * centered).mean(axes: axes).reshaped(statShape)
      if b.recordsStateUpdates {
        let count = x.type.elementCount / channels
        let unbiased = variance * b.ratio(count, Swift.max(count - 1, 1), statShape)
        b.assign(b.path("running_mean"), runningMean * (1 - momentum) + mean * momentum)
        b.assign(b.path("running_var"), runningVar * (1 - momentum) + unbiased * momentum)
      }
    } else {
      mean = runningMean
      variance = runningVar
    }
    var y = (x - mean) * (variance + epsilon).rsqrt()
    if affine {
      let gamma = b.variable(
        "weight", .f32(statShape), role: .parameter, initializer: .constant(1), adaptive: false)
      let beta = b.variable(
        "bias", .f32(statShape), role: .parameter, initializer: .zeros, adaptive: false)
      y = y * gamma + beta
    }
    return y
  }
}
