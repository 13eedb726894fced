import GraphIR

/// A tensor held in host memory, in float64 whatever its declared dtype. Elements are stored
/// row-major; int32 tensors hold integral values.
public struct HostTensor: Hashable, Sendable, CustomStringConvertible {
  /// The declared type: dtype and shape.
  public var type: TensorType
  /// The elements in row-major order; `scalars.count == type.elementCount`.
  public var scalars: [Double]

  /// A tensor of the given type and elements; the element count must match the type.
  public init(_ type: TensorType, _ scalars: [Double]) {
    precondition(
      scalars.count == type.elementCount,
      "\(scalars.count) scalars for a tensor of type \(type)")
    self.type = type
    self.scalars = scalars
  }

  /// A tensor of the given type filled with zeros.
  public init(zeros type: TensorType) {
    self.init(type, Array(repeating: 0, count: type.elementCount))
  }

  /// A float32 scalar (shape `[]`).
  public init(scalar: Double) {
    self.init(.scalar, [scalar])
  }

  /// The shape of the tensor.
  public var shape: [Int] { type.shape }

  /// The element at a row-major flat index.
  public subscript(flat index: Int) -> Double {
    get { scalars[index] }
    set { scalars[index] = newValue }
  }

  /// The element at a multi-dimensional index (one coordinate per axis).
  public subscript(_ index: Int...) -> Double {
    get { scalars[flatIndex(index)] }
    set { scalars[flatIndex(index)] = newValue }
  }

  private func flatIndex(_ index: [Int]) -> Int {
    precondition(index.count == type.rank, "index \(index) for a tensor of type \(type)")
    var flat = 0
    for (axis, coordinate) in index.enumerated() {
      precondition((0..<type.shape[axis]).contains(coordinate), "index \(index) out of range")
      flat = flat * type.shape[axis] + coordinate
    }
    return flat
  }

  public var description: String { "\(type) \(scalars)" }
}

/// A failure while interpreting a graph: a missing or mistyped input or variable, an op that
/// must be lowered first, or bad data (an out-of-range label).
public struct InterpreterError: Error, Hashable, Sendable, CustomStringConvertible {
  /// What went wrong, naming the node, input or variable involved.
  public var message: String

  public init(_ message: String) {
    self.message = message
  }

  public var description: String { "interpreter error: \(message)" }
}

/// Row-major strides of a shape: the distance between neighbours along each axis.
func rowMajorStrides(_ shape: [Int]) -> [Int] {
  var strides = Array(repeating: 1, count: shape.count)
  var stride = 1
  for axis in shape.indices.reversed() {
    strides[axis] = stride
    stride *= shape[axis]
  }
  return strides
}

/// The offsets `base + sum_d index[d] * strides[d]` for every index of `shape`, in row-major
/// order of the index. Broadcast (stride 0), transpose (permuted strides), slice (a base offset)
/// and the placement of an operand inside a larger result (pad, concat) are all such walks.
func stridedOffsets(shape: [Int], strides: [Int], base: Int = 0) -> [Int] {
  let count = shape.reduce(1, *)
  guard count > 0 else { return [] }
  var offsets: [Int] = []
  offsets.reserveCapacity(count)
  var index = Array(repeating: 0, count: shape.count)
  var offset = base
  for _ in 0..<count {
    offsets.append(offset)
    var axis = shape.count - 1
    while axis >= 0 {
      index[axis] += 1
      offset += strides[axis]
      if index[axis] < shape[axis] { break }
      offset -= strides[axis] * shape[axis]
      index[axis] = 0
      axis -= 1
    }
  }
  return offsets
}
