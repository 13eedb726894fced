import Foundation

/// Everything that defines a training run. Written as the first record of metrics.jsonl and
/// into every checkpoint, so a resumed run can check it continues the same run.
public struct TrainingConfig: Codable, Equatable, Sendable {
  public var program = "fmnist-resnet-small"
  public var mode = "joint"
  public var innerSteps = 2
  public var headInit = "warm"
  public var epochs = 1
  public var batch = 256
  public var limit: Int?
  public var seed: UInt64 = 0
  public var threads = 0
  public var learningRate = 0.3
  public var innerLearningRate = 0.1
  public var warmupEpochs = 0.0
  /// Steps between checkpoints (0: only at the end of each epoch).
  public var checkpointEvery = 0
  public var dataDirectory = "/usr/share/datasets/fashion-mnist"
  /// Smallest area fraction of the random resized crop (SimCLR: 0.08).
  public var cropMinScale = 0.08

  public init() {}

  /// Fields missing from an older checkpoint take their defaults.
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let d = TrainingConfig()
    program = try c.decodeIfPresent(String.self, forKey: .program) ?? d.program
    mode = try c.decodeIfPresent(String.self, forKey: .mode) ?? d.mode
    innerSteps = try c.decodeIfPresent(Int.self, forKey: .innerSteps) ?? d.innerSteps
    headInit = try c.decodeIfPresent(String.self, forKey: .headInit) ?? d.headInit
    epochs = try c.decodeIfPresent(Int.self, forKey: .epochs) ?? d.epochs
    batch = try c.decodeIfPresent(Int.self, forKey: .batch) ?? d.batch
    limit = try c.decodeIfPresent(Int.self, forKey: .limit)
    seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
    threads = try c.decodeIfPresent(Int.self, forKey: .threads) ?? d.threads
    learningRate = try c.decodeIfPresent(Double.self, forKey: .learningRate) ?? d.learningRate
    innerLearningRate =
      try c.decodeIfPresent(Double.self, forKey: .innerLearningRate) ?? d.innerLearningRate
    warmupEpochs = try c.decodeIfPresent(Double.self, forKey: .warmupEpochs) ?? d.warmupEpochs
    checkpointEvery =
      try c.decodeIfPresent(Int.self, forKey: .checkpointEvery) ?? d.checkpointEvery
    dataDirectory = try c.decodeIfPresent(String.self, forKey: .dataDirectory) ?? d.dataDirectory
    cropMinScale = try c.decodeIfPresent(Double.self, forKey: .cropMinScale) ?? d.cropMinScale
  }

  /// The fields that must match for `--resume` to continue a run bit for bit.
  public func resumeMismatch(_ other: TrainingConfig) -> String? {
    var mismatched: [String] = []
    if program != other.program { mismatched.append("program") }
    if mode != other.mode { mismatched.append("mode") }
    if innerSteps != other.innerSteps { mismatched.append("inner-steps") }
    if batch != other.batch { mismatched.append("batch") }
    if limit != other.limit { mismatched.append("limit") }
    if seed != other.seed { mismatched.append("seed") }
    if learningRate != other.learningRate { mismatched.append("lr") }
    if warmupEpochs != other.warmupEpochs { mismatched.append("warmup-epochs") }
    if headInit != other.headInit { mismatched.append("head-init") }
    if cropMinScale != other.cropMinScale { mismatched.append("crop-min-scale") }
    return mismatched.isEmpty ? nil : mismatched.joined(separator: ", ")
  }

  /// JSON text of the config (sorted keys, so it is stable).
  public func json() -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
  }
}

/// Linear warm-up from 0, then cosine decay to 0, by step.
public struct LearningRateSchedule: Sendable {
  public var peak: Double
  public var warmupSteps: Int
  public var totalSteps: Int

  public init(peak: Double, warmupSteps: Int, totalSteps: Int) {
    self.peak = peak
    self.warmupSteps = warmupSteps
    self.totalSteps = max(totalSteps, 1)
  }

  public func rate(at step: Int) -> Double {
    if step < warmupSteps { return peak * Double(step + 1) / Double(warmupSteps) }
    let progress = Double(step - warmupSteps) / Double(max(totalSteps - warmupSteps, 1))
    return peak * 0.5 * (1 + cos(Double.pi * min(progress, 1)))
  }
}
