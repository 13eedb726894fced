// Shape rules: the one place that says what each op accepts and what it produces. The DSL, the
// verifier and every pass use it, so they cannot disagree.

extension Op {
  /// The number of operands the op takes, or nil when it takes any number (concat).
  public var arity: Int? {
    switch self {
    case .input, .variable, .constant: 0
    case .assign, .unary, .powConstant, .reduce, .broadcast, .reshape, .transpose, .slice, .pad,
      .avgPool2d, .avgPool2dGrad, .oneHot, .stopGradient, .collective:
      1
    case .update(let rule): rule.kind == .runtime ? 5 : 2
    case .binary, .compare, .matmul, .conv2d, .conv2dInputGrad, .conv2dFilterGrad,
      .gradient:
      2
    case .select: 3
    case .concat: nil
    }
  }

  /// The result type for operands of the given types; `declared` is the type of a leaf op.
  public func inferType(_ operands: [TensorType], declared: TensorType?) throws(ShapeError)
    -> TensorType
  {
    if let arity, operands.count != arity {
      throw ShapeError("expected \(arity) operands, got \(operands.count)")
    }
    switch self {
    case .input, .variable, .constant:
      guard let declared else { throw ShapeError("a leaf op needs a declared type") }
      if case .constant(let value) = self { try Self.checkConstant(value, declared) }
      return declared
    case .assign, .stopGradient:
      return operands[0]
    case .update:
      try Self.requireFloat(operands)
      for (index, type) in operands.enumerated().dropFirst() where !type.shape.isEmpty {
        let what = index == 1 ? "the learning rate" : "optimizer input \(index)"
        throw ShapeError("\(what) must be a scalar, got \(type)")
      }
      return operands[0]
    case .unary, .powConstant:
      try Self.requireFloat(operands)
      return operands[0]
    case .binary, .compare:
      try Self.requireFloat(operands)
      try Self.requireSameShape(operands)
      return operands[0]
    case .select:
      try Self.requireFloat(operands)
      try Self.requireSameShape(operands)
      return operands[1]
    case .reduce(_, let axes):
      try Self.requireFloat(operands)
      return try Self.reduced(operands[0], axes: axes)
    case .gradient:
      try Self.requireFloat(operands)
      guard operands[0].shape.isEmpty else {
        throw ShapeError("can only differentiate a scalar, got \(operands[0])")
      }
      return operands[1]
    case .oneHot(let classes):
      guard operands[0].dtype == .i32, operands[0].rank == 1, classes > 0 else {
        throw ShapeError("one_hot takes i32[N] labels and a positive class count")
      }
      return .f32([operands[0].shape[0], classes])
    case .collective(let c):
      return try c.resultType(operands[0])
    default:
      return try inferMovementOrContraction(operands)
    }
  }

  private func inferMovementOrContraction(_ operands: [TensorType]) throws(ShapeError)
    -> TensorType
  {
    // Concat is the only op here that may have no operands at all.
    if case .concat(let axis) = self { return try Self.concatenated(operands, axis: axis) }
    let x = operands[0]
    switch self {
    case .broadcast(let shape): return try Self.broadcast(x, to: shape)
    case .reshape(let shape):
      guard shape.allSatisfy({ $0 > 0 }), shape.reduce(1, *) == x.elementCount else {
        throw ShapeError("cannot reshape \(x) to \(shape): element counts differ")
      }
      return TensorType(x.dtype, shape)
    case .transpose(let perm):
      guard perm.sorted() == Array(0..<x.rank) else {
        throw ShapeError("\(perm) is not a permutation of the \(x.rank) axes")
      }
      return TensorType(x.dtype, perm.map { x.shape[$0] })
    case .slice(let start, let size): return try Self.sliced(x, start: start, size: size)
    case .pad(let low, let high):
      guard low.count == x.rank, high.count == x.rank,
        (low + high).allSatisfy({ $0 >= 0 })
      else { throw ShapeError("pad needs \(x.rank) non-negative low and high sizes") }
      return TensorType(x.dtype, (0..<x.rank).map { x.shape[$0] + low[$0] + high[$0] })
    case .matmul(let ta, let tb): return try Self.matmul(operands, ta, tb)
    case .conv2d(let conv): return try Self.conv2d(operands[0], operands[1], conv)
    case .conv2dInputGrad(let conv, let inputShape):
      let y = try Self.conv2d(.f32(inputShape), operands[1], conv)
      guard y == operands[0] else {
        throw ShapeError("output gradient \(operands[0]) does not match conv output \(y)")
      }
      return .f32(inputShape)
    case .conv2dFilterGrad(let conv, let filterShape):
      let y = try Self.conv2d(operands[0], .f32(filterShape), conv)
      guard y == operands[1] else {
        throw ShapeError("output gradient \(operands[1]) does not match conv output \(y)")
      }
      return .f32(filterShape)
    case .avgPool2d(let window, let stride): return try Self.pooled(x, window, stride)
    case .avgPool2dGrad(let window, let stride, let inputShape):
      let y = try Self.pooled(.f32(inputShape), window, stride)
      guard y == x else {
        throw ShapeError("output gradient \(x) does not match pooled output \(y)")
      }
      return .f32(inputShape)
    default:
      throw ShapeError("no shape rule")
    }
  }

  static func requireFloat(_ operands: [TensorType]) throws(ShapeError) {
    if let bad = operands.first(where: { $0.dtype != .f32 }) {
      throw ShapeError("expected f32 operands, got \(bad)")
    }
  }

  static func requireSameShape(_ operands: [TensorType]) throws(ShapeError) {
    if operands.contains(where: { $0.shape != operands[0].shape }) {
      throw ShapeError("elementwise operands must have identical shapes")
    }
  }

  static func checkConstant(_ value: Constant, _ type: TensorType) throws(ShapeError) {
    switch value {
    case .splat, .ratio: return
    case .diagonal:
      guard type.rank == 2 else { throw ShapeError("a diagonal constant must be 2-D, got \(type)") }
    case .values(let values):
      guard values.count == type.elementCount else {
        throw ShapeError("\(values.count) values for a constant of type \(type)")
      }
    }
  }

  static func reduced(_ x: TensorType, axes: [Int]) throws(ShapeError) -> TensorType {
    guard Set(axes).count == axes.count, axes.allSatisfy({ (0..<x.rank).contains($0) }) else {
      throw ShapeError("reduction axes \(axes) are invalid for rank \(x.rank)")
    }
    var shape = x.shape
    for axis in axes { shape[axis] = 1 }
    return TensorType(x.dtype, shape)
  }

  static func broadcast(_ x: TensorType, to shape: [Int]) throws(ShapeError) -> TensorType {
    let offset = shape.count - x.rank
    guard offset >= 0, shape.allSatisfy({ $0 > 0 }),
      x.shape.indices.allSatisfy({ x.shape[$0] == shape[$0 + offset] || x.shape[$0] == 1 })
    else { throw ShapeError("cannot broadcast \(x) to \(shape)") }
    return TensorType(x.dtype, shape)
  }

  static func sliced(_ x: TensorType, start: [Int], size: [Int]) throws(ShapeError)
    -> TensorType
  {
    guard start.count == x.rank, size.count == x.rank,
      x.shape.indices.allSatisfy({
        start[$0] >= 0 && size[$0] > 0 && start[$0] + size[$0] <= x.shape[$0]
      })
    else { throw ShapeError("slice start \(start) size \(size) is out of bounds for \(x)") }
    return TensorType(x.dtype, size)
  }

  static func concatenated(_ operands: [TensorType], axis: Int) throws(ShapeError) -> TensorType {
    guard let first = operands.first, (0..<first.rank).contains(axis) else {
      throw ShapeError("concat needs operands and a valid axis, got axis \(axis)")
    }
    var shape = first.shape
    shape[axis] = 0
    for operand in operands {
      var other = operand.shape
      guard other.count == first.rank, operand.dtype == first.dtype else {
        throw ShapeError("concat operands must agree in rank and type")
      }
      shape[axis] += other[axis]
      other[axis] = 0
      var expected = first.shape
      expected[axis] = 0
      guard other == expected else {
        throw ShapeError("concat operands differ outside axis \(axis)")
      }
    }
    return TensorType(first.dtype, shape)
  }

  static func matmul(_ operands: [TensorType], _ ta: Bool, _ tb: Bool) throws(ShapeError)
    -> TensorType
  {
    try requireFloat(operands)
    let (a, b) = (operands[0], operands[1])
    guard a.rank == 2, b.rank == 2 else { throw ShapeError("matmul takes 2-D operands") }
    let (m, ka) = ta ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
    let (kb, n) = tb ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
    guard ka == kb else {
      throw ShapeError("inner sizes differ: A gives \(ka), B gives \(kb)")
    }
    return .f32([m, n])
  }

  static func conv2d(_ x: TensorType, _ w: TensorType, _ conv: Conv2D) throws(ShapeError)
    -> TensorType
  {
    try requireFloat([x, w])
    guard x.rank == 4, w.rank == 4 else {
      throw ShapeError(
        "conv2d takes an \(conv.channelsLast ? "NHWC" : "NCHW") input and an OIHW filter")
    }
    // Logical [n, c, h, w] whatever the layout.
    let x4 = conv.channelsLast ? ChannelOrder.nchw(x.shape) : x.shape
    guard x4[1] == w.shape[1] else {
      throw ShapeError("input has \(x4[1]) channels but the filter expects \(w.shape[1])")
    }
    let (paddedH, paddedW) = (x4[2] + 2 * conv.padding, x4[3] + 2 * conv.padding)
    guard conv.stride > 0, conv.padding >= 0, paddedH >= w.shape[2], paddedW >= w.shape[3] else {
      throw ShapeError("filter \(w) does not fit input \(x) with stride/padding \(conv)")
    }
    let oh = (paddedH - w.shape[2]) / conv.stride + 1
    let ow = (paddedW - w.shape[3]) / conv.stride + 1
    let y = [x4[0], w.shape[0], oh, ow]
    return .f32(conv.channelsLast ? ChannelOrder.nhwc(y) : y)
  }

  static func pooled(_ x: TensorType, _ window: Int, _ stride: Int) throws(ShapeError)
    -> TensorType
  {
    guard x.rank == 4, window > 0, stride > 0, x.shape[2] >= window, x.shape[3] >= window else {
      throw ShapeError("avg_pool2d window \(window) does not fit \(x)")
    }
    return .f32([
      x.shape[0], x.shape[1], (x.shape[2] - window) / stride + 1,
      (x.shape[3] - window) / stride + 1,
    ])
  }
}
