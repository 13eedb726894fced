/// Moves channels-last (`[N, H, W, C]`) activations to and from NCHW, so that the interpreter's
/// convolutions, written for NCHW, also evaluate `channels_last` ones.
enum ChannelsLast {
  /// `[N, H, W, C]` read as `[N, C, H, W]`.
  static func nchwShape(_ nhwc: [Int]) -> [Int] { [nhwc[0], nhwc[3], nhwc[1], nhwc[2]] }

  /// Each NHWC tensor transposed to NCHW, with its NCHW shape.
  static func toNCHW(_ values: [[Double]], _ shapes: [[Int]]) -> (
    values: [[Double]], shapes: [[Int]]
  ) {
    (zip(values, shapes).map { Kernels.transpose($0, $1, [0, 3, 1, 2]) }, shapes.map(nchwShape))
  }

  /// An NCHW result transposed to the NHWC shape `nhwc`.
  static func fromNCHW(_ value: [Double], _ nhwc: [Int]) -> [Double] {
    Kernels.transpose(value, nchwShape(nhwc), [0, 2, 3, 1])
  }
}
