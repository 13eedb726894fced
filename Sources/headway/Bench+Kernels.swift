import CKernelSupport
import Foundation
import GraphIR
import Runtime

/// The convolutions (with their choices) and matrix products the process has run, by shape.
struct LibraryCalls {
  var convolutions: [hw_conv_choice]
  var products: [hw_matmul_record]

  static func current() -> LibraryCalls {
    LibraryCalls(
      convolutions: (0..<hw_conv_choice_count()).compactMap { index in
        var choice = hw_conv_choice()
        return hw_conv_choice_at(index, &choice) != 0 ? choice : nil
      },
      products: (0..<hw_matmul_record_count()).compactMap { index in
        var record = hw_matmul_record()
        return hw_matmul_record_at(index, &record) != 0 ? record : nil
      })
  }
}

extension hw_conv_choice {
  private var chosen: hw_conv_algorithm { hw_conv_algorithm(rawValue: UInt32(algorithm)) }

  /// Whether the choice runs oneDNN on channel-blocked copies of NHWC tensors (direct or
  /// Winograd).
  var isBlocked: Bool { chosen == HW_CONV_ONEDNN_BLOCKED || chosen == HW_CONV_ONEDNN_WINOGRAD }

  /// The name of the oneDNN implementation the choice runs ("jit:avx512_core",
  /// "jit_wino_4x3:avx512_core"), or nil for im2col + OpenBLAS.
  var onednnImplementation: String? {
    guard chosen == HW_CONV_ONEDNN || isBlocked else { return nil }
    var key = self.key
    return String(cString: hw_onednn_implementation(&key, chosen))
  }

  /// `im2col`, `onednn`, `onednn-blocked` or `onednn-winograd`, as in the cache file.
  var algorithmName: String { String(cString: hw_conv_algorithm_name(chosen)) }

  /// What the listing prints: `im2col+sgemm`, `oneDNN <implementation>`, with `blocked` for
  /// oneDNN on channel-blocked copies of NHWC tensors.
  var algorithmDescription: String {
    guard let implementation = onednnImplementation else { return "im2col+sgemm" }
    return (isBlocked ? "oneDNN blocked " : "oneDNN ") + implementation
  }

  /// The candidates' times at first use (ms): NCHW im2col, oneDNN; NHWC oneDNN, blocked,
  /// Winograd (`n/a` where one cannot run the shape).
  var candidateTimes: String {
    func ms(_ value: Double) -> String { value.isFinite ? String(format: "%.3f", value) : "n/a" }
    let times = key.nhwc != 0 ? [onednn_ms, blocked_ms, winograd_ms] : [im2col_ms, onednn_ms]
    return times.map(ms).joined(separator: ", ")
  }
}

/// `headway bench --kernels`: every convolution and matrix product the timed steps ran, by shape,
/// each timed alone on random data with the algorithm the step used.
extension Bench {
  func listLibraryCalls(_ calls: LibraryCalls, stepsRun: Int, stepSeconds: Double) {
    let (convolutions, products) = (calls.convolutions, calls.products)
    print("  convolutions, per shape and pass (time alone: best of 3 on random data):")
    print(
      "    pass         N    C   H   W ->    O  OH  OW  k s p  calls/step  algorithm"
        + "         ms  GFLOP/s  first use (ms): nchw im2col, oneDNN; nhwc oneDNN, blocked,"
        + " Winograd")
    var convolutionSeconds = 0.0
    for choice in convolutions {
      let chosen = hw_conv_algorithm(rawValue: UInt32(choice.algorithm))
      let seconds = timeConvolution(choice.key, chosen)
      let perStep = Double(choice.calls) / Double(stepsRun)
      var note = ""
      if choice.direct_calls > 0 {
        // Winograd calls with no room for their workspace ran the fastest direct candidate.
        let direct = timeConvolution(choice.key, HW_CONV_DIRECT)
        let share = Double(choice.direct_calls) / Double(choice.calls)
        convolutionSeconds += perStep * (share * direct + (1 - share) * seconds)
        note = String(
          format: "; direct in %ld of %ld calls (no room in the arena or the workspace budget)"
            + ", %.3f ms", choice.direct_calls, choice.calls, direct * 1e3)
      } else {
        convolutionSeconds += perStep * seconds
      }
      print(describe(choice, seconds: seconds, perStep: perStep) + note)
    }
    print("  matrix products (C[m, n] = op(A) op(B); time alone, best of 3):")
    print("        m      n      k  transposed  calls/step        ms  GFLOP/s")
    var productSeconds = 0.0
    for record in products {
      let seconds = timeProduct(record)
      let perStep = Double(record.calls) / Double(stepsRun)
      productSeconds += perStep * seconds
      let flops = 2.0 * Double(record.m) * Double(record.n) * Double(record.k)
      let transposed = (record.transpose_a != 0 ? "A" : "") + (record.transpose_b != 0 ? "B" : "")
      print(
        String(
          format: "    %5d  %5d  %5d  %10@  %10.1f  %8.3f  %7.1f", record.m, record.n, record.k,
          transposed.isEmpty ? "-" : transposed, perStep, seconds * 1e3, flops / seconds / 1e9))
    }
    print(
      String(
        format:
          "  per step, timed alone: convolutions %.3f s, matrix products %.3f s (step %.3f s)",
        convolutionSeconds, productSeconds, stepSeconds))
  }

  private func describe(_ choice: hw_conv_choice, seconds: Double, perStep: Double) -> String {
    let s = choice.key.shape
    let pass = ["forward", "input grad", "filter grad"][Int(choice.key.pass)]
    let flops =
      2.0 * Double(s.n) * Double(s.o) * Double(s.c) * Double(s.kh * s.kw)
      * Double(s.oh * s.ow)
    let algorithm = choice.algorithmDescription
    let firstUse = choice.from_cache != 0 ? "cached" : choice.candidateTimes
    return String(
      format: "    %-11@ %4d %4d %3d %3d -> %4d %3d %3d  %d %d %d  %10.1f  %-17@ %7.3f  %7.1f  %@",
      pass, s.n, s.c, s.h, s.w, s.o, s.oh, s.ow, s.kh, s.stride, s.pad, perStep, algorithm,
      seconds * 1e3, flops / seconds / 1e9, firstUse)
  }

  /// Best of three calls of the pass on random tensors of its shape, in the key's precision,
  /// with `algorithm` forced.
  private func timeConvolution(_ key: hw_conv_key, _ algorithm: hw_conv_algorithm) -> Double {
    let (precision, previous) = (hw_get_conv_precision(), hw_conv_get_algorithm())
    hw_set_conv_precision(key.bf16)
    hw_conv_set_algorithm(algorithm)
    defer {
      hw_set_conv_precision(precision)
      hw_conv_set_algorithm(previous)
    }
    var s = key.shape
    var random = SplitMix64(seed: 3)
    func tensor(_ count: Int32) -> [Float] { (0..<Int(count)).map { _ in random.unit() - 0.5 } }
    let x = tensor(s.n * s.c * s.h * s.w)
    let w = tensor(s.o * s.c * s.kh * s.kw)
    let y = tensor(s.n * s.o * s.oh * s.ow)
    var out = [Float](repeating: 0, count: [y.count, x.count, w.count][Int(key.pass)])
    var scratch = [Float](repeating: 0, count: hw_conv2d_scratch_floats(&s))
    let nhwc = key.nhwc != 0
    return bestOfThree {
      switch key.pass {
      case Int32(HW_CONV_FORWARD.rawValue) where nhwc:
        hw_conv2d_forward_nhwc(&s, x, w, &out, nil, 0)
      case Int32(HW_CONV_FORWARD.rawValue): hw_conv2d_forward(&s, x, w, &out, &scratch)
      case Int32(HW_CONV_INPUT_GRAD.rawValue) where nhwc:
        hw_conv2d_input_grad_nhwc(&s, y, w, &out, nil, 0)
      case Int32(HW_CONV_INPUT_GRAD.rawValue): hw_conv2d_input_grad(&s, y, w, &out, &scratch)
      case _ where nhwc: hw_conv2d_filter_grad_nhwc(&s, x, y, &out, nil, 0)
      default: hw_conv2d_filter_grad(&s, x, y, &out, &scratch)
      }
    }
  }

  private func timeProduct(_ r: hw_matmul_record) -> Double {
    var random = SplitMix64(seed: 5)
    let a = (0..<Int(r.m * r.k)).map { _ in random.unit() - 0.5 }
    let b = (0..<Int(r.k * r.n)).map { _ in random.unit() - 0.5 }
    var c = [Float](repeating: 0, count: Int(r.m * r.n))
    return bestOfThree { hw_matmul(r.m, r.n, r.k, r.transpose_a, r.transpose_b, a, b, &c) }
  }

  private func bestOfThree(_ body: () -> Void) -> Double {
    body()
    var best = Double.infinity
    for _ in 0..<3 {
      let start = DispatchTime.now().uptimeNanoseconds
      body()
      best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return best
  }
}
