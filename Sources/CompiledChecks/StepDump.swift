import Foundation
import GraphIR
import GraphInterpreter
import Runtime

/// One compiled training step written out for an independent implementation to redo:
/// `before.safetensors` holds every variable and the views (`input.views`), with the program,
/// the entry and the scalar inputs in its metadata; `after.safetensors` holds the compiled
/// step's `loss` and every variable after it. `tools/reference/torch_step.py` is the PyTorch
/// side.
public struct StepDump {
  public var seed: UInt64

  public init(seed: UInt64 = 11) { self.seed = seed }

  /// Runs `entry` of `program` once from random but plausible state (parameters from their
  /// initialisers; statistics and optimizer slots random with the right sign, so every update
  /// path is exercised) on random views, and writes both files into `directory`. With
  /// `interpreter` (the IR of the same program), `after` holds the float64 interpreter's step
  /// from the same state instead, rounded once to float32. The entry's loop runs `loopRepeats`
  /// times (nil: as compiled), written in the metadata as `loop_repeats`.
  public func write(
    _ program: CompiledProgram, entry name: String, scalars: [String: Double], to directory: String,
    interpreter: Program? = nil, loopRepeats: Int? = nil
  ) throws {
    let entry = try program.entry(named: name)
    var random = CheckData.random(seed: seed, entry: name)
    let session = CompiledSession(program: program, threads: 1)
    var before: [CheckpointTensor] = []
    for variable in program.variables {
      let values = Self.values(of: variable, &random)
      try session.write(values, to: variable.name)
      before.append(
        CheckpointTensor(name: variable.name, shape: variable.type.shape, values: values))
    }
    var inputs: [String: HostTensor] = [:]
    for input in entry.inputs {
      if input.type.shape.isEmpty {
        guard let value = scalars[input.name] else {
          throw TrainingError("entry '\(name)' needs a value for the scalar input '\(input.name)'")
        }
        inputs[input.name] = HostTensor(input.type, [value])
      } else {
        // The reference has no subvector: the mask keeps every dimension (plain `none`).
        let values =
          input.name == ProgramNames.subvectorMask
          ? [Double](repeating: 1, count: input.type.elementCount)
          : (0..<input.type.elementCount).map { _ in Double(Float(random.unit())) }
        inputs[input.name] = HostTensor(input.type, values)
        before.append(
          CheckpointTensor(
            name: "input.\(input.name)", shape: input.type.shape, values: values.map(Float.init)))
      }
    }
    var metadata = ["program": program.name, "entry": name]
    if entry.loopCalls != nil { metadata["loop_repeats"] = "\(loopRepeats ?? 1)" }
    for (key, value) in scalars where inputs[key] != nil { metadata[key] = "\(value)" }
    try SafeTensors.write(
      Checkpoint(tensors: before, metadata: metadata), to: directory + "/before.safetensors")
    var after: [CheckpointTensor]
    if let interpreter {
      after = try Self.interpreted(interpreter, name, loopRepeats, before, inputs)
    } else {
      let outputs = try session.run(entry, inputs: inputs, loopRepeats: loopRepeats)
      after = [
        CheckpointTensor(name: "loss", shape: [], values: outputs["loss"]!.scalars.map(Float.init))
      ]
      for variable in program.variables {
        after.append(
          CheckpointTensor(
            name: variable.name, shape: variable.type.shape, values: session.read(variable.name)))
      }
    }
    try SafeTensors.write(
      Checkpoint(tensors: after, metadata: metadata), to: directory + "/after.safetensors")
  }

  /// The step on the float64 interpreter from the state in `before` (scalars as the float32
  /// values the compiled code receives).
  static func interpreted(
    _ program: Program, _ entry: String, _ loopRepeats: Int?, _ before: [CheckpointTensor],
    _ inputs: [String: HostTensor]
  ) throws -> [CheckpointTensor] {
    var trainer = try ReferenceTrainer(program: program, entry: entry, loopRepeats: loopRepeats)
    for tensor in before where trainer.state[tensor.name] != nil {
      trainer.state[tensor.name] = HostTensor(
        trainer.state[tensor.name]!.type, tensor.values.map(Double.init))
    }
    var scalars: [String: Double] = [:]
    for (name, value) in inputs where value.type.shape.isEmpty {
      scalars[name] = Double(Float(value.scalars[0]))
    }
    let views = inputs["views"]!.scalars.map(Float.init)
    let outputs = try trainer.step(views: views, scalars: scalars)
    return [CheckpointTensor(name: "loss", shape: [], values: [Float(outputs["loss"]!)])]
      + before.filter { trainer.state[$0.name] != nil }.map { tensor in
        CheckpointTensor(
          name: tensor.name, shape: tensor.shape,
          values: trainer.state[tensor.name]!.scalars.map(Float.init))
      }
  }

  static func values(of variable: CompiledVariable, _ random: inout SplitMix64) -> [Float] {
    let count = variable.type.elementCount
    if variable.role == .parameter {
      return variable.initializer.values(count: count).map(Float.init)
    }
    let positive = ["running_var", "adam_v", "adam_step"].contains { variable.name.hasSuffix($0) }
    return (0..<count).map { _ in
      let r = Double(random.uniform(-1...1))
      return Float(positive ? 1 + abs(r) : 0.1 * r)
    }
  }
}
