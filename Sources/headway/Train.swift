import ArgumentParser
import Foundation
import GraphDSL
import GraphIR
import Graphs
import Runtime

/// `headway train`: trains a program from graphs/ on a data set.
struct Train: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Train a program from graphs/ on a data set in one of the five modes.",
    discussion: """
      Runs the program compiled at `swift build` (`--engine reference` runs the float64 \
      interpreter instead, for tiny checks). Each step draws two augmented views of every \
      image in the batch, cropped and resized to the program's image size; grayscale data \
      is repeated to three channels for a colour program. RUNDIR gets metrics.jsonl (the \
      config, then one record per step and per epoch) and checkpoint.safetensors (every \
      variable, written atomically at each epoch's end, every --checkpoint-every steps and at \
      the end). --resume continues from it; with the same options and threads the result is \
      bit for bit that of an \
      uninterrupted run.
      """)

  @Option(help: "Program name, as `headwayc list` prints it.")
  var program = "fmnist-resnet-small"

  @Option(help: "joint | none | fixed | bilevel | bilevel-unrolled.")
  var mode: String = "joint"

  @Option(help: "Passes over the (limited) training set.")
  var epochs = 1

  @Option(help: "Images per step (2x as many views); any size the memory allows, no rebuild.")
  var batch = 256

  @Option(help: "Use only the first IMAGES training images.")
  var limit: Int?

  @Option(help: "Seed for shuffling, augmentation and head re-initialisation.")
  var seed: UInt64 = 0

  @Option(help: "OpenMP threads (0: one per core).")
  var threads = 0

  @Option(
    help: """
      fp32, or bf16: convolutions on bfloat16 operands with float32 accumulation (AVX512-BF16 \
      or AMX); matrix products, BatchNorm, the loss, the optimizer and the weights stay float32.
      """)
  var precision: Precision = .fp32

  @Option(help: "Run directory: metrics.jsonl and checkpoint.safetensors.")
  var out: String = "runs/latest"

  @Flag(help: "Continue the run in --out from its checkpoint.")
  var resume = false

  @Option(help: "Peak learning rate of the backbone (and head, in joint mode).")
  var lr = 0.3

  @Option(help: "Outer optimizer: sgd | lars | adamw (chosen at run time: one compiled program).")
  var optimizer = "sgd"

  @Option(help: "Momentum of SGD and LARS; beta1 of AdamW.")
  var momentum = 0.9

  @Option(help: "Weight decay (default: 5e-4 for sgd, 1e-6 for lars, 1e-4 for adamw).")
  var weightDecay: Double?

  @Option(help: "InfoNCE temperature.")
  var temperature = 0.5

  @Option(help: "Epochs of linear learning-rate warm-up before the cosine decay.")
  var warmupEpochs = 0.0

  @Option(
    help:
      "Inner head steps K per backbone step (bilevel: any K >= 1; bilevel-unrolled: a K the program lists)."
  )
  var innerSteps = 2

  @Option(help: "Learning rate of the inner head steps (bilevel modes).")
  var innerLr = 0.1

  @Option(help: "Momentum of the inner head steps (bilevel modes; 0: plain gradient descent).")
  var innerMomentum = 0.0

  @Option(
    help: "Head at each outer step of the bilevel modes: warm (keep the adapted head) or reinit.")
  var headInit = "warm"

  @Option(help: "Steps between checkpoints (0: at each epoch's end only).")
  var checkpointEvery = 0

  @Option(help: "Stop after this many steps of this invocation (the checkpoint allows --resume).")
  var stopAfter: Int?

  @Option(help: "Smallest area fraction of the random resized crop.")
  var cropMinScale = 0.08

  @Option(help: "compiled (default) or reference (the float64 interpreter, very slow).")
  var engine = "compiled"

  @Option(help: "The data set (STL-10 trains on its unlabeled split, evaluates on train/test).")
  var dataset: DatasetName = .fashionMNIST

  @Option(
    help: "Directory holding the data set's files (default: Fashion-MNIST's Debian location).")
  var data: String?

  @Option(
    help: """
      DirectCLR (--mode none only): InfoNCE on the first D dimensions of the backbone output.
      """)
  var subvector: Int?

  @Flag(
    inversion: .prefixedNo,
    help: """
      An online linear probe on each step's backbone features and the batch's labels (its own \
      SGD, never touching the backbone); its accuracy on each batch, before its update, is in \
      the progress line and metrics.jsonl.
      """)
  var onlineProbe = true

  @Option(
    help: """
      Epochs between kNN evaluations (weighted, k=200) of 2000 fixed test images against \
      10000 fixed training images, with the online probe scored on the same test images \
      (0: never; default: every ceil(40000 / training images) epochs, under about 5% of the \
      training time).
      """)
  var knnEvery: Int?

  func run() throws {
    var config = try makeConfig()
    let source = try Dataset(name: dataset, directory: data)
    let shape = try programImageShape()
    let images = try source.load(.training, for: shape, program: program, limit: limit)
    if knnEvery == nil { config.knnEvery = TrainingMonitor.defaultEvery(images.count) }
    let augmenter = SimCLRAugmenter(seed: seed, viewShape: shape, cropMinScale: cropMinScale)
    let makeViews = { (indices: [Int], step: Int) in
      augmenter.views(of: images, indices: indices, step: step)
    }
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    let lock = try DirectoryLock(directory: out, holder: "headway train")
    defer { withExtendedLifetime(lock) {} }
    if engine == "reference" {
      try checkReferenceOptions()
      try trainWithInterpreter(config, images: images, makeViews: makeViews)
      return
    }
    let compiled = try CompiledProgram.named(program, batch: batch)
    let entry = try TrainingMode(rawValue: mode)!.checkedStepEntry(
      in: compiled, innerSteps: innerSteps)
    let monitor = try makeMonitor(config, source: source, images: images, shape: shape)
    let trainer = try CompiledTrainer(
      config: config, program: compiled, entry: entry, images: images,
      makeViews: makeViews, monitor: monitor)
    let checkpoint = out + "/checkpoint.safetensors"
    if resume { try trainer.resume(from: checkpoint) }
    let log = try TrainingLog(
      runDirectory: out, config: config, resumedAt: resume ? trainer.completedSteps : nil,
      stepsPerEpoch: trainer.stepsPerEpoch)
    print(
      "training \(program) \(mode) on \(images.count) images of \(source.description) "
        + "(views \(shape)): \(trainer.totalSteps) steps of "
        + "\(batch) images, \(hw_threads()) threads, \(precision.rawValue)"
        + (resume ? ", from step \(trainer.completedSteps)" : ""))
    print("machine: \(MachineInfo.current().summary)")
    fflush(nil)
    try trainer.train(log: log, checkpoint: checkpoint, stopAfter: stopAfter)
  }

  func makeConfig() throws -> TrainingConfig {
    guard TrainingMode(rawValue: mode) != nil else {
      let modes = TrainingMode.allCases.map(\.rawValue).joined(separator: ", ")
      throw ValidationError("unknown mode '\(mode)'; modes: \(modes)")
    }
    guard ["warm", "reinit"].contains(headInit) else {
      throw ValidationError("--head-init must be warm or reinit, got '\(headInit)'")
    }
    guard ["compiled", "reference"].contains(engine) else {
      throw ValidationError("--engine must be compiled or reference, got '\(engine)'")
    }
    guard Programs.named(program) != nil else {
      let names = Programs.all.map(\.name).joined(separator: ", ")
      throw ValidationError("unknown program '\(program)'; programs: \(names)")
    }
    var config = TrainingConfig()
    config.program = program
    config.mode = mode
    config.innerSteps = innerSteps
    config.headInit = headInit
    config.epochs = epochs
    config.batch = batch
    config.limit = limit
    config.seed = seed
    config.threads = threads
    config.precision = precision.rawValue
    config.learningRate = lr
    config.innerLearningRate = innerLr
    config.warmupEpochs = warmupEpochs
    config.checkpointEvery = checkpointEvery
    config.dataset = dataset.rawValue
    config.dataDirectory = try Dataset(name: dataset, directory: data).directory
    config.cropMinScale = cropMinScale
    config.optimizer = optimizer
    config.momentum = momentum
    config.weightDecay = weightDecay ?? TrainingConfig.defaultWeightDecay[optimizer] ?? 0
    config.temperature = temperature
    config.innerMomentum = innerMomentum
    config.subvector = subvector
    config.onlineProbe = onlineProbe
    if let knnEvery { config.knnEvery = knnEvery }  // else chosen by size once images load
    if let problem = config.invalidSetting() { throw ValidationError(problem) }
    return config
  }

  /// `[channels, height, width]` of the program's images (the same at every batch size).
  func programImageShape() throws -> [Int] {
    try CompiledProgram.named(program, batch: batch).imageShape
  }

  /// The online probe and kNN of this run; the kNN's training images are the training split's
  /// when it is labelled (STL-10: its labelled training split).
  func makeMonitor(
    _ config: TrainingConfig, source: Dataset, images: LabeledImages, shape: [Int]
  ) throws -> TrainingMonitor {
    let width = try CompiledProgram.named(program, batch: batch).entry(named: stepEntry())
      .featureWidth
    var knnImages: (LabeledImages, LabeledImages)?
    if config.knnEvery > 0 {
      let labeled = images.labels.contains { $0 >= 0 }
      knnImages = (
        labeled ? images : try source.load(.labeledTrain, for: shape, program: program),
        try source.load(.test, for: shape, program: program)
      )
    }
    return TrainingMonitor(
      config: config, labels: images.labels, featureWidth: width, knnImages: knnImages)
  }

  func stepEntry() -> String {
    TrainingMode(rawValue: mode)!.stepEntry(innerSteps: innerSteps)
  }
}
