import Foundation

extension CompiledTrainer {
  /// Every variable (parameters, statistics, optimizer slots) plus the step and the config.
  public func checkpoint() -> Checkpoint {
    let tensors = session.program.variables.map { variable in
      CheckpointTensor(
        name: variable.name, shape: variable.type.shape, values: session.read(variable.name))
    }
    return Checkpoint(
      tensors: tensors + (monitor?.tensors() ?? []),
      metadata: [
        "format": "headway-checkpoint-1", "program": session.program.name,
        "batch": String(session.program.batch), "step": String(completedSteps),
        "config": config.json(),
      ])
  }

  /// Restores every variable and the step from a checkpoint of the same run.
  public func resume(from path: String) throws {
    let checkpoint = try SafeTensors.read(path: path)
    guard checkpoint.metadata["format"] == "headway-checkpoint-1",
      let stepText = checkpoint.metadata["step"], let step = Int(stepText),
      let configText = checkpoint.metadata["config"],
      let saved = try? JSONDecoder().decode(TrainingConfig.self, from: Data(configText.utf8))
    else {
      throw TrainingError(
        "\(path): not a Headway checkpoint (metadata needs format, step and config)")
    }
    if let mismatch = config.resumeMismatch(saved) {
      throw TrainingError(
        "\(path) belongs to a different run: \(mismatch) differ; resume with the same options")
    }
    try session.restore(from: checkpoint, path: path)
    try monitor?.restore(from: checkpoint.tensors, path: path)
    guard step <= totalSteps else {
      throw TrainingError("\(path) is at step \(step), past this run's \(totalSteps) steps")
    }
    setCompletedSteps(step)
  }
}

extension CompiledSession {
  /// Overwrites every variable with the checkpoint's tensor of the same name and shape; a
  /// checkpoint with a tensor the program does not have is refused too (the online probe's,
  /// under `OnlineProbe.prefix`, are the trainer's and are skipped here).
  public func restore(from checkpoint: Checkpoint, path: String) throws {
    let byName = Dictionary(checkpoint.tensors.map { ($0.name, $0) }) { a, _ in a }
    let names = Set(program.variables.map(\.name))
    if let stranger = checkpoint.tensors.first(where: {
      !names.contains($0.name) && !$0.name.hasPrefix(OnlineProbe.prefix)
    }) {
      throw TrainingError(
        "\(path): tensor '\(stranger.name)' is not a variable of program '\(program.name)'")
    }
    for variable in program.variables {
      guard let tensor = byName[variable.name] else {
        throw TrainingError("\(path): no tensor '\(variable.name)'")
      }
      guard tensor.shape == variable.type.shape else {
        throw TrainingError(
          "\(path): '\(variable.name)' has shape \(tensor.shape), the program expects "
            + "\(variable.type.shape)")
      }
      try write(tensor.values, to: variable.name)
    }
  }
}

/// A run directory's checkpoint and the config it was trained with.
public struct TrainedRun {
  public let checkpoint: Checkpoint
  public let config: TrainingConfig
  public let path: String

  /// Reads `RUNDIR/checkpoint.safetensors`.
  public init(directory: String) throws {
    path = directory + "/checkpoint.safetensors"
    checkpoint = try SafeTensors.read(path: path)
    guard let text = checkpoint.metadata["config"],
      let config = try? JSONDecoder().decode(TrainingConfig.self, from: Data(text.utf8))
    else { throw TrainingError("\(path): not a Headway checkpoint (no config in its metadata)") }
    self.config = config
  }
}
