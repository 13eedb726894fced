import CKernelSupport
import GraphIR

#if canImport(Glibc)
  import Glibc
#endif

/// The memory of one compiled program: its state arena (every variable) and one activation
/// arena shared by its entry points, both allocated once; calls allocate nothing.
public final class CompiledSession {
  public let program: CompiledProgram
  let state: UnsafeMutableRawPointer
  let arena: UnsafeMutableRawPointer
  let arenaBytes: Int
  /// The convolutions' arithmetic, set on the calling thread at every run.
  public let precision: Precision

  /// Allocates the arenas and initialises every variable from its initialiser (in C, bit for
  /// bit as `Initializer.values`). Check `precision` first (`Precision.check`).
  public init(program: CompiledProgram, threads: Int = 0, precision: Precision = .fp32) {
    hw_set_threads(Int32(threads))
    self.program = program
    self.precision = precision
    state = UnsafeMutableRawPointer.allocate(byteCount: max(program.stateBytes, 64), alignment: 64)
    arenaBytes = max(program.entries.map(\.arenaBytes).max() ?? 0, 64)
    arena = UnsafeMutableRawPointer.allocate(byteCount: arenaBytes, alignment: 64)
    state.initializeMemory(as: UInt8.self, repeating: 0, count: max(program.stateBytes, 64))
    arena.initializeMemory(as: UInt8.self, repeating: 0, count: arenaBytes)
    hw_initialize_state(program.table, state.assumingMemoryBound(to: Float.self))
  }

  deinit {
    state.deallocate()
    arena.deallocate()
  }

  /// The value of a variable.
  public func read(_ name: String) -> [Float] {
    guard let variable = program.variables.first(where: { $0.name == name }) else { return [] }
    let pointer = (state + variable.offset).assumingMemoryBound(to: Float.self)
    return Array(UnsafeBufferPointer(start: pointer, count: variable.type.elementCount))
  }

  /// Overwrites a variable (its element count must match).
  public func write(_ values: [Float], to name: String) throws {
    guard let variable = program.variables.first(where: { $0.name == name }) else {
      throw TrainingError("program '\(program.name)' has no variable '\(name)'")
    }
    guard values.count == variable.type.elementCount else {
      throw TrainingError(
        "variable '\(name)' has \(variable.type.elementCount) elements, got \(values.count)")
    }
    write(values, to: variable)
  }

  private func write(_ values: [Float], to variable: CompiledVariable) {
    values.withUnsafeBytes { bytes in
      (state + variable.offset).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
    }
  }

  /// Runs an entry point on raw input buffers (in the entry's input order), with its loop run
  /// `loopRepeats` times (nil: as compiled; see `CompiledEntry.loopCalls`), returning pointers
  /// to its outputs in the arena (valid until the next call).
  public func run(
    _ entry: CompiledEntry, inputs: [UnsafeRawPointer], loopRepeats: Int? = nil
  ) -> [String: UnsafePointer<Float>] {
    precondition(
      inputs.count == entry.inputs.count, "entry '\(entry.name)' takes \(entry.inputs.count) inputs"
    )
    let placeholder = UnsafeRawPointer(arena)  // never read: an entry with no inputs
    let pointers = inputs.isEmpty ? [placeholder] : inputs
    let restore = precision.apply()
    defer { restore() }
    pointers.withUnsafeBufferPointer { buffer in
      withUnsafePointer(to: entry.plan.plan) { plan in
        hw_entry_run_repeating(
          entry.table, plan, Int64(loopRepeats ?? 1), state.assumingMemoryBound(to: Float.self),
          arena.assumingMemoryBound(to: CChar.self), buffer.baseAddress!)
      }
    }
    var outputs: [String: UnsafePointer<Float>] = [:]
    for output in entry.outputs {
      outputs[output.name] = UnsafePointer(
        (arena + output.offset).assumingMemoryBound(to: Float.self))
    }
    return outputs
  }
}

extension CompiledSession {
  /// Copies values into the activation arena at a byte offset (kernel checks).
  public func writeArena(_ values: [Float], at offset: Int) {
    precondition(offset + 4 * values.count <= arenaBytes, "write past the arena")
    values.withUnsafeBytes {
      (arena + offset).copyMemory(from: $0.baseAddress!, byteCount: $0.count)
    }
  }

  /// Reads `count` floats from the activation arena at a byte offset.
  public func readArena(at offset: Int, count: Int) -> [Float] {
    precondition(offset + 4 * count <= arenaBytes, "read past the arena")
    let pointer = (arena + offset).assumingMemoryBound(to: Float.self)
    return Array(UnsafeBufferPointer(start: pointer, count: count))
  }

  /// Runs kernel `index` of `entry` alone on what is already in the arenas.
  public func runKernel(_ entry: CompiledEntry, _ index: Int, inputs: [UnsafeRawPointer]) {
    let pointers = inputs.isEmpty ? [UnsafeRawPointer(arena)] : inputs
    let restore = precision.apply()
    defer { restore() }
    pointers.withUnsafeBufferPointer { buffer in
      withUnsafePointer(to: entry.plan.plan) { plan in
        hw_entry_run_kernel(
          entry.table, plan, Int32(index), state.assumingMemoryBound(to: Float.self),
          arena.assumingMemoryBound(to: CChar.self), buffer.baseAddress!)
      }
    }
  }
}

/// The OpenMP team size compiled kernels use.
public func hw_threads() -> Int { Int(hw_max_threads()) }
