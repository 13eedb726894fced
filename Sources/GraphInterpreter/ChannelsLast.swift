import GraphIR

/// Moves channels-last (`[N, H, W, C]`) activations to and from NCHW, so that the interpreter's
/// convolutions, written for NCHW, also evaluate `channels_last` ones.
enum ChannelsLast {
  /// Each NHWC tensor transposed to NCHW, with its NCHW shape.
  static func toNCHW(_ values: [[Double]], _ shapes: [[Int]]) -> (
    values: [[Double]], shapes: [[Int]]
  ) {
    (
      zip(values, shapes).map { Kernels.transpose($0, $1, ChannelOrder.toNCHW) },
      shapes.map(ChannelOrder.nchw)
    )
  }

  /// An NCHW result transposed to the NHWC shape `nhwc`.
  static func fromNCHW(_ value: [Double], _ nhwc: [Int]) -> [Double] {
    Kernels.transpose(value, ChannelOrder.nchw(nhwc), ChannelOrder.toNHWC)
  }
}
