import CKernelSupport
import GraphIR
import HeadwayKernels

/// A program compiled at `swift build`, known only through the tables its C exports.
public struct CompiledProgram: @unchecked Sendable {
  let table: UnsafePointer<hw_program>
  public let name: String
  public let batch: Int
  public let variables: [CompiledVariable]
  public let entries: [CompiledEntry]
  /// Bytes of the state arena (parameters, statistics, optimizer slots).
  public let stateBytes: Int

  init(_ table: UnsafePointer<hw_program>) {
    self.table = table
    let program = table.pointee
    name = String(cString: program.name)
    batch = Int(program.batch)
    stateBytes = Int(program.state_bytes)
    variables = (0..<Int(program.num_variables)).map { CompiledVariable(program.variables[$0]) }
    entries = (0..<Int(program.num_entries)).map { CompiledEntry(program.entries + $0) }
  }

  /// Every compiled program (each program at each batch size it lists).
  public static var all: [CompiledProgram] {
    var count: Int32 = 0
    let tables = hw_programs(&count)
    return (0..<Int(count)).map { CompiledProgram(tables[$0]) }
  }

  /// The compiled program `name` at `batch`; the error lists what exists.
  public static func named(_ name: String, batch: Int) throws -> CompiledProgram {
    let candidates = all.filter { $0.name == name }
    guard let found = candidates.first(where: { $0.batch == batch }) else {
      let sizes = candidates.map { String($0.batch) }.joined(separator: ", ")
      throw TrainingError(
        candidates.isEmpty
          ? "no compiled program named '\(name)'"
          : "program '\(name)' is compiled for batch sizes \(sizes), not \(batch); "
            + "add \(batch) to its batchSizes in graphs/ and rebuild")
    }
    return found
  }

  public func entry(named name: String) throws -> CompiledEntry {
    guard let entry = entries.first(where: { $0.name == name }) else {
      let names = entries.map(\.name).joined(separator: ", ")
      throw TrainingError("program '\(self.name)' has no entry '\(name)'; entries: \(names)")
    }
    return entry
  }
}

/// A variable of a compiled program: where it lives and how it starts.
public struct CompiledVariable: Sendable {
  public let name: String
  public let type: TensorType
  public let role: VariableRole
  /// Byte offset in the state arena.
  public let offset: Int
  public let initializer: Initializer

  init(_ v: hw_variable) {
    name = String(cString: v.tensor.name)
    type = tensorType(v.tensor)
    offset = Int(v.tensor.offset)
    role = [.parameter, .state, .slot][Int(v.role.rawValue)]
    switch v.`init` {
    case HW_INIT_CONSTANT: initializer = .constant(v.init_value)
    case HW_INIT_NORMAL: initializer = .normal(std: v.init_value, seed: v.init_seed)
    case HW_INIT_UNIFORM: initializer = .uniform(bound: v.init_value, seed: v.init_seed)
    default: initializer = .zeros
    }
  }
}

/// An entry point of a compiled program.
public struct CompiledEntry: @unchecked Sendable {
  public let name: String
  public let inputs: [(name: String, type: TensorType)]
  /// Outputs and their byte offsets in the activation arena.
  public let outputs: [(name: String, type: TensorType, offset: Int)]
  public let arenaBytes: Int
  public let kernelCount: Int
  /// The compiler's estimates for one call.
  public let flops: Int
  public let bytesMoved: Int
  /// The name of each kernel call, in execution order: `k012 <function>` (the function may
  /// serve other calls too).
  public let kernelNames: [String]
  /// The entry's table in the program's C (static: valid for the life of the process).
  let table: UnsafePointer<hw_entry>

  init(_ table: UnsafePointer<hw_entry>) {
    self.table = table
    let e = table.pointee
    name = String(cString: e.name)
    inputs = (0..<Int(e.num_inputs)).map {
      (String(cString: e.inputs[$0].name), tensorType(e.inputs[$0]))
    }
    outputs = (0..<Int(e.num_outputs)).map {
      (String(cString: e.outputs[$0].name), tensorType(e.outputs[$0]), Int(e.outputs[$0].offset))
    }
    arenaBytes = Int(e.arena_bytes)
    kernelCount = Int(e.num_calls)
    flops = Int(e.flops)
    bytesMoved = Int(e.bytes_moved)
    kernelNames = (0..<Int(e.num_calls)).map { index in
      let call = e.calls![index]
      let number = String(repeating: "0", count: max(0, 3 - String(index).count)) + String(index)
      return "k\(number) " + String(cString: e.kernels![Int(call.kernel)].name)
    }
  }
}

private func tensorType(_ t: hw_tensor) -> TensorType {
  let shape = (0..<Int(t.rank)).map { Int(t.shape[$0]) }
  return TensorType(t.dtype == HW_I32 ? .i32 : .f32, shape)
}
