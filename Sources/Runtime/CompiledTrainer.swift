import Foundation
import GraphIR

/// Trains one compiled entry point on a labelled image set: shuffling, views, learning-rate
/// schedule, checkpoints, resume and the non-finite watch. Deterministic for a given config
/// and thread count, so a resumed run ends bit for bit where an uninterrupted one would.
public final class CompiledTrainer {
  public let config: TrainingConfig
  public let session: CompiledSession
  public let entry: CompiledEntry
  let images: LabeledImages
  let makeViews: (_ indices: [Int], _ step: Int) -> [Float]
  /// The online probe and kNN, when the run has them.
  let monitor: TrainingMonitor?
  /// Wall time spent in the online probe since the last epoch record.
  private var probeSeconds = 0.0
  /// Steps completed so far (across epochs).
  public private(set) var completedSteps = 0
  /// The loss of every step run by this trainer, in order.
  public private(set) var losses: [Double] = []
  private let inputs: [UnsafeMutableRawPointer]
  /// The `none` step's subvector mask (nil for other entries), checked before the first step.
  private let subvectorMask: [Float]?
  /// This process's rank in a data-parallel run (`config.ranks`; 0 in one process): it trains
  /// on images `rank * n ..< (rank + 1) * n` of each global batch of `n * ranks`.
  public let rank: Int

  public var stepsPerEpoch: Int { images.count / config.batch }
  public var totalSteps: Int { stepsPerEpoch * config.epochs }
  public var schedule: LearningRateSchedule {
    LearningRateSchedule(
      peak: config.learningRate, warmupSteps: Int(config.warmupEpochs * Double(stepsPerEpoch)),
      totalSteps: totalSteps)
  }

  public init(
    config: TrainingConfig, program: CompiledProgram, entry name: String, images: LabeledImages,
    makeViews: @escaping ([Int], Int) -> [Float], monitor: TrainingMonitor? = nil, rank: Int = 0
  ) throws {
    guard images.count >= config.batch else {
      throw TrainingError("\(images.count) images are fewer than one batch of \(config.batch)")
    }
    self.config = config
    self.images = images
    self.makeViews = makeViews
    self.monitor = monitor
    self.rank = rank
    entry = try program.entry(named: name)
    let precision = Precision(rawValue: config.precision) ?? .fp32
    try precision.check()
    session = CompiledSession(program: program, threads: config.threads, precision: precision)
    subvectorMask = try entry.inputs.first { $0.name == ProgramNames.subvectorMask }
      .map { try config.subvectorMask(width: $0.type.elementCount) }
    inputs = entry.inputs.map { input in
      UnsafeMutableRawPointer.allocate(
        byteCount: max(4 * input.type.elementCount, 4), alignment: 64)
    }
  }

  deinit { inputs.forEach { $0.deallocate() } }

  func setCompletedSteps(_ steps: Int) { completedSteps = steps }

  /// Trains until `totalSteps` (or `stopAfter` more steps), logging each step; saves a
  /// checkpoint every `checkpointEvery` steps, at each epoch's end and at the end.
  public func train(log: TrainingLog?, checkpoint path: String?, stopAfter: Int? = nil) throws {
    let end = min(totalSteps, completedSteps + (stopAfter ?? totalSteps))
    var epochLosses = log?.resumedEpochLosses ?? []
    var epochAccuracies = log?.resumedEpochProbeAccuracies ?? []
    var epochStart = Date()
    while completedSteps < end {
      let started = Date()
      let (loss, innerLoss, probeAccuracy) = try runStep()
      let seconds = Date().timeIntervalSince(started)
      let epoch = completedSteps / stepsPerEpoch
      epochLosses.append(loss)
      losses.append(loss)
      if let probeAccuracy { epochAccuracies.append(probeAccuracy) }
      log?.step(
        StepRecord(
          epoch: epoch, epochs: config.epochs, step: completedSteps % stepsPerEpoch,
          stepsPerEpoch: stepsPerEpoch, globalStep: completedSteps, loss: loss,
          innerLoss: innerLoss, learningRate: schedule.rate(at: completedSteps),
          imagesPerSecond: Double(config.batch) / seconds,
          eta: seconds * Double(totalSteps - completedSteps - 1), probeAccuracy: probeAccuracy,
          epochProbeAccuracy: mean(epochAccuracies)))
      completedSteps += 1
      let epochEnds = completedSteps % stepsPerEpoch == 0
      if let path,
        epochEnds || completedSteps == end
          || (config.checkpointEvery > 0 && completedSteps % config.checkpointEvery == 0)
      {
        try SafeTensors.write(checkpoint(), to: path)
      }
      if epochEnds {
        let seconds = Date().timeIntervalSince(epochStart)
        var measured = ["online_probe_accuracy": mean(epochAccuracies)].compactMapValues { $0 }
        if !epochAccuracies.isEmpty { measured["online_probe_seconds"] = probeSeconds }
        probeSeconds = 0
        if let monitor, monitor.knnDue(afterEpoch: epoch) {
          let started = Date()
          measured.merge(try monitor.evaluate(session)) { a, _ in a }
          measured["knn_seconds"] = Date().timeIntervalSince(started)
        }
        log?.epoch(
          epoch, meanLoss: epochLosses.reduce(0, +) / Double(epochLosses.count), seconds: seconds,
          measured: measured)
        (epochLosses, epochAccuracies) = ([], [])
        epochStart = Date()
      }
    }
  }

  /// One step: the batch of the current position, its views, the call, the checks, then the
  /// online probe on the step's features.
  func runStep() throws -> (loss: Double, innerLoss: Double?, probeAccuracy: Double?) {
    let epoch = completedSteps / stepsPerEpoch
    let position = completedSteps % stepsPerEpoch
    let order = shuffledOrder(images.count, seed: SplitMix64.seed(config.seed, UInt64(epoch)))
    let shard = config.batch / (config.ranks ?? 1)
    let start = position * config.batch + rank * shard
    // The views of an image depend on its index, not its place: the shards of a batch see the
    // views one process would.
    let indices = Array(order[start..<(start + shard)])
    let views = makeViews(indices, completedSteps)
    if config.headInit == "reinit" && TrainingModeName.isBilevel(config.mode) {
      try reinitializeHead(round: completedSteps)
    }
    let scalars = config.scalarInputs(learningRate: schedule.rate(at: completedSteps))
    for (input, pointer) in zip(entry.inputs, inputs) {
      if input.name == ProgramNames.views {
        guard views.count == input.type.elementCount else {
          throw TrainingError(
            "views have \(views.count) values, entry '\(entry.name)' expects \(input.type)")
        }
        views.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
      } else if input.name == ProgramNames.subvectorMask, let mask = subvectorMask {
        mask.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
      } else if let value = scalars[input.name], input.type.elementCount == 1 {
        pointer.storeBytes(of: Float(value), as: Float.self)
      } else {
        throw TrainingError("entry '\(entry.name)' takes an unknown input '\(input.name)'")
      }
    }
    // `bilevel.step`'s loop is its inner head step: K inner steps run it K - 1 more times.
    let repeats = entry.loopCalls == nil ? nil : config.innerSteps - 1
    let outputs = session.run(
      entry, inputs: inputs.map { UnsafeRawPointer($0) }, loopRepeats: repeats)
    let loss = Double(outputs[ProgramNames.loss]?.pointee ?? .nan)
    let innerLoss = outputs[ProgramNames.innerLoss].map { Double($0.pointee) }
    try checkFinite(loss: loss)
    let features = outputs[ProgramNames.features].map { start in
      UnsafeBufferPointer(start: start, count: 2 * indices.count * featureWidth)
    }
    let started = Date()
    let accuracy = features.flatMap { monitor?.afterStep(features: $0, indices: indices) }
    probeSeconds += Date().timeIntervalSince(started)
    return (loss, innerLoss, accuracy)
  }

  /// Columns of the step's `features` output (0 when the entry has none).
  public var featureWidth: Int { entry.featureWidth }

  /// Stops at the first non-finite loss or parameter, naming the step and the tensor; the last
  /// checkpoint written stays the last good one.
  private func checkFinite(loss: Double) throws {
    guard loss.isFinite else {
      throw TrainingError(
        "step \(completedSteps): the loss is \(loss); stopped, the last "
          + "checkpoint is the last good state")
    }
    for variable in session.program.variables {
      if let index = session.read(variable.name).firstIndex(where: { !$0.isFinite }) {
        throw TrainingError(
          "step \(completedSteps): '\(variable.name)' holds a non-finite value at index \(index);"
            + " stopped, the last checkpoint is the last good state")
      }
    }
  }

  /// Fresh head parameters for a bilevel outer step (`--head-init reinit`).
  private func reinitializeHead(round: Int) throws {
    for variable in session.program.variables
    where variable.role == .parameter && variable.name.hasPrefix(ProgramNames.head + ".") {
      let values = variable.initializer.salted(round: round)
        .values(count: variable.type.elementCount)
      try session.write(values.map(Float.init), to: variable.name)
    }
  }
}

extension CompiledEntry {
  /// Columns of the entry's `features` output, one row per view or image (0 without one).
  public var featureWidth: Int {
    outputs.first { $0.name == ProgramNames.features }?.type.shape.last ?? 0
  }
}

/// The mean of `values`, nil when there are none.
func mean(_ values: [Double]) -> Double? {
  values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
}

/// Mode names as the runtime sees them (the runtime does not import the DSL).
enum TrainingModeName {
  static func isBilevel(_ mode: String) -> Bool { mode.hasPrefix("bilevel") }
}

extension Initializer {
  /// The same initializer with a seed salted by `round`: new values each round, reproducibly.
  public func salted(round: Int) -> Initializer {
    let salt = SplitMix64.mix(UInt64(round) &+ 1)
    switch self {
    case .normal(let std, let seed): return .normal(std: std, seed: seed ^ salt)
    case .uniform(let bound, let seed): return .uniform(bound: bound, seed: seed ^ salt)
    case .zeros, .constant: return self
    }
  }
}

/// A permutation of 0..<count from a seed (Fisher-Yates with SplitMix64).
public func shuffledOrder(_ count: Int, seed: UInt64) -> [Int] {
  var order = Array(0..<count)
  var random = SplitMix64(seed: seed)
  for i in stride(from: count - 1, to: 0, by: -1) {
    order.swapAt(i, Int(random.next() % UInt64(i + 1)))
  }
  return order
}
