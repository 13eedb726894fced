import GraphIR

/// What training measures beside its loss, as SSL libraries do: the online linear probe on every
/// step's backbone features, and every `knnEvery` epochs the weighted kNN accuracy (k=200) of
/// the backbone (the `encode` entry: eval-mode BatchNorm) on a fixed subset of the test split,
/// against a fixed subset of the labelled training split, with the online probe scored on the
/// same test images. Neither touches the backbone or the step's arithmetic.
public final class TrainingMonitor {
  /// Labelled training images the kNN compares against, and test images it classifies.
  public static let knnBankImages = 10_000
  public static let knnTestImages = 2_000

  /// The epochs between kNN evaluations that keep them under about 5% of training time with
  /// `trainingImages` images per epoch: one evaluation encodes 12,000 images, and on R1 a
  /// forward pass costs about a sixth of a training step per image (AMD EPYC family 25: 1.05 ms
  /// against 6.05 ms), so it costs about 2,100 / `trainingImages` of an epoch.
  public static func defaultEvery(_ trainingImages: Int) -> Int {
    max(1, (40_000 + trainingImages - 1) / max(trainingImages, 1))
  }

  /// The probe, or nil when it is off or the training split has no labels.
  public private(set) var probe: OnlineProbe?
  private let labels: [Int32]
  private let knnEvery: Int
  private let knnImages: (bank: LabeledImages, test: LabeledImages)?

  /// `labels` are the training images' (negative: unlabelled); `featureWidth` the backbone's
  /// output width; `knnImages` the labelled training and the test split when kNN is on.
  public init(
    config: TrainingConfig, labels: [Int32], featureWidth: Int,
    knnImages: (bank: LabeledImages, test: LabeledImages)?
  ) {
    self.labels = labels
    knnEvery = knnImages == nil ? 0 : config.knnEvery
    self.knnImages = knnImages.map {
      (Self.fixedSubset($0.bank, Self.knnBankImages), Self.fixedSubset($0.test, Self.knnTestImages))
    }
    let testLabels = knnImages?.test.labels ?? []
    let classes = Int((labels + testLabels).max() ?? -1) + 1
    if config.onlineProbe, classes > 1, featureWidth > 0 {
      probe = OnlineProbe(width: featureWidth, classes: classes)
    }
  }

  /// Trains the probe on a step's features: `2 * indices.count` rows, the first view of each
  /// image of the batch, then the second. Returns its accuracy on them before the update.
  func afterStep(features: UnsafeBufferPointer<Float>, indices: [Int]) -> Double? {
    guard probe != nil else { return nil }
    let batchLabels = indices.map { labels[$0] }
    return probe!.step(features: features, labels: batchLabels + batchLabels)
  }

  /// Whether the kNN evaluation runs at the end of `epoch` (counted from 0).
  func knnDue(afterEpoch epoch: Int) -> Bool { knnEvery > 0 && (epoch + 1) % knnEvery == 0 }

  /// kNN accuracy of the session's backbone on the test subset and the online probe's accuracy
  /// on the same images, by metrics.jsonl field name.
  func evaluate(_ session: CompiledSession) throws -> [String: Double] {
    guard let (bank, test) = knnImages else { return [:] }
    let extractor = try FeatureExtractor(session: session, entry: ProgramNames.encode)
    let bankFeatures = try extractor.extract(bank, outputs: [ProgramNames.features])
    let testFeatures = try extractor.extract(test, outputs: [ProgramNames.features])
    let (b, t) = (bankFeatures[ProgramNames.features]!, testFeatures[ProgramNames.features]!)
    var result = [
      "knn_accuracy": KNNClassifier().accuracy(
        train: b, trainLabels: bank.labels, test: t, testLabels: test.labels)
    ]
    if let probe { result["online_probe_test_accuracy"] = agreement(probe.predict(t), test.labels) }
    return result
  }

  /// The probe's state for the checkpoint (none when it is off).
  func tensors() -> [CheckpointTensor] { probe?.tensors() ?? [] }

  /// Restores the probe from a checkpoint's tensors; a checkpoint without them (a run trained
  /// without the probe) leaves it fresh and says so.
  func restore(from tensors: [CheckpointTensor], path: String) throws {
    guard probe != nil else { return }
    if try !probe!.restore(from: tensors, path: path) {
      print("note: \(path) holds no online probe; it starts afresh")
    }
  }

  /// The same `count` images of `images` every time (a fixed shuffle, not the run's seed), so
  /// runs are compared on one subset.
  static func fixedSubset(_ images: LabeledImages, _ count: Int) -> LabeledImages {
    guard count < images.count else { return images }
    let order = shuffledOrder(images.count, seed: 0x6b_6e6e).prefix(count)
    var pixels: [Float] = []
    pixels.reserveCapacity(count * images.imageSize)
    for i in order { pixels.append(contentsOf: images.image(i)) }
    return LabeledImages(
      count: count, channels: images.channels, height: images.height, width: images.width,
      pixels: pixels, labels: order.map { images.labels[$0] })
  }
}
