import CKernelSupport
import Foundation
import GraphIR
import Runtime
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// A training step after the first allocates nothing and touches no new page: the memory plan's
/// arena, the state arena and the convolutions' workspace are all in place by then.
@Suite(.serialized) struct StepAllocationTests {
  /// Minor page faults of this process so far (a page touched for the first time, or given
  /// back and touched again).
  func minorFaults() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_minflt
  }

  func mallocBytes() -> Int { hw_malloc_held_bytes() }

  @Test(arguments: [Precision.fp32, .bf16])
  func stepsAfterTheFirstAllocateNothingAndFaultNoPage(precision: Precision) throws {
    if precision == .bf16 && hw_cpu_has_bf16() == 0 { return }
    let compiled = try CompiledProgram.named("fmnist-resnet-small", batch: 128)
    let entry = try compiled.entry(named: "joint.step")
    let session = CompiledSession(program: compiled, threads: 2, precision: precision)
    var random = SplitMix64(seed: 3)
    let scalars = TrainingConfig().scalarInputs(learningRate: 0.01)
    let inputs = entry.inputs.map { input -> UnsafeMutableRawPointer in
      let values: [Float] =
        input.type.shape.isEmpty
        ? [Float(scalars[input.name] ?? 0.01)]
        : (0..<input.type.elementCount).map { _ in random.unit() }
      let pointer = UnsafeMutableRawPointer.allocate(byteCount: 4 * values.count, alignment: 64)
      values.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
      return pointer
    }
    defer { inputs.forEach { $0.deallocate() } }
    let pointers = inputs.map { UnsafeRawPointer($0) }
    let (start, startBytes) = (minorFaults(), mallocBytes())
    // First use: the convolutions' choices and workspace (the counters can see it).
    for _ in 0..<2 { _ = session.run(entry, inputs: pointers) }
    let (faults, bytes) = (minorFaults(), mallocBytes())
    #expect(faults - start > 1000 && bytes > startBytes, "the first steps allocate and fault")
    for _ in 0..<3 { _ = session.run(entry, inputs: pointers) }
    let newFaults = minorFaults() - faults
    let newBytes = mallocBytes() - bytes
    // A step touches over 600 MB; a page or two of slack for the runtime's own bookkeeping.
    #expect(newFaults <= 8, "\(newFaults) page faults in 3 steps")
    #expect(newBytes <= 0, "malloc grew by \(newBytes) bytes in 3 steps")
  }
}
