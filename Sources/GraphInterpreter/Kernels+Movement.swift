// Data movement: every op here is a strided walk (see `stridedOffsets`) that either gathers the
// result from the operand or scatters the operand into a zero result.
extension Kernels {
  /// `result[i] = x[offsets[i]]`.
  static func gather(_ x: [Double], _ offsets: [Int]) -> [Double] {
    var result = Array(repeating: 0.0, count: offsets.count)
    for index in offsets.indices { result[index] = x[offsets[index]] }
    return result
  }

  /// `result[offsets[i]] = x[i]` into `result`, which is otherwise left as it is.
  static func scatter(_ x: [Double], _ offsets: [Int], into result: inout [Double]) {
    for index in offsets.indices { result[offsets[index]] = x[index] }
  }

  /// Numpy-style expansion: operand dims are right-aligned with `shape`; dims of size 1 and
  /// missing leading dims repeat the operand (stride 0).
  static func broadcast(_ x: [Double], from shape: [Int], to resultShape: [Int]) -> [Double] {
    let sourceStrides = rowMajorStrides(shape)
    let leading = resultShape.count - shape.count
    var strides = Array(repeating: 0, count: resultShape.count)
    for axis in shape.indices where shape[axis] != 1 {
      strides[leading + axis] = sourceStrides[axis]
    }
    return gather(x, stridedOffsets(shape: resultShape, strides: strides))
  }

  /// Result dim `i` is operand dim `perm[i]`.
  static func transpose(_ x: [Double], _ shape: [Int], _ perm: [Int]) -> [Double] {
    let sourceStrides = rowMajorStrides(shape)
    let offsets = stridedOffsets(
      shape: perm.map { shape[$0] }, strides: perm.map { sourceStrides[$0] })
    return gather(x, offsets)
  }

  /// The box of `size` elements starting at `start`.
  static func slice(_ x: [Double], _ shape: [Int], _ start: [Int], _ size: [Int]) -> [Double] {
    let strides = rowMajorStrides(shape)
    let base = zip(start, strides).map(*).reduce(0, +)
    return gather(x, stridedOffsets(shape: size, strides: strides, base: base))
  }

  /// Places the operand at offset `low` inside a zero tensor of `resultShape`.
  static func pad(_ x: [Double], _ shape: [Int], low: [Int], result resultShape: [Int])
    -> [Double]
  {
    let strides = rowMajorStrides(resultShape)
    let base = zip(low, strides).map(*).reduce(0, +)
    var result = Array(repeating: 0.0, count: resultShape.reduce(1, *))
    scatter(x, stridedOffsets(shape: shape, strides: strides, base: base), into: &result)
    return result
  }

  /// Operands one after another along `axis`.
  static func concat(_ xs: [[Double]], _ shapes: [[Int]], _ axis: Int, _ resultShape: [Int])
    -> [Double]
  {
    let strides = rowMajorStrides(resultShape)
    var result = Array(repeating: 0.0, count: resultShape.reduce(1, *))
    var position = 0
    for (x, shape) in zip(xs, shapes) {
      let offsets = stridedOffsets(shape: shape, strides: strides, base: position * strides[axis])
      scatter(x, offsets, into: &result)
      position += shape[axis]
    }
    return result
  }
}
