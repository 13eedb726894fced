import ArgumentParser
import Foundation
import GraphIR
import Runtime

/// `headway eval RUNDIR`: linear probe and kNN of the trained backbone, with baselines.
struct Eval: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Evaluate a trained backbone: linear-probe and kNN accuracy on the test split.",
    discussion: """
      Reads the data set the run trained on (its labelled training and test splits, each \
      image resized to the program's size). Encodes both with the checkpoint's backbone \
      (eval-mode BatchNorm), fits a linear probe on the training features (--probe lbfgs, the \
      default: to convergence) and scores it on the test split, and scores weighted kNN \
      (k=200, cosine, temperature 0.1). With --baselines, the same for a randomly initialised \
      backbone and for raw pixels. Writes RUNDIR/eval.md and \
      RUNDIR/eval.json.
      """)

  @Argument(help: "Run directory written by `headway train`.")
  var runDirectory: String

  @Flag(help: "Also score a randomly initialised backbone and raw pixels.")
  var baselines = false

  @OptionGroup var probeOptions: ProbeOptions

  @Option(help: "OpenMP threads (0: one per core).")
  var threads = 0

  @Option(help: "Images per encoder call, any size (default: the run's); features do not change.")
  var batch: Int?

  func run() throws {
    let run = try TrainedRun(directory: runDirectory)
    let config = run.config
    let (train, test) = try evaluationImages(config)
    let compiled = try CompiledProgram.named(config.program, batch: batch ?? config.batch)
    let evaluation = RepresentationEvaluation(
      probe: try probeOptions.probe(threads: threads))
    var scores: [RepresentationScore] = []
    func backbone(_ name: String, restore: Bool) throws {
      let session = CompiledSession(program: compiled, threads: threads)
      if restore { try session.restore(from: run.checkpoint, path: run.path) }
      let extractor = try FeatureExtractor(session: session, entry: ProgramNames.encode)
      let trainFeatures = try extractor.extract(train)[ProgramNames.features]!
      let testFeatures = try extractor.extract(test)[ProgramNames.features]!
      scores.append(
        try evaluation.score(
          name, train: trainFeatures, test: testFeatures, trainLabels: train.labels,
          testLabels: test.labels))
      print(
        "\(name): probe \(percent(scores.last!.linearProbe)) (\(scores.last!.probeSummary)), "
          + "kNN \(percent(scores.last!.knn))")
    }
    try backbone(
      "trained backbone (\(config.mode), step \(run.checkpoint.metadata["step"] ?? "?"))",
      restore: true)
    if baselines {
      try backbone("random backbone", restore: false)
      scores.append(
        try evaluation.score(
          "raw pixels", train: FeatureMatrix(pixels: train), test: FeatureMatrix(pixels: test),
          trainLabels: train.labels, testLabels: test.labels))
      print(
        "raw pixels: probe \(percent(scores.last!.linearProbe)) (\(scores.last!.probeSummary)), "
          + "kNN \(percent(scores.last!.knn))")
    }
    let table = RepresentationEvaluation.table(scores)
    print("")
    print(table)
    try table.write(toFile: runDirectory + "/eval.md", atomically: true, encoding: .utf8)
    try RepresentationEvaluation.json(scores).write(
      toFile: runDirectory + "/eval.json", atomically: true, encoding: .utf8)
  }
}

/// The labelled training and test images of the run's data set, at its program's image shape.
func evaluationImages(_ config: TrainingConfig) throws -> (LabeledImages, LabeledImages) {
  let source = try config.source()
  let shape = try CompiledProgram.named(config.program, batch: config.batch).imageShape
  return (
    try source.load(.labeledTrain, for: shape, program: config.program),
    try source.load(.test, for: shape, program: config.program)
  )
}

/// The probe options `eval` and `study` share.
struct ProbeOptions: ParsableArguments {
  @Option(
    help: """
      lbfgs: logistic regression fitted to convergence (L-BFGS, weight decay chosen on held-out \
      training rows); adamw: the compiled probe, --probe-epochs epochs of AdamW.
      """)
  var probe = "lbfgs"

  @Option(help: "Epochs of the adamw probe.")
  var probeEpochs = 30

  @Option(help: "Weight decays the lbfgs probe chooses among (comma-separated, largest first).")
  var probeWeightDecays = "1e-2,1e-3,1e-4,1e-5,1e-6"

  @Flag(
    inversion: .prefixedNo,
    help: "Fit the lbfgs probe's chosen decay again from zero and report that accuracy too.")
  var probeRefit = true

  @Option(
    help: """
      The lbfgs probe stops when the gradient's largest component is at most this (the weight \
      decay's selection fits stop at ten times it).
      """)
  var probeTolerance = 1e-5

  /// The probe `--probe` names.
  func probe(threads: Int) throws -> any FeatureProbe {
    let decays = probeWeightDecays.split(separator: ",").map {
      Double($0.trimmingCharacters(in: .whitespaces))
    }
    let values = decays.compactMap { $0 }
    guard !values.isEmpty, values.count == decays.count, values.allSatisfy({ $0 > 0 }) else {
      throw ValidationError(
        "--probe-weight-decays must be positive numbers separated by commas, got "
          + "'\(probeWeightDecays)'")
    }
    guard probeTolerance > 0 else {
      throw ValidationError("--probe-tolerance must be positive, got \(probeTolerance)")
    }
    switch probe {
    case "lbfgs":
      return LogisticProbe(
        weightDecays: values.sorted(by: >), solver: LBFGS(gradientTolerance: probeTolerance),
        refitFromZero: probeRefit)
    case "adamw": return LinearProbe(epochs: probeEpochs, threads: threads)
    default: throw ValidationError("--probe must be lbfgs or adamw, got '\(probe)'")
    }
  }
}

func percent(_ value: Double) -> String { String(format: "%.2f%%", 100 * value) }
