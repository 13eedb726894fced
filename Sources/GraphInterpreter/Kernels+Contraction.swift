// Matrix products: the one multiply-accumulate loop that matmul and the convolutions share.
extension Kernels {
  /// `c[m, n] += a[m, k] * b[k, n]`, all row-major, looping i-k-j so the inner loop runs along
  /// contiguous rows of `b` and `c`.
  static func multiplyAccumulate(
    _ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, into c: UnsafeMutablePointer<Double>,
    m: Int, k: Int, n: Int
  ) {
    for i in 0..<m {
      let row = c + i * n
      for p in 0..<k {
        let scale = a[i * k + p]
        let bRow = b + p * n
        for j in 0..<n { row[j] += scale * bRow[j] }
      }
    }
  }

  /// The `[cols, rows]` transpose of a row-major `[rows, cols]` matrix.
  static func transposed(_ x: [Double], rows: Int, cols: Int) -> [Double] {
    var result = Array(repeating: 0.0, count: rows * cols)
    for i in 0..<rows {
      for j in 0..<cols { result[j * rows + i] = x[i * cols + j] }
    }
    return result
  }

  /// The 2-D product `op(A) * op(B)`, where `op` transposes when asked.
  static func matmul(
    _ a: [Double], _ aShape: [Int], _ transposeA: Bool,
    _ b: [Double], _ bShape: [Int], _ transposeB: Bool
  ) -> [Double] {
    let lhs = transposeA ? transposed(a, rows: aShape[0], cols: aShape[1]) : a
    let rhs = transposeB ? transposed(b, rows: bShape[0], cols: bShape[1]) : b
    let (m, k) = transposeA ? (aShape[1], aShape[0]) : (aShape[0], aShape[1])
    let n = transposeB ? bShape[0] : bShape[1]
    var result = Array(repeating: 0.0, count: m * n)
    lhs.withUnsafeBufferPointer { lhs in
      rhs.withUnsafeBufferPointer { rhs in
        result.withUnsafeMutableBufferPointer { out in
          multiplyAccumulate(
            lhs.baseAddress!, rhs.baseAddress!, into: out.baseAddress!, m: m, k: k, n: n)
        }
      }
    }
    return result
  }
}
