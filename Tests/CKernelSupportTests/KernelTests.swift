import CKernelSupport
import GraphIR
import Testing

/// Kernels share one OpenMP runtime and two cores: run the tests one at a time. Every test sets
/// its team size on its own thread first (OpenMP's team size is per calling thread).
@Suite(.serialized)
struct KernelTests {
  // MARK: Threads

  @Test func openMPRunsTwoThreads() {
    hw_set_threads(2)
    #expect(hw_max_threads() == 2)
    #expect(hw_parallel_team_size() == 2)
    hw_set_threads(1)
    #expect(hw_parallel_team_size() == 1)
    hw_set_threads(2)
  }

  // MARK: Matmul

  static let matmulShapes: [(m: Int, n: Int, k: Int)] = [
    (300, 200, 100),  // parallel, split over rows
    (40, 700, 64),  // parallel, split over columns
    (3, 500, 90),  // m small
    (500, 2, 90),  // n small
    (257, 129, 1),  // k = 1
    (7, 5, 3),  // tiny: a single sgemm
  ]

  @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
  func matmul(transposeA: Bool, transposeB: Bool) {
    var rng = SplitMix64(seed: 7)
    for (m, n, k) in Self.matmulShapes {
      let a = rng.array(m * k)
      let b = rng.array(k * n)
      let want = referenceMatmul(
        m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, a, b)
      for threads in [1, 2] {
        hw_set_threads(Int32(threads))
        var c = [Float](repeating: .nan, count: m * n)
        hw_matmul(
          Int32(m), Int32(n), Int32(k), transposeA ? 1 : 0, transposeB ? 1 : 0, a, b, &c)
        expectClose(c, want, "m=\(m) n=\(n) k=\(k) threads=\(threads)")
      }
    }
    hw_set_threads(2)
  }

  // MARK: Convolution

  /// Shapes covering stride 1/2/3, padding 0/1/2, 1x1, 3x3, 5x5 and 3x1 kernels, batches above
  /// the chunk size (18 > HW_CONV_CHUNK) and below the team size (1 image).
  static let convShapes: [hw_conv_shape] = [
    conv(n: 18, c: 3, h: 10, w: 9, o: 5, k: 3, stride: 1, pad: 1),
    conv(n: 18, c: 4, h: 9, w: 11, o: 6, k: 3, stride: 2, pad: 1),
    conv(n: 18, c: 2, h: 8, w: 8, o: 24, k: 3, stride: 1, pad: 1),  // o > c*kh*kw
    conv(n: 5, c: 4, h: 8, w: 8, o: 3, k: 3, stride: 1, pad: 0),
    conv(n: 18, c: 5, h: 7, w: 6, o: 7, k: 1, stride: 1, pad: 0),  // pointwise fast path
    conv(n: 3, c: 6, h: 8, w: 7, o: 4, k: 1, stride: 2, pad: 0),
    conv(n: 2, c: 3, h: 5, w: 5, o: 4, k: 1, stride: 1, pad: 1),
    conv(n: 1, c: 4, h: 9, w: 9, o: 5, k: 3, stride: 2, pad: 1),  // fewer images than threads
    conv(n: 1, c: 6, h: 6, w: 6, o: 3, k: 1, stride: 1, pad: 0),
    conv(n: 4, c: 3, h: 10, w: 11, o: 4, k: 3, stride: 3, pad: 1),  // generic stride
    conv(n: 3, c: 2, h: 6, w: 7, o: 3, k: 5, stride: 1, pad: 2),
    conv(n: 3, c: 2, h: 2, w: 2, o: 3, k: 5, stride: 1, pad: 2),  // taps entirely in padding
    hw_conv_shape(n: 4, c: 3, h: 7, w: 9, o: 5, kh: 3, kw: 1, oh: 7, ow: 11, stride: 1, pad: 1),
    conv(n: 4, c: 3, h: 32, w: 32, o: 64, k: 3, stride: 1, pad: 1),  // R2's stem at batch 2
  ]

  static func conv(
    n: Int32, c: Int32, h: Int32, w: Int32, o: Int32, k: Int32, stride: Int32, pad: Int32
  ) -> hw_conv_shape {
    let oh = (h + 2 * pad - k) / stride + 1
    let ow = (w + 2 * pad - k) / stride + 1
    return hw_conv_shape(
      n: n, c: c, h: h, w: w, o: o, kh: k, kw: k, oh: oh, ow: ow, stride: stride, pad: pad)
  }

  /// Each algorithm, forced. 17 threads (more than HW_CONV_CHUNK) take im2col's chunked path
  /// with one slot per image.
  @Test(arguments: [HW_CONV_IM2COL, HW_CONV_ONEDNN], [1, 2, 17])
  func convolution(algorithm: hw_conv_algorithm, threads: Int) {
    hw_set_threads(Int32(threads))
    hw_set_conv_precision(0)
    hw_conv_set_algorithm(algorithm)
    defer { hw_conv_set_algorithm(HW_CONV_AUTO) }
    var rng = SplitMix64(seed: 11)
    for s in Self.convShapes {
      let label = Comment(rawValue: "\(s) \(algorithm) threads=\(threads)")
      let run = ConvolutionRun(s, &rng)
      expectClose(run.y, referenceConvForward(s, x: run.x, w: run.w), label)
      expectClose(run.dx, referenceConvInputGrad(s, dy: run.dy, w: run.w), label)
      expectClose(run.dw, referenceConvFilterGrad(s, x: run.x, dy: run.dy), label)
    }
    hw_set_threads(2)
  }

  /// Channels-last, each candidate forced (oneDNN on the NHWC tensors as they are, on blocked
  /// copies, Winograd, which falls back to oneDNN as it is on every shape here), in float32 and,
  /// where the CPU has it, bf16 on rounded operands.
  @Test(
    arguments: [HW_CONV_ONEDNN, HW_CONV_ONEDNN_BLOCKED, HW_CONV_ONEDNN_WINOGRAD], [Int32(0), 1])
  func channelsLastConvolution(algorithm: hw_conv_algorithm, bf16: Int32) {
    guard bf16 == 0 || hw_cpu_has_bf16() != 0 else { return }
    let threads = 2
    hw_set_threads(Int32(threads))
    hw_set_conv_precision(bf16)
    hw_conv_set_algorithm(algorithm)
    defer {
      hw_set_conv_precision(0)
      hw_conv_set_algorithm(HW_CONV_AUTO)
    }
    var rng = SplitMix64(seed: 29)
    func rounded(_ values: [Float]) -> [Float] {
      bf16 == 0 ? values : values.map { Float(roundedToBFloat16(Double($0))) }
    }
    let tolerance = 1e-5
    for s in Self.convShapes {
      let label = Comment(rawValue: "\(s) nhwc \(algorithm) bf16=\(bf16)")
      let run = ConvolutionRun(s, &rng, nhwc: true)
      let (x, w, dy) = (rounded(run.x), rounded(run.w), rounded(run.dy))
      expectClose(run.y, referenceConvForward(s, x: x, w: w), tolerance: tolerance, label)
      expectClose(run.dx, referenceConvInputGrad(s, dy: dy, w: w), tolerance: tolerance, label)
      expectClose(run.dw, referenceConvFilterGrad(s, x: x, dy: dy), tolerance: tolerance, label)
    }
    hw_set_threads(2)
  }

  /// bf16: every pass against the float64 reference on operands rounded to bfloat16, and
  /// visibly different from float32 (so the rounding happened). On a CPU without AVX512-BF16
  /// or AMX-BF16 there is nothing to run; the precision check's error is tested instead.
  @Test func bf16ConvolutionsMatchTheReferenceOnRoundedOperands() {
    guard hw_cpu_has_bf16() != 0 else { return }
    hw_set_threads(2)
    hw_set_conv_precision(1)
    defer { hw_set_conv_precision(0) }
    var rng = SplitMix64(seed: 23)
    func rounded(_ values: [Float]) -> [Float] {
      values.map { Float(roundedToBFloat16(Double($0))) }
    }
    let fallbacks = hw_conv_bf16_fallbacks()
    for s in Self.convShapes + [
      Self.conv(n: 4, c: 32, h: 9, w: 9, o: 48, k: 3, stride: 1, pad: 1)
    ] {
      let label = Comment(rawValue: "\(s) bf16")
      let run = ConvolutionRun(s, &rng)
      let (x, w, dy) = (rounded(run.x), rounded(run.w), rounded(run.dy))
      expectClose(run.y, referenceConvForward(s, x: x, w: w), tolerance: 1e-5, label)
      let exact = referenceConvForward(s, x: run.x, w: run.w)
      let scale = exact.map(abs).max()!
      #expect(zip(run.y, exact).map { abs(Double($0) - $1) }.max()! / scale > 1e-4, label)
      expectClose(run.dx, referenceConvInputGrad(s, dy: dy, w: w), tolerance: 1e-5, label)
      expectClose(run.dw, referenceConvFilterGrad(s, x: x, dy: dy), tolerance: 1e-5, label)
    }
    #expect(hw_conv_bf16_fallbacks() == fallbacks, "a bf16 convolution ran in float32")
  }

  // MARK: Pooling

  @Test(arguments: [(2, 2), (3, 2), (3, 1)])
  func averagePooling(window: Int, stride: Int) {
    hw_set_threads(2)
    var rng = SplitMix64(seed: 13)
    for (n, c, h, w) in [(3, 4, 9, 8), (16, 32, 14, 14)] {
      let oh = (h - window) / stride + 1
      let ow = (w - window) / stride + 1
      let x = rng.array(n * c * h * w)
      var y = [Float](repeating: .nan, count: n * c * oh * ow)
      hw_avg_pool2d(
        Int32(n), Int32(c), Int32(h), Int32(w), Int32(window), Int32(stride), x, &y)
      expectClose(
        y, referenceAvgPool(n: n, c: c, h: h, w: w, window: window, stride: stride, x))

      let dy = rng.array(y.count)
      var dx = [Float](repeating: .nan, count: x.count)
      hw_avg_pool2d_grad(
        Int32(n), Int32(c), Int32(h), Int32(w), Int32(window), Int32(stride), dy, &dx)
      expectClose(
        dx, referenceAvgPoolGrad(n: n, c: c, h: h, w: w, window: window, stride: stride, dy))
    }
  }

  // MARK: Determinism

  /// Both filter-gradient schemes: dW wider than tall (split by input channel) and taller than
  /// wide (chunks of images).
  @Test(
    arguments: [
      conv(n: 20, c: 8, h: 12, w: 12, o: 40, k: 3, stride: 1, pad: 1),
      conv(n: 20, c: 8, h: 12, w: 12, o: 40, k: 1, stride: 2, pad: 0),
    ], [HW_CONV_IM2COL, HW_CONV_ONEDNN, HW_CONV_AUTO])
  func repeatedRunsAreBitwiseEqual(shape: hw_conv_shape, algorithm: hw_conv_algorithm) {
    hw_set_threads(2)
    hw_set_conv_precision(0)
    hw_conv_set_algorithm(algorithm)
    defer { hw_conv_set_algorithm(HW_CONV_AUTO) }
    var s = shape
    var rng = SplitMix64(seed: 17)
    let x = rng.array(Int(s.n * s.c * s.h * s.w))
    let w = rng.array(Int(s.o * s.c * s.kh * s.kw))
    let dy = rng.array(Int(s.n * s.o * s.oh * s.ow))
    let a = rng.array(300 * 100)
    let b = rng.array(100 * 200)
    var scratch = [Float](repeating: 0, count: hw_conv2d_scratch_floats(&s))

    func run() -> [[Float]] {
      var y = [Float](repeating: 0, count: dy.count)
      var dx = [Float](repeating: 0, count: x.count)
      var dw = [Float](repeating: 0, count: w.count)
      var c = [Float](repeating: 0, count: 300 * 200)
      hw_conv2d_forward(&s, x, w, &y, &scratch)
      hw_conv2d_input_grad(&s, dy, w, &dx, &scratch)
      hw_conv2d_filter_grad(&s, x, dy, &dw, &scratch)
      hw_matmul(300, 200, 100, 1, 0, a, b, &c)
      return [y, dx, dw, c]
    }

    let first = run()
    let second = run()
    for (one, two) in zip(first, second) {
      #expect(bitwiseEqual(one, two))
    }
  }

  // MARK: Choice

  /// A measured choice is listed, timed for both candidates, and written to the cache file under
  /// this machine's key, so the next process makes the same one without timing.
  @Test func measuredChoiceIsListedAndCached() throws {
    hw_set_threads(2)
    hw_set_conv_precision(0)
    hw_conv_set_algorithm(HW_CONV_AUTO)
    // A shape no other test uses: its choice is made here.
    var s = Self.conv(n: 3, c: 16, h: 13, w: 13, o: 24, k: 3, stride: 1, pad: 1)
    var rng = SplitMix64(seed: 19)
    let x = rng.array(Int(s.n * s.c * s.h * s.w))
    let w = rng.array(Int(s.o * s.c * s.kh * s.kw))
    var y = [Float](repeating: .nan, count: Int(s.n * s.o * s.oh * s.ow))
    var scratch = [Float](repeating: .nan, count: hw_conv2d_scratch_floats(&s))
    hw_conv2d_forward(&s, x, w, &y, &scratch)
    expectClose(y, referenceConvForward(s, x: x, w: w))

    var choices: [hw_conv_choice] = []
    for index in 0..<hw_conv_choice_count() {
      var choice = hw_conv_choice()
      if hw_conv_choice_at(index, &choice) != 0 { choices.append(choice) }
    }
    let mine = try #require(
      choices.first {
        $0.key.shape == s && $0.key.pass == Int32(HW_CONV_FORWARD.rawValue) && $0.key.nhwc == 0
      })
    #expect(mine.key.threads == 2)
    if mine.from_cache == 0 {
      #expect(mine.im2col_ms > 0 && mine.im2col_ms.isFinite)
      #expect(mine.onednn_ms > 0 && mine.onednn_ms.isFinite)
      #expect(mine.blocked_ms < 0 && mine.winograd_ms < 0, "not candidates for NCHW")
    }
    let cache = try String(contentsOfFile: String(cString: hw_conv_cache_path()), encoding: .utf8)
    let machine = String(cString: hw_conv_machine_key())
    // Pass, bf16, channels-last, team size, shape.
    let line = "\(machine)\t0\t0\t0\t2\t3 16 13 13 24 3 3 13 13 1 1\t"
    #expect(cache.split(separator: "\n").contains { $0.hasPrefix(line) })
  }

}

/// Random operands of a convolution shape (x, w, dy, drawn in that order) and the three passes'
/// results on them, with the algorithm and precision the calling thread has set.
/// The three passes of one convolution on random NCHW tensors (x, w, dy); with `nhwc`, run by
/// the channels-last entry points on transposed copies, the results transposed back to NCHW.
struct ConvolutionRun {
  let x, w, dy, y, dx, dw: [Float]

  init(_ shape: hw_conv_shape, _ rng: inout SplitMix64, nhwc: Bool = false) {
    var s = shape
    x = rng.array(Int(s.n * s.c * s.h * s.w))
    w = rng.array(Int(s.o * s.c * s.kh * s.kw))
    dy = rng.array(Int(s.n * s.o * s.oh * s.ow))
    if nhwc {
      let (n, c, h, wd) = (Int(s.n), Int(s.c), Int(s.h), Int(s.w))
      let (o, oh, ow) = (Int(s.o), Int(s.oh), Int(s.ow))
      var y = [Float](repeating: .nan, count: dy.count)
      var dx = [Float](repeating: .nan, count: x.count)
      var dw = [Float](repeating: .nan, count: w.count)
      let xl = Self.permuted(x, [n, c, h, wd], [0, 2, 3, 1])
      let dyl = Self.permuted(dy, [n, o, oh, ow], [0, 2, 3, 1])
      hw_conv2d_forward_nhwc(&s, xl, w, &y, nil, 0)
      hw_conv2d_input_grad_nhwc(&s, dyl, w, &dx, nil, 0)
      hw_conv2d_filter_grad_nhwc(&s, xl, dyl, &dw, nil, 0)
      self.y = Self.permuted(y, [n, oh, ow, o], [0, 3, 1, 2])
      self.dx = Self.permuted(dx, [n, h, wd, c], [0, 3, 1, 2])
      self.dw = dw
      return
    }
    var scratch = [Float](repeating: .nan, count: hw_conv2d_scratch_floats(&s))
    var y = [Float](repeating: .nan, count: dy.count)
    hw_conv2d_forward(&s, x, w, &y, &scratch)
    var dx = [Float](repeating: .nan, count: x.count)
    hw_conv2d_input_grad(&s, dy, w, &dx, &scratch)
    var dw = [Float](repeating: .nan, count: w.count)
    hw_conv2d_filter_grad(&s, x, dy, &dw, &scratch)
    (self.y, self.dx, self.dw) = (y, dx, dw)
  }
}

extension ConvolutionRun {
  /// A 4-D row-major tensor with its dimensions reordered: result dimension `i` is `perm[i]`.
  static func permuted(_ values: [Float], _ shape: [Int], _ perm: [Int]) -> [Float] {
    let strides = [shape[1] * shape[2] * shape[3], shape[2] * shape[3], shape[3], 1]
    let out = perm.map { shape[$0] }
    var result: [Float] = []
    result.reserveCapacity(values.count)
    for a in 0..<out[0] {
      for b in 0..<out[1] {
        for c in 0..<out[2] {
          for d in 0..<out[3] {
            let index = zip([a, b, c, d], perm).reduce(0) { $0 + $1.0 * strides[$1.1] }
            result.append(values[index])
          }
        }
      }
    }
    return result
  }
}

extension hw_conv_shape: @retroactive Equatable {
  public static func == (a: hw_conv_shape, b: hw_conv_shape) -> Bool {
    withUnsafeBytes(of: a) { x in withUnsafeBytes(of: b) { y in x.elementsEqual(y) } }
  }
}
