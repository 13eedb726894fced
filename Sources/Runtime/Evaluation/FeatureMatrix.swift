/// A dense matrix of features, one row per example, stored row-major in float32.
public struct FeatureMatrix: Equatable, Sendable {
  /// Number of rows (examples).
  public var rows: Int
  /// Number of columns (feature width).
  public var columns: Int
  /// `rows * columns` values, row-major: row `i` is `values[i * columns ..< (i + 1) * columns]`.
  public var values: [Float]

  /// A matrix of the given shape; `values` must hold `rows * columns` values, row-major.
  public init(rows: Int, columns: Int, values: [Float]) {
    precondition(rows >= 0 && columns >= 0, "negative shape [\(rows), \(columns)]")
    precondition(
      values.count == rows * columns,
      "\(values.count) values for a [\(rows), \(columns)] feature matrix")
    self.rows = rows
    self.columns = columns
    self.values = values
  }

  /// The raw-pixel baseline: one row per image, its CHW pixels flattened
  /// (`columns == channels * height * width`).
  public init(pixels images: LabeledImages) {
    self.init(rows: images.count, columns: images.imageSize, values: images.pixels)
  }

  /// The values of row `i`.
  public func row(_ i: Int) -> ArraySlice<Float> {
    precondition(i >= 0 && i < rows, "row \(i) out of range 0..<\(rows)")
    return values[i * columns..<(i + 1) * columns]
  }

  /// The same rows, each scaled to unit Euclidean length (rows of zeros stay zero).
  public func l2Normalized() -> FeatureMatrix {
    var result = values
    result.withUnsafeMutableBufferPointer { buffer in
      for i in 0..<rows {
        var sum: Double = 0
        for j in (i * columns)..<((i + 1) * columns) { sum += Double(buffer[j] * buffer[j]) }
        let scale = Float(1 / max(sum.squareRoot(), 1e-12))
        for j in (i * columns)..<((i + 1) * columns) { buffer[j] *= scale }
      }
    }
    return FeatureMatrix(rows: rows, columns: columns, values: result)
  }
}

/// Per-column standardisation, `(x - mean) / std`, with the statistics of one matrix (the
/// training split) applied to any other, so no test statistics leak into an evaluation.
public struct FeatureStandardizer: Equatable, Sendable {
  /// Columns whose standard deviation is below this are constant: centred, not scaled.
  public static let epsilon = 1e-6
  /// Per-column mean of the fitted matrix.
  public let mean: [Double]
  /// Per-column population standard deviation of the fitted matrix.
  public let standardDeviation: [Double]

  /// Computes the per-column mean and standard deviation of `matrix` (accumulated in double).
  public init(fitting matrix: FeatureMatrix) {
    var sum = [Double](repeating: 0, count: matrix.columns)
    var sumOfSquares = sum
    let count = Double(max(matrix.rows, 1))
    matrix.values.withUnsafeBufferPointer { values in
      for i in 0..<matrix.rows {
        for j in 0..<matrix.columns { sum[j] += Double(values[i * matrix.columns + j]) }
      }
      let mean = sum.map { $0 / count }
      for i in 0..<matrix.rows {
        for j in 0..<matrix.columns {
          let d = Double(values[i * matrix.columns + j]) - mean[j]
          sumOfSquares[j] += d * d
        }
      }
    }
    mean = sum.map { $0 / count }
    standardDeviation = sumOfSquares.map { ($0 / count).squareRoot() }
  }

  /// `matrix` with each column centred by the fitted mean and divided by the fitted standard
  /// deviation (by 1 where that is below `epsilon`).
  public func apply(_ matrix: FeatureMatrix) -> FeatureMatrix {
    precondition(
      matrix.columns == mean.count,
      "standardizer fitted on \(mean.count) columns, applied to \(matrix.columns)")
    let inverse = standardDeviation.map { $0 < Self.epsilon ? 1 : 1 / $0 }
    var result = matrix.values
    result.withUnsafeMutableBufferPointer { values in
      for i in 0..<matrix.rows {
        for j in 0..<matrix.columns {
          let index = i * matrix.columns + j
          values[index] = Float((Double(values[index]) - mean[j]) * inverse[j])
        }
      }
    }
    return FeatureMatrix(rows: matrix.rows, columns: matrix.columns, values: result)
  }
}
