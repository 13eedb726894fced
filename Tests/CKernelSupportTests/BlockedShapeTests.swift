import CKernelSupport
import GraphIR
import Testing

/// Channels-last candidates on channel counts that are multiples of oneDNN's 16-channel blocks
/// (R2's 64 and 128, its 3-channel stem), which the small shapes of `convShapes` are not, with
/// one and two threads, against the float64 reference.
extension KernelTests {
  @Test(arguments: [HW_CONV_ONEDNN, HW_CONV_ONEDNN_BLOCKED], [Int32(1), 2])
  func channelsLastCandidatesOnBlockSizedChannels(algorithm: hw_conv_algorithm, threads: Int32) {
    hw_set_threads(threads)
    hw_conv_set_algorithm(algorithm)
    defer {
      hw_conv_set_algorithm(HW_CONV_AUTO)
      hw_set_threads(2)
    }
    var rng = SplitMix64(seed: 31)
    for s in [
      Self.conv(n: 2, c: 64, h: 8, w: 8, o: 64, k: 3, stride: 1, pad: 1),
      Self.conv(n: 2, c: 64, h: 8, w: 8, o: 128, k: 3, stride: 2, pad: 1),
      Self.conv(n: 2, c: 3, h: 12, w: 12, o: 64, k: 3, stride: 1, pad: 1),
    ] {
      let label = Comment(rawValue: "\(s) nhwc \(algorithm) threads \(threads)")
      let run = ConvolutionRun(s, &rng, nhwc: true)
      expectClose(run.y, referenceConvForward(s, x: run.x, w: run.w), tolerance: 1e-5, label)
      expectClose(run.dx, referenceConvInputGrad(s, dy: run.dy, w: run.w), tolerance: 1e-5, label)
      expectClose(run.dw, referenceConvFilterGrad(s, x: run.x, dy: run.dy), tolerance: 1e-5, label)
    }
  }
}
