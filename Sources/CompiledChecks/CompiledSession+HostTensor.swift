import GraphCompiler
import GraphIR
import GraphInterpreter
import Runtime

extension CompiledSession {
  /// Runs an entry point on named host tensors (converted to float32 / int32), returning its
  /// outputs as host tensors, with the entry's loop run `loopRepeats` times (nil: as
  /// compiled). For checks and tools; training uses `run(_:inputs:loopRepeats:)`.
  public func run(
    _ entry: CompiledEntry, inputs: [String: HostTensor], loopRepeats: Int? = nil
  ) throws -> [String: HostTensor] {
    for input in entry.inputs {
      guard let value = inputs[input.name], value.type == input.type else {
        throw TrainingError(
          "entry '\(entry.name)' needs input '\(input.name)' of type \(input.type)"
            + (inputs[input.name].map { ", got \($0.type)" } ?? ""))
      }
    }
    let buffers = rawBuffers(inputs)
    var raw: [String: UnsafePointer<Float>] = [:]
    withPointers(entry.inputs.map { buffers[$0.name]! }) {
      raw = run(entry, inputs: $0, loopRepeats: loopRepeats)
    }
    var outputs: [String: HostTensor] = [:]
    for output in entry.outputs {
      let values = UnsafeBufferPointer(start: raw[output.name]!, count: output.type.elementCount)
      outputs[output.name] = HostTensor(output.type, values.map(Double.init))
    }
    return outputs
  }
}

extension CompiledSession {
  /// The float32 value of stored node `id` of `plan`'s graph where the compiled code keeps it:
  /// its arena buffer, or the variable's place in the state arena when its kernel stores it
  /// there (`MemoryPlan.stateStores`).
  func readStored(_ id: NodeID, _ plan: PlannedEntry) -> [Float] {
    if let name = plan.memory.stateStores[id] { return read(name) }
    return readArena(at: plan.memory.offsets[id]!, count: plan.graph[id].type.elementCount)
  }

  /// Writes stored node `id`'s value where the compiled code reads it (see `readStored`).
  func writeStored(_ values: [Float], _ id: NodeID, _ plan: PlannedEntry) throws {
    if let name = plan.memory.stateStores[id] { return try write(values, to: name) }
    writeArena(values, at: plan.memory.offsets[id]!)
  }
}
