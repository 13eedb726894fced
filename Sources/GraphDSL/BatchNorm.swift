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
    if b.training && b.ranks > 1 {
      (mean, variance) = dataParallelStatistics(x, axes: axes, statShape: statShape)
    } else if b.training {
      mean = x.mean(axes: axes).reshaped(statShape)
      let centered = x - mean
      variance = (centered * centered).mean(axes: axes).reshaped(statShape)
      if b.recordsStateUpdates {
        let count = x.type.elementCount / channels
        let unbiased = variance * b.ratio(count, Swift.max(count - 1, 1), statShape)
        recordRunningStatistics(b, mean: mean, unbiased: unbiased)
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

  private func recordRunningStatistics(_ b: GraphBuilder, mean: Tensor, unbiased: Tensor) {
    let runningMean = b.read(b.path("running_mean"), mean.type)
    let runningVar = b.read(b.path("running_var"), mean.type)
    b.assign(b.path("running_mean"), runningMean * (1 - momentum) + mean * momentum)
    b.assign(b.path("running_var"), runningVar * (1 - momentum) + unbiased * momentum)
  }

  /// Batch statistics on one rank of a data-parallel program: over the global batch when the
  /// entry's `sync_bn` input is 1 (sums added over the ranks), over the rank's shard when it
  /// is 0. The running statistics move by the global batch's mean and (unbiased) variance, or
  /// by the mean of the ranks' own unbiased variances, so that every rank keeps the same
  /// running values either way (no collective beyond the two sums').
  private func dataParallelStatistics(_ x: Tensor, axes: [Int], statShape: [Int])
    -> (mean: Tensor, variance: Tensor)
  {
    let b = x.builder
    let ranks = b.ranks
    let count = x.type.elementCount / channels
    let sync = b.synchronizedBatchNorm().broadcast(to: statShape)
    func pick(_ sums: Tensor) -> (picked: Tensor, global: Tensor, local: Tensor) {
      let global = sums.allReduce() * b.ratio(1, ranks * count, statShape)
      let local = sums * b.ratio(1, count, statShape)
      return (b.append(.select, [sync, global, local]), global, local)
    }
    let means = pick(x.sum(axes: axes).reshaped(statShape))
    let centered = x - means.picked
    let variances = pick((centered * centered).sum(axes: axes).reshaped(statShape))
    if b.recordsStateUpdates {
      // Over the shards, `variances.global` is the mean of the ranks' own (biased) variances.
      let globalCount = ranks * count
      let unbiasing = b.append(
        .select,
        [
          sync, b.ratio(globalCount, globalCount - 1, statShape),
          b.ratio(count, Swift.max(count - 1, 1), statShape),
        ])
      recordRunningStatistics(b, mean: means.global, unbiased: variances.global * unbiasing)
    }
    return (means.picked, variances.picked)
  }
}
