import ArgumentParser
import Foundation
import GraphDSL
import GraphIR
import Graphs
import Runtime

/// `headway train`: trains a program from graphs/ on Fashion-MNIST.
struct Train: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Train a program from graphs/ on Fashion-MNIST in one of the five modes.",
    discussion: """
      This version runs the reference interpreter (float64, one thread), so use small --limit \
      and --batch values. Each step draws two augmented views of every image in the batch. \
      Metrics go to RUNDIR/metrics.jsonl, one JSON record per step.
      """)

  @Option(help: "Program name, as `headwayc list` prints it.")
  var program = "fmnist-resnet-small"

  @Option(help: "joint | none | fixed | bilevel | bilevel-unrolled.")
  var mode: String = "joint"

  @Option(help: "Passes over the (limited) training set.")
  var epochs = 1

  @Option(help: "Images per step (2x as many views); must be a size the program was built for.")
  var batch = 2

  @Option(help: "Use only the first IMAGES training images.")
  var limit: Int?

  @Option(help: "Seed for shuffling and augmentation.")
  var seed: UInt64 = 0

  @Option(help: "Threads (the reference interpreter uses one).")
  var threads = 1

  @Option(help: "Run directory for metrics.")
  var out: String = "runs/latest"

  @Option(help: "Learning rate of the backbone (and head, in joint mode).")
  var lr = 0.1

  @Option(help: "Inner head steps K per backbone step (bilevel modes).")
  var innerSteps = 2

  @Option(help: "Learning rate of the inner head steps (bilevel modes).")
  var innerLr = 0.1

  @Option(
    help: "Head at each outer step of the bilevel modes: warm (keep the adapted head) or reinit.")
  var headInit = "warm"

  @Option(help: "Directory holding the Fashion-MNIST IDX files.")
  var data = FashionMNIST.defaultDirectory

  func run() throws {
    guard let trainingMode = TrainingMode(rawValue: mode) else {
      throw ValidationError(
        "unknown mode '\(mode)'; modes: \(TrainingMode.allCases.map(\.rawValue).joined(separator: ", "))"
      )
    }
    guard ["warm", "reinit"].contains(headInit) else {
      throw ValidationError("--head-init must be warm or reinit, got '\(headInit)'")
    }
    guard let definition = Programs.named(program) else {
      throw ValidationError(
        "unknown program '\(program)'; programs: \(Programs.all.map(\.name).joined(separator: ", "))"
      )
    }
    let images = try FashionMNIST.load(split: .train, directory: data, limit: limit)
    guard images.count >= batch else {
      throw ValidationError(
        "--limit gives \(images.count) images, fewer than one batch of \(batch)")
    }
    var trainer = try ReferenceTrainer(
      program: try definition.program(batch: batch),
      entry: trainingMode.stepEntry(innerSteps: innerSteps))
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    let log = try MetricsLog(path: out + "/metrics.jsonl")
    let augmenter = Augmenter(seed: seed)
    let stepsPerEpoch = images.count / batch
    print(
      "training \(program) mode \(mode) on \(images.count) images, \(stepsPerEpoch) steps/epoch")
    var step = 0
    for epoch in 0..<epochs {
      let order = shuffled(images.count, seed: seed &+ UInt64(epoch))
      for batchIndex in 0..<stepsPerEpoch {
        let indices = Array(order[(batchIndex * batch)..<((batchIndex + 1) * batch)])
        let start = Date()
        let views = augmenter.views(of: images, indices: indices, step: step)
        if trainingMode.isBilevel && headInit == "reinit" {
          trainer.reinitialize(under: "head", round: step)
        }
        let outputs = try trainer.step(views: views, learningRate: lr, innerLearningRate: innerLr)
        let seconds = Date().timeIntervalSince(start)
        let loss = outputs["loss"] ?? .nan
        try log.write([
          "epoch": Double(epoch), "step": Double(step), "loss": loss, "seconds": seconds,
        ])
        print(
          "epoch \(epoch + 1)/\(epochs) step \(batchIndex + 1)/\(stepsPerEpoch) "
            + "loss \(String(format: "%.4f", loss)) "
            + "(\(String(format: "%.1f", Double(2 * batch) / seconds)) views/s)")
        step += 1
      }
    }
  }
}

/// A permutation of 0..<count from a seed (Fisher-Yates with SplitMix64).
func shuffled(_ count: Int, seed: UInt64) -> [Int] {
  var order = Array(0..<count)
  var random = SplitMix64(seed: seed)
  for i in stride(from: count - 1, to: 0, by: -1) {
    order.swapAt(i, Int(random.next() % UInt64(i + 1)))
  }
  return order
}

/// Appends one JSON object per line.
final class MetricsLog {
  private let handle: FileHandle

  init(path: String) throws {
    _ = FileManager.default.createFile(atPath: path, contents: nil)
    guard let handle = FileHandle(forWritingAtPath: path) else {
      throw ValidationError("cannot write \(path)")
    }
    self.handle = handle
  }

  func write(_ record: [String: Double]) throws {
    let fields = record.keys.sorted().map { key in
      let value = record[key]!
      let text = value.isFinite ? "\(value)" : "null"
      return "\"\(key)\": \(text)"
    }
    try handle.write(contentsOf: Data(("{" + fields.joined(separator: ", ") + "}\n").utf8))
  }
}
