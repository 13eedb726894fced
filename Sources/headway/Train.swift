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

  @Option(
    help:
      "OpenMP threads (0: one per core; with --distributed, the node's cores shared by its ranks).")
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

  @Flag(
    help: """
      Data-parallel training over MPI: run under `mpirun -np P`; each rank trains on its \
      share of the --batch images (a multiple of P) with InfoNCE over every rank's views and \
      the gradients summed over the ranks; rank 0 writes the run directory. Needs the \
      program's data-parallel form for P ranks in graphs/ (R1: P = 2).
      """)
  var distributed = false

  @Flag(
    name: .customLong("sync-bn"),
    help: "With --distributed: BatchNorm statistics over the global batch, not each rank's.")
  var syncBatchNorm = false

  func run() throws {
    var config = try makeConfig()
    let world = try openWorld(&config)
    defer { if distributed { Communicator.close() } }
    let source = try Dataset(name: dataset, directory: data)
    let shape = try programImageShape()
    let images = try source.load(.training, for: shape, program: program, limit: limit)
    if knnEvery == nil { config.knnEvery = TrainingMonitor.defaultEvery(images.count) }
    let augmenter = SimCLRAugmenter(seed: seed, viewShape: shape, cropMinScale: cropMinScale)
    let makeViews = { (indices: [Int], step: Int) in
      augmenter.views(of: images, indices: indices, step: step)
    }
    // In a data-parallel run only rank 0 writes the run directory.
    let writes = world.rank == 0
    if writes {
      try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    }
    let lock = writes ? try DirectoryLock(directory: out, holder: "headway train") : nil
    defer { withExtendedLifetime(lock) {} }
    if engine == "reference" {
      try checkReferenceOptions()
      try trainWithInterpreter(config, images: images, makeViews: makeViews)
      return
    }
    let compiled = try CompiledProgram.named(world.program, batch: batch / world.ranks)
    let entry = try TrainingMode(rawValue: mode)!.checkedStepEntry(
      in: compiled, innerSteps: innerSteps)
    let monitor =
      writes ? try makeMonitor(config, source: source, images: images, shape: shape) : nil
    let trainer = try CompiledTrainer(
      config: config, program: compiled, entry: entry, images: images,
      makeViews: makeViews, monitor: monitor, rank: world.rank)
    let checkpoint = out + "/checkpoint.safetensors"
    if resume { try trainer.resume(from: checkpoint) }
    guard writes else {
      try trainer.train(log: nil, checkpoint: nil, stopAfter: stopAfter)
      return
    }
    let log = try TrainingLog(
      runDirectory: out, config: config, resumedAt: resume ? trainer.completedSteps : nil,
      stepsPerEpoch: trainer.stepsPerEpoch)
    print(
      "training \(program) \(mode) on \(images.count) images of \(source.description) "
        + "(views \(shape)): \(trainer.totalSteps) steps of "
        + "\(batch) images, \(hw_threads()) threads, \(precision.rawValue)"
        + (world.ranks > 1
          ? ", \(world.ranks) ranks of \(batch / world.ranks) images"
            + (syncBatchNorm ? ", BatchNorm over the global batch" : ", BatchNorm per rank")
          : "")
        + (resume ? ", from step \(trainer.completedSteps)" : ""))
    print("machine: \(MachineInfo.current().summary)")
    fflush(nil)
    try trainer.train(log: log, checkpoint: checkpoint, stopAfter: stopAfter)
  }

  /// Opens MPI for a data-parallel run and names the compiled program of this many ranks (the
  /// program itself for one); records the ranks in the config.
  func openWorld(_ config: inout TrainingConfig) throws -> (
    rank: Int, ranks: Int, program: String
  ) {
    guard distributed else {
      if syncBatchNorm { throw ValidationError("--sync-bn needs --distributed") }
      return (0, 1, program)
    }
    guard engine == "compiled" else {
      throw ValidationError("--distributed runs the compiled engine only")
    }
    let (rank, ranks) = try Communicator.open()
    guard ranks > 1 else { return (rank, 1, program) }
    config.ranks = ranks
    config.syncBatchNorm = syncBatchNorm
    if threads == 0 {
      // One per core is one per core of the node, shared by the ranks mpirun put on it.
      let local = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap(
        Int.init)
      config.threads = max(1, ProcessInfo.processInfo.activeProcessorCount / max(local ?? 1, 1))
    }
    if let problem = config.invalidSetting() { throw ValidationError(problem) }
    let name = "\(program).p\(ranks)"
    guard Programs.named(name)?.ranks == ranks else {
      let forms = Programs.all.filter { $0.ranks > 1 && $0.name.hasPrefix(program + ".p") }
        .map { "\($0.name) (\($0.ranks) ranks)" }
      throw ValidationError(
        "\(program) has no data-parallel form for \(ranks) ranks (mpirun -np \(ranks)); "
          + (forms.isEmpty
            ? "it has none: add one in graphs/ (ContrastiveModel.program(batch:dataParallel:))"
            : "graphs/ defines \(forms.joined(separator: ", "))"))
    }
    return (rank, ranks, name)
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
    guard let definition = Programs.named(program) else {
      let names = Programs.all.map(\.name).joined(separator: ", ")
      throw ValidationError("unknown program '\(program)'; programs: \(names)")
    }
    guard definition.ranks == 1 else {
      throw ValidationError(
        "\(program) is one rank's program of a \(definition.ranks)-rank run; train the "
          + "one-process program under mpirun -np \(definition.ranks) with --distributed")
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
