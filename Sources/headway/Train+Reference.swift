import ArgumentParser
import CompiledChecks
import Foundation
import GraphDSL
import GraphIR
import Graphs
import Runtime

extension Train {
  /// The interpreter writes no checkpoints, so the options that need one are refused.
  func checkReferenceOptions() throws {
    let refused = [
      resume ? "--resume" : nil, checkpointEvery != 0 ? "--checkpoint-every" : nil,
      stopAfter != nil ? "--stop-after" : nil, precision != .fp32 ? "--precision bf16" : nil,
    ].compactMap { $0 }
    guard refused.isEmpty else {
      throw ValidationError(
        "--engine reference trains on the float64 interpreter and writes no checkpoint, so "
          + "\(refused.joined(separator: ", ")) cannot be used with it; use --engine compiled")
    }
  }

  /// The same loop on the float64 interpreter (`--engine reference`): a few steps at tiny
  /// batch sizes, to compare with the compiled run.
  func trainWithInterpreter(
    _ config: TrainingConfig, images: LabeledImages, makeViews: ([Int], Int) -> [Float]
  ) throws {
    guard let definition = Programs.named(program) else { return }
    var trainer = try ReferenceTrainer(
      program: try definition.program(batch: batch), entry: stepEntry(),
      loopRepeats: TrainingMode(rawValue: mode)!.loopRepeats(innerSteps: innerSteps))
    let log = try TrainingLog(runDirectory: out, config: config)
    let stepsPerEpoch = images.count / batch
    guard stepsPerEpoch > 0 else {
      throw ValidationError("\(images.count) images are fewer than one batch of \(batch)")
    }
    let schedule = LearningRateSchedule(
      peak: lr, warmupSteps: Int(warmupEpochs * Double(stepsPerEpoch)),
      totalSteps: stepsPerEpoch * epochs)
    for step in 0..<(stepsPerEpoch * epochs) {
      let (epoch, position) = step.quotientAndRemainder(dividingBy: stepsPerEpoch)
      let order = shuffledOrder(images.count, seed: SplitMix64.seed(seed, UInt64(epoch)))
      let indices = Array(order[(position * batch)..<((position + 1) * batch)])
      let start = Date()
      let views = makeViews(indices, step)
      if TrainingMode(rawValue: mode)!.isBilevel && headInit == "reinit" {
        trainer.reinitialize(under: "head", round: step)
      }
      let outputs = try trainer.step(
        views: views, scalars: config.scalarInputs(learningRate: schedule.rate(at: step)),
        vectors: try referenceVectors(trainer, config))
      let seconds = Date().timeIntervalSince(start)
      log.step(
        StepRecord(
          epoch: epoch, epochs: epochs, step: position, stepsPerEpoch: stepsPerEpoch,
          globalStep: step, loss: outputs["loss"] ?? .nan, innerLoss: outputs["inner_loss"],
          learningRate: schedule.rate(at: step), imagesPerSecond: Double(batch) / seconds,
          eta: seconds * Double(stepsPerEpoch * epochs - step - 1)))
    }
  }
}

/// The subvector mask of a `none` entry, from the config (DirectCLR's `--subvector`).
func referenceVectors(_ trainer: ReferenceTrainer, _ config: TrainingConfig) throws -> [String:
  [Float]]
{
  guard let type = trainer.inputType(ProgramNames.subvectorMask) else { return [:] }
  return [ProgramNames.subvectorMask: try config.subvectorMask(width: type.elementCount)]
}
