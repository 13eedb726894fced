import ArgumentParser
import CKernelSupport
import Foundation
import GraphDSL
import GraphIR
import Graphs
import Runtime

/// `headway bench`: per-step time of a compiled training entry.
struct Bench: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Time training steps of a compiled program (augmentation timed separately).")

  @Option(help: "Program name, as `headwayc list` prints it.")
  var program = "fmnist-resnet-small"

  @Option(help: "joint | none | fixed | bilevel | bilevel-unrolled.")
  var mode = "joint"

  @Option(help: "Inner head steps K (bilevel: any K >= 1; bilevel-unrolled: a K it lists).")
  var innerSteps = 2

  @Option(help: "Images per step, any size (default: the largest size the program lists).")
  var batch: Int?

  @Option(help: "Timed steps, after the warm-up.")
  var steps = 10

  @Option(help: "Untimed warm-up steps.")
  var warmup = 2

  @Option(help: "OpenMP threads (0: the default, every core).")
  var threads = 0

  @Option(help: "fp32, or bf16 convolutions (bfloat16 operands, float32 accumulation).")
  var precision: Precision = .fp32

  @Flag(help: "Also time each kernel alone and list the slowest.")
  var kernels = false

  @Flag(help: "Print one JSON line (the fields tools/bench reads) instead of the report.")
  var json = false

  func run() throws {
    guard let trainingMode = TrainingMode(rawValue: mode) else {
      throw ValidationError("unknown mode '\(mode)'")
    }
    guard let definition = Programs.named(program) else {
      throw ValidationError("unknown program '\(program)'")
    }
    guard definition.ranks == 1 else {
      throw ValidationError(
        "\(program) is one rank's program of a \(definition.ranks)-rank run: time it with "
          + "mpirun -np \(definition.ranks) headway train --distributed (images/s per step)")
    }
    let size = batch ?? definition.batchSizes.max()!
    let compiled = try CompiledProgram.named(program, batch: size)
    let entry = try compiled.entry(
      named: trainingMode.checkedStepEntry(in: compiled, innerSteps: innerSteps))
    guard innerSteps >= 1 else { throw ValidationError("--inner-steps must be at least 1") }
    let repeats = trainingMode.loopRepeats(innerSteps: innerSteps)
    try precision.check()
    let session = CompiledSession(program: compiled, threads: threads, precision: precision)
    var random = SplitMix64(seed: 1)
    // The defaults of `headway train` (SGD, temperature 0.5) at a small learning rate.
    let scalars = TrainingConfig().scalarInputs(learningRate: 0.01)
    let inputs: [[Float]] = entry.inputs.map { input in
      input.type.shape.isEmpty
        ? [Float(scalars[input.name] ?? 0.01)]
        : (0..<input.type.elementCount).map { _ in random.unit() }
    }
    let pointers = inputs.map { values -> UnsafeMutableRawPointer in
      let pointer = UnsafeMutableRawPointer.allocate(byteCount: 4 * values.count, alignment: 64)
      values.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
      return pointer
    }
    defer { pointers.forEach { $0.deallocate() } }
    var times: [Double] = []
    times.reserveCapacity(steps)
    let raw = pointers.map { UnsafeRawPointer($0) }
    var memory = StepMemory()
    for step in 0..<(warmup + steps) {
      if step == warmup { memory.start() }
      let start = DispatchTime.now().uptimeNanoseconds
      _ = session.run(entry, inputs: raw, loopRepeats: repeats)
      let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
      if step >= warmup { times.append(seconds) }
    }
    memory.stop()
    if json {
      printJSON(entry, size: size, repeats: repeats, times: times.sorted(), memory: memory)
      return
    }
    report(
      entry, size: size, repeats: repeats, stateBytes: compiled.stateBytes, times: times.sorted())
    try reportAugmentation(size: size)
    if kernels {
      let calls = LibraryCalls.current()  // before the profile runs each kernel once more
      profile(entry, session, raw)
      listLibraryCalls(calls, stepsRun: warmup + steps, stepSeconds: times[times.count / 2])
    }
  }

  private func report(
    _ entry: CompiledEntry, size: Int, repeats: Int?, stateBytes: Int, times: [Double]
  ) {
    let median = times[times.count / 2]
    let flops = entry.estimates(loopRepeats: repeats).flops
    let k = repeats == nil ? "" : " K=\(innerSteps)"
    print(
      "\(program) \(entry.name)\(k) batch \(size) (\(2 * size) views), threads \(hw_threads()):")
    print("  machine: \(MachineInfo.current().summary)")
    print(
      String(
        format: "  step: median %.4f s, min %.4f s, max %.4f s over %d steps",
        median, times.first!, times.last!, times.count))
    print(
      String(
        format: "  %.1f images/s, %.1f GFLOP/s (%.2f GFLOP per step, compiler's count)",
        Double(size) / median, Double(flops) / median / 1e9, Double(flops) / 1e9))
    print(
      String(
        format: "  memory plan for batch %d: activation arena %.2f MB (%d buffers), state %.2f MB",
        size, Double(entry.arenaBytes) / 1e6, entry.bufferOffsets.count,
        Double(stateBytes) / 1e6))
    print(String(format: "  peak resident memory %.1f MB", peakResidentMegabytes()))
  }

  private func printJSON(
    _ entry: CompiledEntry, size: Int, repeats: Int?, times: [Double], memory: StepMemory
  ) {
    let median = times[times.count / 2]
    let flops = entry.estimates(loopRepeats: repeats).flops
    let fields: [(String, String)] = [
      ("peer", "\"headway\""), ("program", "\"\(program)\""), ("entry", "\"\(entry.name)\""),
      ("inner_steps", repeats == nil ? "null" : "\(innerSteps)"),
      ("batch", "\(size)"), ("threads", "\(hw_threads())"), ("steps", "\(times.count)"),
      ("median_s", "\(median)"), ("min_s", "\(times.first!)"), ("max_s", "\(times.last!)"),
      ("images_per_s", "\(Double(size) / median)"),
      ("gflop_per_step", "\(Double(flops) / 1e9)"),
      ("peak_rss_mb", "\(peakResidentMegabytes())"), ("arena_bytes", "\(entry.arenaBytes)"),
      ("machine", MachineInfo.current().json()),
      ("precision", "\"\(precision.rawValue)\""), ("conv_choices", convolutionChoicesJSON()),
      ("bf16_fallbacks", "\(hw_conv_bf16_fallbacks())"),
      ("timed_minor_faults", "\(memory.faults)"), ("timed_malloc_growth", "\(memory.growth)"),
    ]
    print("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
  }

  /// The algorithm each convolution shape and pass used, as a JSON array.
  private func convolutionChoicesJSON() -> String {
    let items = LibraryCalls.current().convolutions.map { choice in
      let s = choice.key.shape
      let shape = [s.n, s.c, s.h, s.w, s.o, s.kh, s.kw, s.oh, s.ow, s.stride, s.pad]
      let implementation = choice.onednnImplementation
      return "{\"pass\": \(choice.key.pass), \"shape\": \(shape), "
        + "\"layout\": \"\(choice.key.nhwc != 0 ? "nhwc" : "nchw")\", "
        + "\"algorithm\": \"\(choice.algorithmName)\", "
        + "\"implementation\": \"\(implementation ?? "im2col")\", "
        + "\"direct_calls\": \(choice.direct_calls), \"calls\": \(choice.calls)}"
    }
    return "[" + items.joined(separator: ", ") + "]"
  }

  /// Each kernel alone, on whatever the arena holds after the timed steps (the values are
  /// stale, the work is the same): the slowest ten with their share of the sum.
  private func profile(
    _ entry: CompiledEntry, _ session: CompiledSession, _ inputs: [UnsafeRawPointer]
  ) {
    var times: [(name: String, seconds: Double)] = []
    for index in 0..<entry.kernelCount {
      let start = DispatchTime.now().uptimeNanoseconds
      session.runKernel(entry, index, inputs: inputs)
      times.append(
        (entry.kernelNames[index], Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
    }
    let total = times.reduce(0) { $0 + $1.seconds }
    print(String(format: "  kernels alone: %.4f s in all; slowest:", total))
    for kernel in times.sorted(by: { $0.seconds > $1.seconds }).prefix(10) {
      print(
        String(
          format: "    %.4f s %4.1f%%  %@", kernel.seconds, 100 * kernel.seconds / total,
          kernel.name))
    }
  }

  private func reportAugmentation(size: Int) throws {
    guard program == "fmnist-resnet-small",
      let images = try? FashionMNIST.load(split: .test, limit: size)
    else { return }
    let augmenter = SimCLRAugmenter(seed: 0, viewShape: images.imageShape)
    let start = DispatchTime.now().uptimeNanoseconds
    _ = augmenter.views(of: images, indices: Array(0..<size), step: 0)
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    print(String(format: "  augmentation (two views of %d images): %.4f s", size, seconds))
  }
}

/// Page faults and malloc's growth over the timed steps (after the warm-up): both 0 when a step
/// allocates nothing, as the memory plan intends.
struct StepMemory {
  private var faults0 = 0
  private var bytes0 = 0
  var faults = 0
  var growth = 0

  mutating func start() {
    faults0 = minorFaults()
    bytes0 = hw_malloc_held_bytes()
  }

  mutating func stop() {
    faults = minorFaults() - faults0
    growth = hw_malloc_held_bytes() - bytes0
  }
}

/// Minor page faults of this process so far.
func minorFaults() -> Int {
  var usage = rusage()
  getrusage(RUSAGE_SELF.rawValue, &usage)
  return usage.ru_minflt
}

/// Peak resident set size of this process.
func peakResidentMegabytes() -> Double {
  var usage = rusage()
  getrusage(RUSAGE_SELF.rawValue, &usage)
  return Double(usage.ru_maxrss) / 1024
}
