import CompiledChecks
import Foundation
import GraphDSL
import Graphs
import Runtime
import Testing

/// R1 at reduced batch (4 images, 8 views) trained by the reference interpreter on real
/// Fashion-MNIST images. The views are drawn once, so the loss is a fixed function of the
/// parameters and must fall as they are optimised.
@Suite(.enabled(if: FileManager.default.fileExists(atPath: FashionMNIST.defaultDirectory)))
struct ReferenceTrainingTests {
  static let batch = 2
  static let steps = 20
  static let scalars = [
    "lr": 0.05, "inner_lr": 0.05, "inner_momentum": 0, "temperature": 0.5, "optimizer": 0,
    "momentum": 0.9, "weight_decay": 5e-4,
  ]

  func losses(mode: TrainingMode, innerSteps: Int = 0) throws -> [Double] {
    let images = try FashionMNIST.load(split: .train, limit: Self.batch)
    let views = Augmenter(seed: 11).views(of: images, indices: Array(0..<Self.batch), step: 0)
    let program = try Programs.named("fmnist-resnet-small")!.program(batch: Self.batch)
    var trainer = try ReferenceTrainer(
      program: program, entry: mode.stepEntry(innerSteps: innerSteps))
    return try (0..<Self.steps).map { _ in
      try trainer.step(views: views, scalars: Self.scalars)["loss"]!
    }
  }

  func expectDecrease(_ losses: [Double], sourceLocation: SourceLocation = #_sourceLocation) {
    let first = losses.prefix(5).reduce(0, +) / 5
    let last = losses.suffix(5).reduce(0, +) / 5
    #expect(losses.allSatisfy { $0.isFinite }, sourceLocation: sourceLocation)
    #expect(last < 0.9 * first, "losses: \(losses)", sourceLocation: sourceLocation)
  }

  @Test func jointTrainingOfR1LowersTheLossOnRealImages() throws {
    expectDecrease(try losses(mode: .joint))
  }

  @Test func bilevelTrainingOfR1WithTwoInnerStepsLowersTheLossOnRealImages() throws {
    expectDecrease(try losses(mode: .bilevel, innerSteps: 2))
  }
}
