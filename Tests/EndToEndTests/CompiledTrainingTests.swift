import Foundation
import GraphIR
import Runtime
import Testing

/// The compiled trainer on real Fashion-MNIST images at R1's test size (2 images per step).
@Suite(.enabled(if: FileManager.default.fileExists(atPath: FashionMNIST.defaultDirectory)))
struct CompiledTrainingTests {
  static func config(_ mode: String = "joint") -> TrainingConfig {
    var config = TrainingConfig()
    config.mode = mode
    config.batch = 2
    config.limit = 12
    config.epochs = 2
    config.learningRate = 0.05
    config.threads = 2
    return config
  }

  static func trainer(_ config: TrainingConfig, entry: String = "joint.step") throws
    -> CompiledTrainer
  {
    let images = try FashionMNIST.load(split: .train, limit: config.limit)
    let augmenter = Augmenter(seed: config.seed)
    return try CompiledTrainer(
      config: config, program: try CompiledProgram.named(config.program, batch: config.batch),
      entry: entry, images: images,
      makeViews: { augmenter.views(of: images, indices: $0, step: $1) })
  }

  static func directory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent(
      "headway-train-\(UUID().uuidString)"
    ).path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  @Test func aRunStoppedMidEpochAndResumedEndsBitForBitLikeAnUninterruptedOne() throws {
    let directory = try Self.directory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let whole = try Self.trainer(Self.config())
    try whole.train(log: nil, checkpoint: directory + "/whole.safetensors")
    let first = try Self.trainer(Self.config())
    try first.train(log: nil, checkpoint: directory + "/split.safetensors", stopAfter: 4)
    #expect(first.completedSteps == 4)  // mid-epoch: 6 steps per epoch
    let second = try Self.trainer(Self.config())
    try second.resume(from: directory + "/split.safetensors")
    #expect(second.completedSteps == 4)
    try second.train(log: nil, checkpoint: directory + "/split.safetensors")
    let a = try SafeTensors.read(path: directory + "/whole.safetensors")
    let b = try SafeTensors.read(path: directory + "/split.safetensors")
    #expect(a.tensors.count == whole.session.program.variables.count)
    #expect(a.tensors == b.tensors)
    #expect(a.metadata["step"] == "12" && b.metadata["step"] == "12")
  }

  @Test func resumingWithDifferentOptionsIsRefusedWithTheOptionsNamed() throws {
    let directory = try Self.directory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try Self.trainer(Self.config()).train(
      log: nil, checkpoint: directory + "/c.safetensors", stopAfter: 1)
    var other = Self.config()
    other.seed = 9
    #expect {
      try Self.trainer(other).resume(from: directory + "/c.safetensors")
    } throws: { "\($0)".contains("seed") }
  }

  @Test func aDivergingRunStopsNamingTheStepAndKeepsTheLastGoodCheckpoint() throws {
    let directory = try Self.directory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    var config = Self.config()
    config.learningRate = 1e30
    config.checkpointEvery = 1
    let trainer = try Self.trainer(config)
    var message = ""
    do {
      try trainer.train(log: nil, checkpoint: directory + "/c.safetensors")
    } catch {
      message = "\(error)"
    }
    #expect(message.contains("step \(trainer.completedSteps)"), "\(message)")
    #expect(message.contains("non-finite") || message.contains("loss is"), "\(message)")
    let saved = try SafeTensors.read(path: directory + "/c.safetensors")
    #expect(saved.metadata["step"] == String(trainer.completedSteps))
    #expect(saved.tensors.allSatisfy { $0.values.allSatisfy(\.isFinite) })
  }

  @Test(arguments: [("joint", "joint.step"), ("bilevel", "bilevel.step")])
  func compiledTrainingLowersTheLossOnFixedViewsOfRealImages(_ mode: String, _ entry: String)
    throws
  {
    var config = Self.config(mode)
    config.limit = 2
    config.epochs = 20
    let images = try FashionMNIST.load(split: .train, limit: 2)
    let views = Augmenter(seed: 3).views(of: images, indices: [0, 1], step: 0)
    let trainer = try CompiledTrainer(
      config: config, program: try CompiledProgram.named(config.program, batch: 2),
      entry: entry, images: images, makeViews: { _, _ in views })
    try trainer.train(log: nil, checkpoint: nil)
    let losses = trainer.losses
    #expect(losses.count == 20)
    let first = losses.prefix(5).reduce(0, +) / 5
    let last = losses.suffix(5).reduce(0, +) / 5
    #expect(last < 0.9 * first, "\(losses)")
  }
}
