import Foundation
import GraphIR

/// What one linear-probe evaluation measured.
public struct LinearProbeResult: Sendable {
  /// Fraction of test rows classified correctly.
  public var testAccuracy: Double
  /// Fraction of training rows classified correctly by the final probe.
  public var trainAccuracy: Double
  /// Mean training loss of each epoch.
  public var epochLosses: [Double]
  /// Optimizer steps taken.
  public var steps: Int
}

/// The linear evaluation protocol on frozen features: a 10- or 100-class linear classifier (the
/// compiled `linear-probe` program of graphs/LinearProbe.swift, AdamW) trained on features
/// standardised with the training split's per-column statistics, then scored on the test split.
///
/// Training runs `epochs` epochs of seeded shuffled batches (the last partial batch of each
/// epoch dropped) with a cosine-decayed learning rate; prediction pads the last batch. Every
/// evaluation uses a fresh `CompiledSession`, so runs and widths never share probe state.
public struct LinearProbe: Sendable {
  /// Passes over the training rows.
  public var epochs: Int
  /// Peak AdamW learning rate, decayed to 0 along a cosine.
  public var learningRate: Double
  /// The compiled batch size of `linear-probe` to use.
  public var batch: Int
  /// Seed of the per-epoch shuffles.
  public var seed: UInt64
  /// OpenMP team size for the compiled program (0: the default).
  public var threads: Int

  /// A probe with the usual settings: 30 epochs at learning rate 1e-3, batches of 256.
  public init(
    epochs: Int = 30, learningRate: Double = 1e-3, batch: Int = 256, seed: UInt64 = 0,
    threads: Int = 0
  ) {
    self.epochs = epochs
    self.learningRate = learningRate
    self.batch = batch
    self.seed = seed
    self.threads = threads
  }

  /// The feature widths `linear-probe` is compiled for at `batch`.
  public static func compiledWidths(batch: Int = 256) throws -> [Int] {
    let program = try CompiledProgram.named("linear-probe", batch: batch)
    return program.entries.compactMap { entry in
      entry.name.hasPrefix("train.f") ? Int(entry.name.dropFirst("train.f".count)) : nil
    }.sorted()
  }

  /// The entry names of the probe for `width` features and `classes` classes.
  static func entryNames(width: Int, classes: Int) -> (train: String, predict: String) {
    let suffix = "f\(width)" + (classes == 10 ? "" : ".c\(classes)")
    return ("train.\(suffix)", "predict.\(suffix)")
  }

  /// The class counts `linear-probe` is compiled for (graphs/LinearProbe.swift).
  static let classCounts = [10, 100]

  /// Standardises both splits with the training statistics, trains a fresh probe on the
  /// training split and scores it on both. The probe has the fewest compiled classes (10 or
  /// 100) that hold every label.
  /// - Throws: `TrainingError` when the width is not compiled, the splits disagree, there is
  ///   less than one batch of training rows, a label is outside the classes, or the loss is
  ///   not finite.
  public func evaluate(
    train: FeatureMatrix, trainLabels: [Int32], test: FeatureMatrix, testLabels: [Int32]
  ) throws -> LinearProbeResult {
    let program = try CompiledProgram.named("linear-probe", batch: batch)
    let width = train.columns
    let needed = Int((trainLabels + testLabels).max() ?? 0) + 1
    let classes = Self.classCounts.first { $0 >= needed } ?? Self.classCounts.last!
    let names = Self.entryNames(width: width, classes: classes)
    guard let trainEntry = program.entries.first(where: { $0.name == names.train }),
      let predictEntry = program.entries.first(where: { $0.name == names.predict })
    else {
      let widths = try Self.compiledWidths(batch: batch).map(String.init).joined(separator: ", ")
      throw TrainingError(
        "linear-probe is compiled for feature widths \(widths), not \(width); add \(width) to "
          + "probeWidths in graphs/LinearProbe.swift and rebuild")
    }
    try validate(train: train, trainLabels: trainLabels, test: test, testLabels: testLabels)
    if let bad = (trainLabels + testLabels).first(where: { $0 < 0 || Int($0) >= classes }) {
      throw TrainingError("label \(bad) is outside the probe's \(classes) classes")
    }
    let standardizer = FeatureStandardizer(fitting: train)
    let trainFeatures = standardizer.apply(train)
    let session = CompiledSession(program: program, threads: threads)
    let losses = try fit(session, trainEntry, features: trainFeatures, labels: trainLabels)
    let trainPredictions = predict(session, predictEntry, features: trainFeatures)
    let testPredictions = predict(session, predictEntry, features: standardizer.apply(test))
    return LinearProbeResult(
      testAccuracy: agreement(testPredictions, testLabels),
      trainAccuracy: agreement(trainPredictions, trainLabels),
      epochLosses: losses, steps: epochs * (train.rows / batch))
  }

  private func validate(
    train: FeatureMatrix, trainLabels: [Int32], test: FeatureMatrix, testLabels: [Int32]
  ) throws {
    guard test.columns == train.columns else {
      throw TrainingError("train features are \(train.columns)-d, test \(test.columns)-d")
    }
    guard trainLabels.count == train.rows, testLabels.count == test.rows else {
      throw TrainingError("each split needs one label per feature row")
    }
    guard train.rows >= batch else {
      throw TrainingError("\(train.rows) training rows are fewer than one batch of \(batch)")
    }
  }

  /// Trains the probe's variables in `session`; returns the mean loss of each epoch.
  private func fit(
    _ session: CompiledSession, _ entry: CompiledEntry, features: FeatureMatrix, labels: [Int32]
  ) throws -> [Double] {
    let stepsPerEpoch = features.rows / batch
    let schedule = LearningRateSchedule(
      peak: learningRate, warmupSteps: 0, totalSteps: epochs * stepsPerEpoch)
    let width = features.columns
    let featureBuffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: batch * width)
    let labelBuffer = UnsafeMutableBufferPointer<Int32>.allocate(capacity: batch)
    let rate = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    defer {
      featureBuffer.deallocate()
      labelBuffer.deallocate()
      rate.deallocate()
    }
    let pointers: [String: UnsafeRawPointer] = [
      "features": UnsafeRawPointer(featureBuffer.baseAddress!),
      "labels": UnsafeRawPointer(labelBuffer.baseAddress!), "lr": UnsafeRawPointer(rate),
    ]
    let inputs = try entry.inputs.map { input in
      guard let pointer = pointers[input.name] else {
        throw TrainingError("entry '\(entry.name)' takes an unknown input '\(input.name)'")
      }
      return pointer
    }
    var losses: [Double] = []
    for epoch in 0..<epochs {
      let order = shuffledOrder(features.rows, seed: SplitMix64.seed(seed, UInt64(epoch)))
      var total = 0.0
      for step in 0..<stepsPerEpoch {
        for slot in 0..<batch {
          let row = order[step * batch + slot]
          features.values.withUnsafeBufferPointer { values in
            _ = featureBuffer[(slot * width)..<((slot + 1) * width)].update(
              fromContentsOf: values[(row * width)..<((row + 1) * width)])
          }
          labelBuffer[slot] = labels[row]
        }
        rate.pointee = Float(schedule.rate(at: epoch * stepsPerEpoch + step))
        let loss = Double(session.run(entry, inputs: inputs)[ProgramNames.loss]!.pointee)
        guard loss.isFinite else {
          throw TrainingError("linear probe: the loss is \(loss) at epoch \(epoch), step \(step)")
        }
        total += loss
      }
      losses.append(total / Double(max(stepsPerEpoch, 1)))
    }
    return losses
  }

  /// The argmax class of every row, in batches (the last one padded with zeros).
  private func predict(_ session: CompiledSession, _ entry: CompiledEntry, features: FeatureMatrix)
    -> [Int32]
  {
    let width = features.columns
    let classes = entry.outputs.first { $0.name == "logits" }!.type.shape[1]
    let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: batch * width)
    buffer.initialize(repeating: 0)
    defer { buffer.deallocate() }
    var predictions: [Int32] = []
    predictions.reserveCapacity(features.rows)
    for start in stride(from: 0, to: features.rows, by: batch) {
      let valid = min(batch, features.rows - start)
      _ = buffer.update(
        fromContentsOf: features.values[(start * width)..<((start + valid) * width)])
      buffer[(valid * width)...].update(repeating: 0)
      let logits = session.run(entry, inputs: [UnsafeRawPointer(buffer.baseAddress!)])["logits"]!
      for row in 0..<valid {
        var best = 0
        for c in 1..<classes where logits[row * classes + c] > logits[row * classes + best] {
          best = c
        }
        predictions.append(Int32(best))
      }
    }
    return predictions
  }
}
