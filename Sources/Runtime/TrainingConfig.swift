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
  /// The data set (`DatasetName`'s spelling) and the directory it was read from.
  public var dataset = DatasetName.fashionMNIST.rawValue
  public var dataDirectory = "/usr/share/datasets/fashion-mnist"
  /// Smallest area fraction of the random resized crop (SimCLR: 0.08).
  public var cropMinScale = 0.08
  /// The outer optimizer: sgd, lars or adamw (the programs take it as an input).
  public var optimizer = "sgd"
  /// Momentum of SGD and LARS; AdamW's beta1.
  public var momentum = 0.9
  public var weightDecay = 5e-4
  /// The InfoNCE temperature.
  public var temperature = 0.5
  /// Momentum of the inner head steps of the bilevel modes (0: plain gradient descent).
  public var innerMomentum = 0.0
  /// The convolutions' arithmetic: "fp32" or "bf16" (see `Precision`).
  public var precision = "fp32"
  /// DirectCLR: InfoNCE on the first `subvector` backbone dimensions (`none` mode only; nil:
  /// all of them).
  public var subvector: Int?
  /// Whether the online linear probe trains alongside (on the step's features and labels).
  public var onlineProbe = true
  /// Epochs between kNN evaluations on a fixed test subset (0: never).
  public var knnEvery = 1
  /// The processes of a data-parallel run (`--distributed`); nil: one process. `batch` is the
  /// global batch, split evenly over them.
  public var ranks: Int?
  /// A data-parallel run's BatchNorm statistics over the global batch (`--sync-bn`) rather
  /// than each rank's shard; nil in one process.
  public var syncBatchNorm: Bool?

  /// The optimizers a program's `optimizer` input selects, in the order of its values 0, 1, 2.
  public static let optimizers = ["sgd", "lars", "adamw"]
  /// Each optimizer's weight decay when none is given: SimCLR's 5e-4 for SGD at small batch
  /// and 1e-6 for LARS; 1e-4 for AdamW.
  public static let defaultWeightDecay = ["sgd": 5e-4, "lars": 1e-6, "adamw": 1e-4]

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
    dataset = try c.decodeIfPresent(String.self, forKey: .dataset) ?? d.dataset
    dataDirectory = try c.decodeIfPresent(String.self, forKey: .dataDirectory) ?? d.dataDirectory
    cropMinScale = try c.decodeIfPresent(Double.self, forKey: .cropMinScale) ?? d.cropMinScale
    optimizer = try c.decodeIfPresent(String.self, forKey: .optimizer) ?? d.optimizer
    momentum = try c.decodeIfPresent(Double.self, forKey: .momentum) ?? d.momentum
    weightDecay = try c.decodeIfPresent(Double.self, forKey: .weightDecay) ?? d.weightDecay
    temperature = try c.decodeIfPresent(Double.self, forKey: .temperature) ?? d.temperature
    innerMomentum = try c.decodeIfPresent(Double.self, forKey: .innerMomentum) ?? d.innerMomentum
    precision = try c.decodeIfPresent(String.self, forKey: .precision) ?? d.precision
    subvector = try c.decodeIfPresent(Int.self, forKey: .subvector)
    onlineProbe = try c.decodeIfPresent(Bool.self, forKey: .onlineProbe) ?? false
    knnEvery = try c.decodeIfPresent(Int.self, forKey: .knnEvery) ?? 0
    ranks = try c.decodeIfPresent(Int.self, forKey: .ranks)
    syncBatchNorm = try c.decodeIfPresent(Bool.self, forKey: .syncBatchNorm)
  }

  /// The scalar inputs of a training entry, by input name (an entry reads those it declares).
  public func scalarInputs(learningRate: Double) -> [String: Double] {
    [
      "lr": learningRate, "inner_lr": innerLearningRate, "inner_momentum": innerMomentum,
      "temperature": temperature, "momentum": momentum, "weight_decay": weightDecay,
      "optimizer": Double(Self.optimizers.firstIndex(of: optimizer) ?? 0),
      "sync_bn": syncBatchNorm == true ? 1 : 0,
    ]
  }

  /// The `none` step's subvector mask over the backbone's `width` dimensions: 1 for the first
  /// `subvector` (all when nil), 0 for the rest.
  public func subvectorMask(width: Int) throws -> [Float] {
    let kept = subvector ?? width
    guard kept <= width else {
      throw TrainingError(
        "--subvector \(kept) exceeds the \(width) dimensions of \(program)'s backbone output")
    }
    return (0..<width).map { $0 < kept ? 1 : 0 }
  }

  /// Why these settings cannot train, or nil when they can.
  public func invalidSetting() -> String? {
    if !Self.optimizers.contains(optimizer) {
      return "unknown optimizer '\(optimizer)'; expected one of "
        + Self.optimizers.joined(separator: ", ")
    }
    if !(0..<1).contains(momentum) { return "momentum must be in [0, 1), got \(momentum)" }
    if !(0..<1).contains(innerMomentum) {
      return "inner momentum must be in [0, 1), got \(innerMomentum)"
    }
    if innerSteps < 1 { return "inner steps must be at least 1, got \(innerSteps)" }
    if !(weightDecay >= 0) { return "weight decay must be >= 0, got \(weightDecay)" }
    if !(temperature > 0) { return "temperature must be > 0, got \(temperature)" }
    if !(learningRate > 0) { return "learning rate must be > 0, got \(learningRate)" }
    if DatasetName(rawValue: dataset) == nil {
      return "unknown dataset '\(dataset)'; expected one of "
        + DatasetName.allCases.map(\.rawValue).joined(separator: ", ")
    }
    if Precision(rawValue: precision) == nil {
      return "unknown precision '\(precision)'; expected fp32 or bf16"
    }
    if !(cropMinScale > 0 && cropMinScale <= 1) {
      return "crop-min-scale must be in (0, 1], got \(cropMinScale)"
    }
    if let subvector {
      if mode != "none" { return "--subvector needs --mode none (DirectCLR), got mode \(mode)" }
      if subvector < 1 { return "--subvector must be at least 1, got \(subvector)" }
    }
    if knnEvery < 0 { return "--knn-every must be >= 0 epochs, got \(knnEvery)" }
    if let ranks, batch % ranks != 0 {
      return "--batch \(batch) does not split over \(ranks) ranks; use a multiple of \(ranks)"
    }
    return nil
  }

  /// The fields that must match for `--resume` to continue a run bit for bit.
  public func resumeMismatch(_ other: TrainingConfig) -> String? {
    var mismatched: [String] = []
    if program != other.program { mismatched.append("program") }
    if dataset != other.dataset { mismatched.append("dataset") }
    if mode != other.mode { mismatched.append("mode") }
    if innerSteps != other.innerSteps { mismatched.append("inner-steps") }
    if batch != other.batch { mismatched.append("batch") }
    if limit != other.limit { mismatched.append("limit") }
    if seed != other.seed { mismatched.append("seed") }
    if learningRate != other.learningRate { mismatched.append("lr") }
    if warmupEpochs != other.warmupEpochs { mismatched.append("warmup-epochs") }
    if headInit != other.headInit { mismatched.append("head-init") }
    if cropMinScale != other.cropMinScale { mismatched.append("crop-min-scale") }
    if optimizer != other.optimizer { mismatched.append("optimizer") }
    if momentum != other.momentum { mismatched.append("momentum") }
    if weightDecay != other.weightDecay { mismatched.append("weight-decay") }
    if temperature != other.temperature { mismatched.append("temperature") }
    if innerMomentum != other.innerMomentum { mismatched.append("inner-momentum") }
    if innerLearningRate != other.innerLearningRate { mismatched.append("inner-lr") }
    if precision != other.precision { mismatched.append("precision") }
    if subvector != other.subvector { mismatched.append("subvector") }
    if onlineProbe != other.onlineProbe { mismatched.append("online-probe") }
    if (ranks ?? 1) != (other.ranks ?? 1) { mismatched.append("ranks (mpirun -np)") }
    if syncBatchNorm != other.syncBatchNorm { mismatched.append("sync-bn") }
    return mismatched.isEmpty ? nil : mismatched.joined(separator: ", ")
  }

  /// The data set the run trained on, which `eval` and `study` read too.
  public func source() throws -> Dataset {
    guard let name = DatasetName(rawValue: dataset) else {
      throw TrainingError(invalidSetting() ?? "unknown dataset '\(dataset)'")
    }
    return try Dataset(name: name, directory: dataDirectory)
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
