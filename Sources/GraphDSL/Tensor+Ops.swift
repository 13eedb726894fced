import GraphIR

// Tensor arithmetic for model definitions. Binary operators broadcast numpy-style by inserting
// explicit `broadcast` nodes; a Double operand becomes a scalar constant.

extension Tensor {
  private func unary(_ op: UnaryOp) -> Tensor { builder.append(.unary(op), [self]) }

  public func exp() -> Tensor { unary(.exp) }
  public func log() -> Tensor { unary(.log) }
  public func sqrt() -> Tensor { unary(.sqrt) }
  public func rsqrt() -> Tensor { unary(.rsqrt) }
  public func relu() -> Tensor { unary(.relu) }
  public func abs() -> Tensor { unary(.abs) }
  public func pow(_ exponent: Double) -> Tensor { builder.append(.powConstant(exponent), [self]) }

  /// The shape both operands broadcast to (numpy rules), or nil when they do not.
  static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = Swift.max(a.count, b.count)
    let pa = Array(repeating: 1, count: rank - a.count) + a
    let pb = Array(repeating: 1, count: rank - b.count) + b
    var result: [Int] = []
    for (x, y) in zip(pa, pb) {
      guard x == y || x == 1 || y == 1 else { return nil }
      result.append(Swift.max(x, y))
    }
    return result
  }

  /// Expands to `shape` (no node when already that shape).
  public func broadcast(to shape: [Int]) -> Tensor {
    self.shape == shape ? self : builder.append(.broadcast(shape), [self])
  }

  func binary(_ op: Op, _ other: Tensor) -> Tensor {
    guard let shape = Self.broadcastShape(self.shape, other.shape) else {
      // Let the shape rule produce the error message with both shapes.
      return builder.append(op, [self, other])
    }
    return builder.append(op, [broadcast(to: shape), other.broadcast(to: shape)])
  }

  public static func + (a: Tensor, b: Tensor) -> Tensor { a.binary(.binary(.add), b) }
  public static func - (a: Tensor, b: Tensor) -> Tensor { a.binary(.binary(.sub), b) }
  public static func * (a: Tensor, b: Tensor) -> Tensor { a.binary(.binary(.mul), b) }
  public static func / (a: Tensor, b: Tensor) -> Tensor { a.binary(.binary(.div), b) }
  public static prefix func - (a: Tensor) -> Tensor { a.unary(.neg) }

  public static func + (a: Tensor, b: Double) -> Tensor { a + a.builder.constant(b) }
  public static func - (a: Tensor, b: Double) -> Tensor { a - a.builder.constant(b) }
  public static func * (a: Tensor, b: Double) -> Tensor { a * a.builder.constant(b) }
  public static func / (a: Tensor, b: Double) -> Tensor { a / a.builder.constant(b) }
  public static func * (a: Double, b: Tensor) -> Tensor { b.builder.constant(a) * b }

  public func maximum(_ other: Tensor) -> Tensor { binary(.binary(.max), other) }
  public func minimum(_ other: Tensor) -> Tensor { binary(.binary(.min), other) }
  /// 1 where `self > other`, 0 elsewhere.
  public func greater(_ other: Tensor) -> Tensor { binary(.compare(.gt), other) }

  public func sum(axes: [Int]) -> Tensor { builder.append(.reduce(.sum, axes: axes), [self]) }
  public func mean(axes: [Int]) -> Tensor { builder.append(.reduce(.mean, axes: axes), [self]) }
  public func max(axes: [Int]) -> Tensor { builder.append(.reduce(.max, axes: axes), [self]) }
  /// The mean of all elements, as a scalar.
  public func mean() -> Tensor { mean(axes: Array(0..<type.rank)).reshaped([]) }

  public func reshaped(_ shape: [Int]) -> Tensor {
    shape == self.shape ? self : builder.append(.reshape(shape), [self])
  }
  public func transposed(_ perm: [Int]) -> Tensor { builder.append(.transpose(perm), [self]) }
  public func slice(start: [Int], size: [Int]) -> Tensor {
    builder.append(.slice(start: start, size: size), [self])
  }

  /// Matrix product, optionally with either operand transposed.
  public func matmul(_ other: Tensor, transposeSelf: Bool = false, transposeOther: Bool = false)
    -> Tensor
  {
    builder.append(.matmul(transposeA: transposeSelf, transposeB: transposeOther), [self, other])
  }

  /// The same value with no gradient flowing back through it.
  public func stopGradient() -> Tensor { builder.append(.stopGradient, [self]) }
}

/// Concatenates along `axis`.
public func concat(_ tensors: [Tensor], axis: Int) -> Tensor {
  tensors[0].builder.append(.concat(axis: axis), tensors)
}
