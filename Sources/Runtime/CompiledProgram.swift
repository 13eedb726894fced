import CKernelSupport
import GraphIR
import HeadwayKernels

#if canImport(Glibc)
  import Glibc
#endif

/// A program compiled at `swift build`, known only through the tables its C exports, at one
/// batch size: the compiled kernels are generic in it, and each entry's activation arena is
/// planned for it when the program is opened.
public struct CompiledProgram: @unchecked Sendable {
  let table: UnsafePointer<hw_program>
  public let name: String
  /// Images per step (training entries take 2x as many views).
  public let batch: Int
  public let variables: [CompiledVariable]
  public let entries: [CompiledEntry]
  /// Bytes of the state arena (parameters, statistics, optimizer slots).
  public let stateBytes: Int

  init(_ table: UnsafePointer<hw_program>, batch: Int) throws {
    self.table = table
    self.batch = batch
    let program = table.pointee
    name = String(cString: program.name)
    stateBytes = Int(program.state_bytes)
    variables = (0..<Int(program.num_variables)).map { CompiledVariable(program.variables[$0]) }
    entries = try (0..<Int(program.num_entries)).map {
      try CompiledEntry(program.entries + $0, batch: batch)
    }
  }

  /// The names of every compiled program.
  public static var names: [String] { tables.map { String(cString: $0.pointee.name) } }

  private static var tables: [UnsafePointer<hw_program>] {
    var count: Int32 = 0
    let tables = hw_programs(&count)
    return (0..<Int(count)).map { tables[$0] }
  }

  /// The compiled program `name` at `batch` images per step (any size from 1: the kernels are
  /// generic in it); the error lists the programs that exist.
  public static func named(_ name: String, batch: Int) throws -> CompiledProgram {
    guard let table = tables.first(where: { String(cString: $0.pointee.name) == name }) else {
      throw TrainingError(
        "no compiled program named '\(name)'; programs: \(names.joined(separator: ", "))")
    }
    guard batch >= 1 else {
      throw TrainingError("the batch size must be at least 1, got \(batch)")
    }
    let program = try CompiledProgram(table, batch: batch)
    let memory = Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
    if let largest = program.entries.max(by: { $0.arenaBytes < $1.arenaBytes }),
      memory > 0, largest.arenaBytes + program.stateBytes > memory
    {
      throw TrainingError(
        "program '\(name)' at batch size \(batch) needs \(largest.arenaBytes / 1_000_000) MB of "
          + "activations (entry '\(largest.name)') and \(program.stateBytes / 1_000_000) MB of "
          + "state, more than this machine's \(memory / 1_000_000) MB; use a smaller --batch")
    }
    return program
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

/// An entry point of a compiled program at the program's batch size.
public struct CompiledEntry: @unchecked Sendable {
  public let name: String
  public let inputs: [(name: String, type: TensorType)]
  /// Outputs and their byte offsets in the activation arena.
  public let outputs: [(name: String, type: TensorType, offset: Int)]
  public let arenaBytes: Int
  public let kernelCount: Int
  /// How many of the calls, the last ones, are the optimizer's (one per update rule); they run
  /// after the copies.
  public let optimizerCalls: Int
  /// The compiler's estimates for one call.
  public let flops: Int
  public let bytesMoved: Int
  /// The calls of the entry's loop (`bilevel.step`'s inner head step), which a run may repeat;
  /// nil when it has none.
  public let loopCalls: Range<Int>?
  /// One repetition's estimates.
  public let loopFlops: Int
  public let loopBytesMoved: Int
  /// The name of each kernel call, in execution order: `k012 <function>` (the function may
  /// serve other calls too).
  public let kernelNames: [String]
  /// The entry's table in the program's C (static: valid for the life of the process).
  let table: UnsafePointer<hw_entry>
  /// Where its buffers and scratch ranges lie in the arena at this batch size.
  let plan: ArenaPlan

  init(_ table: UnsafePointer<hw_entry>, batch: Int) throws {
    self.table = table
    let e = table.pointee
    name = String(cString: e.name)
    plan = try ArenaPlan(table, batch: batch)
    let n = Int64(batch)
    inputs = (0..<Int(e.num_inputs)).map {
      (String(cString: e.inputs[$0].name), tensorType(e.inputs[$0], n))
    }
    let offsets = plan.bufferOffsets
    outputs = (0..<Int(e.num_outputs)).map {
      let output = e.outputs[$0]
      return (String(cString: output.name), tensorType(output, n), offsets[Int(output.offset)])
    }
    arenaBytes = plan.arenaBytes
    kernelCount = Int(e.num_calls)
    optimizerCalls = Int(e.optimizer_calls)
    flops = estimate(e.flops, batch)
    bytesMoved = estimate(e.bytes_moved, batch)
    loopCalls = e.loop.end > e.loop.first ? Int(e.loop.first)..<Int(e.loop.end) : nil
    loopFlops = estimate(e.loop.flops, batch)
    loopBytesMoved = estimate(e.loop.bytes_moved, batch)
    kernelNames = (0..<Int(e.num_calls)).map { index in
      let call = e.calls![index]
      let number = String(repeating: "0", count: max(0, 3 - String(index).count)) + String(index)
      return "k\(number) " + String(cString: e.kernels![Int(call.kernel)].name)
    }
  }

  /// FLOPs and bytes moved of one call whose loop runs `times` times (nil: as compiled, once).
  public func estimates(loopRepeats times: Int?) -> (flops: Int, bytesMoved: Int) {
    guard let times, loopCalls != nil else { return (flops, bytesMoved) }
    return (flops + (times - 1) * loopFlops, bytesMoved + (times - 1) * loopBytesMoved)
  }

  /// Byte offset of each buffer of the entry's table in the activation arena.
  public var bufferOffsets: [Int] { plan.bufferOffsets }
  /// Each call's scratch range (offset and bytes; 0 bytes when it has none).
  public var scratchRanges: [(offset: Int, bytes: Int)] { plan.scratchRanges }
}

/// The run-time memory plan of one entry at one batch size (`hw_entry_plan`), owned by the
/// entry's values for the life of the process.
final class ArenaPlan: @unchecked Sendable {
  private(set) var plan: hw_plan
  private let buffers: Int
  private let calls: Int

  init(_ entry: UnsafePointer<hw_entry>, batch: Int) throws {
    buffers = Int(entry.pointee.num_buffers)
    calls = Int(entry.pointee.num_calls)
    plan = hw_plan(
      n: Int64(batch), arena_bytes: 0,
      offsets: UnsafeMutablePointer<Int64>.allocate(capacity: max(buffers, 1)),
      scratch_offsets: UnsafeMutablePointer<Int64>.allocate(capacity: max(calls, 1)),
      scratch_bytes: UnsafeMutablePointer<Int64>.allocate(capacity: max(calls, 1)))
    guard hw_entry_plan(entry, Int64(batch), &plan) == 0 else {
      throw TrainingError(
        "entry '\(String(cString: entry.pointee.name))' cannot be planned at batch size "
          + "\(batch): its sizes overflow")
    }
  }

  deinit {
    plan.offsets.deallocate()
    plan.scratch_offsets.deallocate()
    plan.scratch_bytes.deallocate()
  }

  var arenaBytes: Int { Int(plan.arena_bytes) }
  var bufferOffsets: [Int] { (0..<buffers).map { Int(plan.offsets[$0]) } }
  var scratchRanges: [(offset: Int, bytes: Int)] {
    (0..<calls).map { (Int(plan.scratch_offsets[$0]), Int(plan.scratch_bytes[$0])) }
  }
}

/// A cost polynomial at `n`, `Int.max` where it overflows (a batch far too large to run).
private func estimate(_ p: hw_poly, _ n: Int) -> Int {
  let terms = [Int(p.k0), Int(p.k1), Int(p.k2)]
  var total = 0
  var power = 1
  for (index, term) in terms.enumerated() {
    if index > 0 {
      let (next, overflow) = power.multipliedReportingOverflow(by: n)
      if overflow { return term == 0 ? total : .max }
      power = next
    }
    let (product, overflow) = term.multipliedReportingOverflow(by: power)
    let (sum, overflowSum) = total.addingReportingOverflow(product)
    if overflow || overflowSum { return .max }
    total = sum
  }
  return total
}

private func tensorType(_ t: hw_tensor, _ n: Int64 = 1) -> TensorType {
  let shape = (0..<Int(t.rank)).map { Int(hw_poly_at(t.shape[$0], n)) }
  return TensorType(t.dtype == HW_I32 ? .i32 : .f32, shape)
}
