import CKernelSupport
import Foundation
import GraphIR
import Testing

/// oneDNN's Winograd convolution as a channels-last candidate: its results against the float64
/// reference, and the `direct` choice that never runs it. Part of the serialized kernel suite.
extension KernelTests {
  /// oneDNN's Winograd F(4x4, 3x3) on shapes it takes (3x3, stride 1, channels a multiple of 16;
  /// AVX-512): every pass against the float64 reference. Its transforms round more than a direct
  /// convolution (about 3e-6 of the largest output against 5e-7, measured on R1's and R2's
  /// shapes), well inside the tolerance every other candidate meets. In bf16 it runs on copies
  /// of the inputs rounded to bfloat16: the reference takes rounded operands, and the forward
  /// result is visibly not float32's.
  @Test(arguments: [Int32(0), 1])
  func winogradConvolutionMatchesTheReference(bf16: Int32) {
    guard hw_cpu_has_avx512() != 0, bf16 == 0 || hw_cpu_has_bf16() != 0 else { return }
    hw_set_threads(2)
    hw_set_conv_precision(bf16)
    hw_conv_set_algorithm(HW_CONV_ONEDNN_WINOGRAD)
    defer {
      hw_conv_set_algorithm(HW_CONV_AUTO)
      hw_set_conv_precision(0)
    }
    var rng = SplitMix64(seed: 31)
    func rounded(_ values: [Float]) -> [Float] {
      bf16 == 0 ? values : values.map { Float(roundedToBFloat16(Double($0))) }
    }
    let shapes = [
      Self.conv(n: 3, c: 16, h: 10, w: 9, o: 32, k: 3, stride: 1, pad: 1),
      Self.conv(n: 2, c: 32, h: 7, w: 7, o: 16, k: 3, stride: 1, pad: 1),
      Self.conv(n: 2, c: 64, h: 4, w: 4, o: 48, k: 3, stride: 1, pad: 1),
    ]
    for s in shapes {
      for pass in [HW_CONV_FORWARD, HW_CONV_INPUT_GRAD, HW_CONV_FILTER_GRAD] {
        var key = hw_conv_key()
        (key.shape, key.pass, key.threads, key.nhwc, key.bf16) =
          (s, Int32(pass.rawValue), 2, 1, bf16)
        let name = String(cString: hw_onednn_implementation(&key, HW_CONV_ONEDNN_WINOGRAD))
        #expect(name.contains("wino"), "\(s) pass \(pass.rawValue): \(name)")
        #expect(name.contains("bf16-rounded") == (bf16 == 1), "\(name)")
      }
      let label = Comment(rawValue: "\(s) nhwc winograd bf16=\(bf16)")
      let run = ConvolutionRun(s, &rng, nhwc: true)
      let (x, w, dy) = (rounded(run.x), rounded(run.w), rounded(run.dy))
      let tolerance = 1e-5
      expectClose(run.y, referenceConvForward(s, x: x, w: w), tolerance: tolerance, label)
      expectClose(run.dx, referenceConvInputGrad(s, dy: dy, w: w), tolerance: tolerance, label)
      expectClose(run.dw, referenceConvFilterGrad(s, x: x, dy: dy), tolerance: tolerance, label)
      if bf16 == 1 {
        let exact = referenceConvForward(s, x: run.x, w: run.w)
        let scale = exact.map(abs).max()!
        #expect(zip(run.y, exact).map { abs(Double($0) - $1) }.max()! / scale > 1e-4, label)
      }
    }
  }

  /// A channels-last 3x3 stride-1 choice times all three candidates; `HW_CONV_DIRECT` then runs
  /// the faster direct one (bitwise the same as forcing it), never Winograd.
  @Test func directChoiceNeverRunsWinograd() throws {
    guard hw_cpu_has_avx512() != 0 else { return }
    hw_set_threads(2)
    hw_set_conv_precision(0)
    defer { hw_conv_set_algorithm(HW_CONV_AUTO) }
    // A shape no other test uses.
    let s = Self.conv(n: 5, c: 32, h: 9, w: 9, o: 16, k: 3, stride: 1, pad: 1)
    let forward = Self.channelsLastForward(s, seed: 37)
    _ = forward(HW_CONV_AUTO)
    let direct = forward(HW_CONV_DIRECT)
    let (asIs, blocked) = (forward(HW_CONV_ONEDNN), forward(HW_CONV_ONEDNN_BLOCKED))
    #expect(bitwiseEqual(direct, asIs) || bitwiseEqual(direct, blocked))
    #expect(!bitwiseEqual(forward(HW_CONV_ONEDNN_WINOGRAD), direct), "Winograd rounds otherwise")
    var choices: [hw_conv_choice] = []
    for index in 0..<hw_conv_choice_count() {
      var choice = hw_conv_choice()
      if hw_conv_choice_at(index, &choice) != 0 { choices.append(choice) }
    }
    let mine = try #require(choices.first { $0.key.shape == s && $0.key.nhwc == 1 })
    if mine.from_cache == 0 {
      for time in [mine.onednn_ms, mine.blocked_ms, mine.winograd_ms] {
        #expect(time > 0 && time.isFinite)
      }
      #expect(mine.im2col_ms < 0, "not a candidate for NHWC")
    }
  }

  /// A Winograd choice whose blocked copies and scratchpad do not fit the call's spare memory
  /// runs in the thread's workspace when they fit the budget (bitwise Winograd's result), and
  /// otherwise runs the fastest direct candidate, counted in `direct_calls`. The choice is a
  /// line put in the cache before the shape's first call, so no timing decides it.
  @Test func winogradOutsideTheSpareRangeRunsWithinTheWorkspaceBudget() throws {
    guard hw_cpu_has_avx512() != 0 else { return }
    hw_set_threads(2)
    hw_set_conv_precision(0)
    let budget = hw_conv_workspace_budget()
    defer {
      hw_conv_set_algorithm(HW_CONV_AUTO)
      hw_conv_set_workspace_budget(budget)
    }
    // A shape no other test uses; as-is oneDNN (2 ms) is the faster direct candidate.
    let s = Self.conv(n: 4, c: 32, h: 11, w: 11, o: 32, k: 3, stride: 1, pad: 1)
    let line =
      "\(String(cString: hw_conv_machine_key()))\t0\t0\t1\t2\t4 32 11 11 32 3 3 11 11 1 1"
      + "\tonednn-winograd\t-1\t2\t3\t1\n"
    let path = String(cString: hw_conv_cache_path())
    try FileManager.default.createDirectory(
      atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    if !FileManager.default.fileExists(atPath: path) {
      FileManager.default.createFile(atPath: path, contents: nil)
    }
    let cache = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    try cache.seekToEnd()
    try cache.write(contentsOf: Data(line.utf8))
    try cache.close()
    let forward = Self.channelsLastForward(s, seed: 41)
    func directCalls() -> Int {
      for index in 0..<hw_conv_choice_count() {
        var choice = hw_conv_choice()
        if hw_conv_choice_at(index, &choice) != 0, choice.key.shape == s, choice.key.nhwc == 1 {
          #expect(choice.algorithm == Int32(HW_CONV_ONEDNN_WINOGRAD.rawValue))
          return choice.direct_calls
        }
      }
      return -1
    }
    hw_conv_set_workspace_budget(0)
    let outside = forward(HW_CONV_AUTO)
    #expect(bitwiseEqual(outside, forward(HW_CONV_ONEDNN)))
    #expect(directCalls() == 1)
    hw_conv_set_workspace_budget(256 << 20)
    let within = forward(HW_CONV_AUTO)
    #expect(bitwiseEqual(within, forward(HW_CONV_ONEDNN_WINOGRAD)))
    #expect(!bitwiseEqual(within, outside), "Winograd rounds otherwise")
    #expect(directCalls() == 1)
  }

  /// The forward pass of `shape` on seeded random channels-last data, under the algorithm the
  /// returned function is given (no spare memory).
  static func channelsLastForward(_ shape: hw_conv_shape, seed: UInt64)
    -> (hw_conv_algorithm) -> [Float]
  {
    var rng = SplitMix64(seed: seed)
    let x = rng.array(Int(shape.n * shape.h * shape.w * shape.c))
    let w = rng.array(Int(shape.o * shape.c * shape.kh * shape.kw))
    return { algorithm in
      hw_conv_set_algorithm(algorithm)
      var s = shape
      var y = [Float](repeating: .nan, count: Int(s.n * s.oh * s.ow * s.o))
      hw_conv2d_forward_nhwc(&s, x, w, &y, nil, 0)
      return y
    }
  }

  /// The spare memory a kernel passes (the arena's free range) holds oneDNN's blocked copies and
  /// scratchpad when they fit, and changes nothing in the results: every candidate, every pass,
  /// with a spare large enough, one far too small, and none.
  @Test(arguments: [HW_CONV_ONEDNN, HW_CONV_ONEDNN_BLOCKED, HW_CONV_ONEDNN_WINOGRAD])
  func spareMemoryChangesNoResult(algorithm: hw_conv_algorithm) {
    hw_set_threads(2)
    hw_set_conv_precision(0)
    hw_conv_set_algorithm(algorithm)
    defer { hw_conv_set_algorithm(HW_CONV_AUTO) }
    var s = Self.conv(n: 3, c: 16, h: 10, w: 9, o: 32, k: 3, stride: 1, pad: 1)
    var rng = SplitMix64(seed: 41)
    let x = rng.array(Int(s.n * s.h * s.w * s.c))
    let w = rng.array(Int(s.o * s.c * s.kh * s.kw))
    let dy = rng.array(Int(s.n * s.oh * s.ow * s.o))
    func passes(spare bytes: Int?) -> [[Float]] {
      var spare = [UInt8](repeating: 0xff, count: bytes ?? 0)
      let size = bytes ?? 0
      var y = [Float](repeating: .nan, count: dy.count)
      var dx = [Float](repeating: .nan, count: x.count)
      var dw = [Float](repeating: .nan, count: w.count)
      spare.withUnsafeMutableBytes { raw in
        let pointer = bytes == nil ? nil : raw.baseAddress
        hw_conv2d_forward_nhwc(&s, x, w, &y, pointer, size)
        hw_conv2d_input_grad_nhwc(&s, dy, w, &dx, pointer, size)
        hw_conv2d_filter_grad_nhwc(&s, x, dy, &dw, pointer, size)
      }
      return [y, dx, dw]
    }
    let alone = passes(spare: nil)
    for bytes in [64 << 20, 64] {
      for (a, b) in zip(passes(spare: bytes), alone) {
        #expect(bitwiseEqual(a, b), "\(algorithm) spare \(bytes)")
      }
    }
  }
}
