import GraphIR

/// A range of the arena and the kernels during which something lives in it.
struct Region {
  var offset: Int
  var bytes: Int
  var kernels: ClosedRange<Int>

  init(_ offset: Int, _ bytes: Int, _ kernels: ClosedRange<Int>) {
    (self.offset, self.bytes, self.kernels) = (offset, PlanMemory.aligned(max(bytes, 1)), kernels)
  }
}

extension PlanMemory {
  /// Whether a node is a convolution pass on channels-last tensors (oneDNN, which wants a
  /// workspace whose size only it knows).
  package static func isChannelsLastConvolution(_ node: Node) -> Bool {
    switch node.op {
    case .conv2d(let c), .conv2dInputGrad(let c, _), .conv2dFilterGrad(let c, _):
      c.channelsLast
    default: false
    }
  }

  /// The largest range of the arena that no region uses during `kernel` (the first of equal
  /// ones); nil when every byte is taken. Whatever the kernel writes there is dead: no value
  /// live in that kernel, before or after it, lies in the range.
  static func spare(
    in regions: [Region], kernel: Int, arenaBytes: Int
  ) -> (offset: Int, bytes: Int)? {
    let live = regions.filter { $0.kernels.contains(kernel) }.sorted { $0.offset < $1.offset }
    var best: (offset: Int, bytes: Int)?
    var cursor = 0
    for region in live + [Region(arenaBytes, 0, kernel...kernel)] {
      if region.offset - cursor > best?.bytes ?? 0 { best = (cursor, region.offset - cursor) }
      cursor = max(cursor, region.offset + region.bytes)
    }
    return best
  }
}
