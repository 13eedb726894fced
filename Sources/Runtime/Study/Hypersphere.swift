import Foundation

/// Alignment and uniformity of L2-normalised features (Wang & Isola 2020): how close the two
/// views of each sample land, and how evenly the samples spread over the unit hypersphere.
///
/// Feature matrices are row-major with one sample per row; every row is L2-normalised before
/// measuring (a zero row stays zero).
public enum Hypersphere {
  /// The alignment loss with alpha = 2: the mean over samples `i` of `||f(x_i) - f(y_i)||^2`,
  /// where row `i` of `view1` and row `i` of `view2` are the two views of sample `i`. It lies in
  /// [0, 4]: 0 for identical views, 4 for antipodal ones.
  public static func alignment(view1: [Float], view2: [Float], columns: Int) -> Double {
    precondition(view1.count == view2.count, "the two views must have the same shape")
    precondition(columns > 0 && view1.count % columns == 0, "values must hold whole rows")
    let rows = view1.count / columns
    guard rows > 0 else { return 0 }
    let (a, b) = (normalizedRows(view1, columns: columns), normalizedRows(view2, columns: columns))
    var total = 0.0
    for r in 0..<rows {
      var squared = 0.0
      for c in 0..<columns {
        let d = Double(a[r * columns + c]) - Double(b[r * columns + c])
        squared += d * d
      }
      total += squared
    }
    return total / Double(rows)
  }

  /// The uniformity loss with t = 2: `log` of the mean over distinct pairs of rows of
  /// `exp(-2 ||f(x) - f(y)||^2)`. Lower (more negative) is more uniform; the minimum on the
  /// circle is about -2 and the value is 0 when all points coincide.
  ///
  /// When there are more than `maxRows` rows, the pairs are those among `maxRows` rows taken at
  /// evenly spaced indices (deterministic, and spread over the whole set even when it is sorted
  /// by class). Cost: `maxRows^2 / 2` dot products of length `columns`.
  public static func uniformity(features: [Float], columns: Int, maxRows: Int = 4096) -> Double {
    precondition(columns > 0 && features.count % columns == 0, "values must hold whole rows")
    let all = features.count / columns
    let picked = subsample(rows: all, maxRows: maxRows)
    let n = picked.count
    guard n >= 2 else { return 0 }
    var x = [Float](repeating: 0, count: n * columns)
    for (k, r) in picked.enumerated() {
      x[(k * columns)..<((k + 1) * columns)] = features[(r * columns)..<((r + 1) * columns)]
    }
    x = normalizedRows(x, columns: columns)
    let sum = pairKernelSum(x, rows: n, columns: columns)
    return log(sum / (Double(n) * Double(n - 1) / 2))
  }

  /// The indices of at most `maxRows` of `rows` rows, evenly spaced and increasing.
  static func subsample(rows: Int, maxRows: Int) -> [Int] {
    guard rows > maxRows else { return Array(0..<rows) }
    return (0..<maxRows).map { $0 * rows / maxRows }
  }

  /// The rows of `values` scaled to unit L2 norm (zero rows stay zero).
  static func normalizedRows(_ values: [Float], columns: Int) -> [Float] {
    var out = values
    for start in stride(from: 0, to: values.count, by: columns) {
      var squared = 0.0
      for c in start..<(start + columns) { squared += Double(values[c]) * Double(values[c]) }
      guard squared > 0 else { continue }
      let scale = 1 / squared.squareRoot()
      for c in start..<(start + columns) { out[c] = Float(Double(values[c]) * scale) }
    }
    return out
  }

  /// The sum over pairs i < j of `exp(-2 ||x_i - x_j||^2) = exp(4 x_i . x_j - 4)` for unit rows.
  static func pairKernelSum(_ x: [Float], rows n: Int, columns: Int) -> Double {
    let width = (columns + 7) / 8
    // Rows padded with zeros to whole SIMD8 vectors.
    var packed = [SIMD8<Float>](repeating: .zero, count: n * width)
    for r in 0..<n {
      for c in 0..<columns { packed[r * width + c / 8][c % 8] = x[r * columns + c] }
    }
    var total = 0.0
    packed.withUnsafeBufferPointer { p in
      for i in 1..<n {
        let xi = p.baseAddress! + i * width
        var rowSum = 0.0
        for j in 0..<i {
          let xj = p.baseAddress! + j * width
          var acc = SIMD8<Float>.zero
          for k in 0..<width { acc += xi[k] * xj[k] }
          let dot = min(Double(acc.sum()), 1)
          rowSum += exp(4 * dot - 4)
        }
        total += rowSum
      }
    }
    return total
  }
}
