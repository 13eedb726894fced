import GraphIR
import GraphInterpreter
import Runtime

extension CompiledSession {
  /// Runs an entry point on named host tensors (converted to float32 / int32), returning its
  /// outputs as host tensors. For checks and tools; training uses `run(_:inputs:)`.
  public func run(_ entry: CompiledEntry, inputs: [String: HostTensor]) throws -> [String:
    HostTensor]
  {
    var buffers: [UnsafeMutableRawPointer] = []
    defer { buffers.forEach { $0.deallocate() } }
    for input in entry.inputs {
      guard let value = inputs[input.name], value.type == input.type else {
        throw TrainingError(
          "entry '\(entry.name)' needs input '\(input.name)' of type \(input.type)"
            + (inputs[input.name].map { ", got \($0.type)" } ?? ""))
      }
      let buffer = UnsafeMutableRawPointer.allocate(
        byteCount: max(4 * value.scalars.count, 4), alignment: 64)
      for (i, x) in value.scalars.enumerated() {
        if input.type.dtype == .f32 {
          buffer.storeBytes(of: Float(x), toByteOffset: 4 * i, as: Float.self)
        } else {
          buffer.storeBytes(of: Int32(x), toByteOffset: 4 * i, as: Int32.self)
        }
      }
      buffers.append(buffer)
    }
    let raw = run(entry, inputs: buffers.map { UnsafeRawPointer($0) })
    var outputs: [String: HostTensor] = [:]
    for output in entry.outputs {
      let values = UnsafeBufferPointer(start: raw[output.name]!, count: output.type.elementCount)
      outputs[output.name] = HostTensor(output.type, values.map(Double.init))
    }
    return outputs
  }
}
