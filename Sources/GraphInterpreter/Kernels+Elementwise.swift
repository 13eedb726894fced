import GraphIR

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The op implementations, on row-major `[Double]` buffers whose shapes the caller passes in.
enum Kernels {}

// Constants, elementwise ops, reductions and one-hot.
extension Kernels {
  static func constant(_ constant: Constant, _ type: TensorType) -> [Double] {
    switch constant {
    case .splat(let value):
      return Array(repeating: value, count: type.elementCount)
    case .values(let values):
      return values
    case .ratio:
      return Array(repeating: constant.uniformValue!, count: type.elementCount)
    case .diagonal(let offset, let value):
      let (n, m) = (type.shape[0], type.shape[1])
      var result = Array(repeating: 0.0, count: n * m)
      for i in 0..<n {
        // j == (i + offset) mod m, taking the non-negative remainder.
        let j = ((i + offset) % m + m) % m
        result[i * m + j] = value
      }
      return result
    }
  }

  static func unary(_ op: UnaryOp, _ x: [Double]) -> [Double] {
    switch op {
    case .neg: x.map { -$0 }
    case .exp: x.map { exp($0) }
    case .log: x.map { log($0) }
    case .sqrt: x.map { sqrt($0) }
    case .rsqrt: x.map { 1 / sqrt($0) }
    case .relu: x.map { $0 > 0 ? $0 : 0 }
    case .abs: x.map { Swift.abs($0) }
    }
  }

  static func power(_ x: [Double], _ exponent: Double) -> [Double] {
    x.map { pow($0, exponent) }
  }

  static func binary(_ op: BinaryOp, _ a: [Double], _ b: [Double]) -> [Double] {
    switch op {
    case .add: zip(a, b).map { $0 + $1 }
    case .sub: zip(a, b).map { $0 - $1 }
    case .mul: zip(a, b).map { $0 * $1 }
    case .div: zip(a, b).map { $0 / $1 }
    case .max: zip(a, b).map { Swift.max($0, $1) }
    case .min: zip(a, b).map { Swift.min($0, $1) }
    }
  }

  static func compare(_ op: Comparison, _ a: [Double], _ b: [Double]) -> [Double] {
    let holds: (Double, Double) -> Bool =
      switch op {
      case .lt: (<)
      case .le: (<=)
      case .gt: (>)
      case .ge: (>=)
      case .eq: (==)
      case .ne: (!=)
      }
    return zip(a, b).map { holds($0, $1) ? 1 : 0 }
  }

  static func select(_ mask: [Double], _ a: [Double], _ b: [Double]) -> [Double] {
    mask.indices.map { mask[$0] != 0 ? a[$0] : b[$0] }
  }

  /// Sum, mean or max over `axes`, keeping them with size 1.
  static func reduce(_ op: ReduceOp, axes: [Int], _ x: [Double], _ shape: [Int]) -> [Double] {
    var resultShape = shape
    for axis in axes { resultShape[axis] = 1 }
    // Walk the operand in row-major order; each element lands on the result element whose
    // index is the same with the reduced axes set to 0 (stride 0 on those axes).
    var strides = rowMajorStrides(resultShape)
    for axis in axes { strides[axis] = 0 }
    let targets = stridedOffsets(shape: shape, strides: strides)
    let count = resultShape.reduce(1, *)
    switch op {
    case .sum, .mean:
      var result = Array(repeating: 0.0, count: count)
      for (index, target) in targets.enumerated() { result[target] += x[index] }
      if op == .mean {
        let reduced = Double(axes.map { shape[$0] }.reduce(1, *))
        for index in result.indices { result[index] /= reduced }
      }
      return result
    case .max:
      var result = Array(repeating: -Double.infinity, count: count)
      for (index, target) in targets.enumerated() {
        result[target] = Swift.max(result[target], x[index])
      }
      return result
    }
  }

  /// int32 labels `[N]` to a float `[N, classes]` one-hot matrix.
  static func oneHot(_ labels: [Double], classes: Int) throws(InterpreterError) -> [Double] {
    var result = Array(repeating: 0.0, count: labels.count * classes)
    for (index, label) in labels.enumerated() {
      guard label >= 0, label < Double(classes), label.rounded() == label else {
        let shown = label.rounded() == label && abs(label) < 1e15 ? "\(Int(label))" : "\(label)"
        throw InterpreterError(
          "label \(shown) at index \(index) is out of range 0..<\(classes)")
      }
      result[index * classes + Int(label)] = 1
    }
    return result
  }
}
