import Foundation

/// The singular values of a centred feature matrix, and the summaries of them that measure
/// dimensional collapse (Jing et al. 2022): the effective rank (Roy & Vetterli 2007) and the
/// number of singular values that are not negligible.
///
/// The feature matrix has one sample per row. Its columns are centred, the covariance
/// `X^T X / (rows - 1)` is formed in `Double`, its eigenvalues are found by
/// `SymmetricEigen.eigenvalues(of:size:)`, and the singular values of the centred matrix are
/// `sqrt(max(eigenvalue, 0) * (rows - 1))`.
public struct Spectrum: Sendable, Equatable {
  /// The singular values of the centred feature matrix, largest first.
  public let singularValues: [Double]

  /// A spectrum with the given singular values (sorted here, largest first).
  public init(singularValues: [Double]) {
    self.singularValues = singularValues.sorted(by: >)
  }

  /// The spectrum of the row-major `rows` x `columns` feature matrix `values` (one sample per
  /// row; `rows` must be at least 2).
  public init(rows: Int, columns: Int, values: [Float]) {
    let covariance = Spectrum.covariance(rows: rows, columns: columns, values: values)
    let eigenvalues = SymmetricEigen.eigenvalues(of: covariance, size: columns)
    let scale = Double(rows - 1)
    self.init(singularValues: eigenvalues.map { (max($0, 0) * scale).squareRoot() })
  }

  /// The effective rank: the exponential of the Shannon entropy of the singular values
  /// normalised to sum to one, `exp(-sum p_i log p_i)` with `p_i = s_i / sum_j s_j`. It lies
  /// between 1 (one direction) and the number of columns (isotropic); 0 for a zero matrix.
  public var effectiveRank: Double {
    let total = singularValues.reduce(0, +)
    guard total > 0 else { return 0 }
    var entropy = 0.0
    for s in singularValues where s > 0 {
      let p = s / total
      entropy -= p * log(p)
    }
    return exp(entropy)
  }

  /// The number of singular values larger than `relativeTolerance` times the largest one.
  public func rank(relativeTolerance: Double = 1e-3) -> Int {
    guard let largest = singularValues.first, largest > 0 else { return 0 }
    return singularValues.filter { $0 > relativeTolerance * largest }.count
  }

  /// The unbiased covariance (`columns` x `columns`, row-major, divided by `rows - 1`) of the
  /// row-major `rows` x `columns` feature matrix `values`, computed in `Double`.
  public static func covariance(rows: Int, columns: Int, values: [Float]) -> [Double] {
    precondition(rows >= 2, "covariance needs at least two rows")
    precondition(values.count == rows * columns, "values must hold rows * columns entries")
    let mean = columnMeans(rows: rows, columns: columns, values: values)
    let padded = (columns + 1) / 2 * 2
    var gram = [Double](repeating: 0, count: padded * padded)
    var block = [SIMD4<Double>](repeating: .zero, count: padded * GramBlock.lanes)
    for start in stride(from: 0, to: rows, by: GramBlock.rows) {
      let count = min(GramBlock.rows, rows - start)
      GramBlock.fillTransposed(
        &block, values: values, columns: columns, start: start, count: count, mean: mean)
      GramBlock.accumulate(block, columns: padded, lanes: (count + 3) / 4, into: &gram)
    }
    var covariance = [Double](repeating: 0, count: columns * columns)
    let scale = 1 / Double(rows - 1)
    for i in 0..<columns {
      for j in 0...i {
        let value = gram[i * padded + j] * scale
        covariance[i * columns + j] = value
        covariance[j * columns + i] = value
      }
    }
    return covariance
  }

  /// The mean of each column of the row-major `rows` x `columns` matrix `values`.
  static func columnMeans(rows: Int, columns: Int, values: [Float]) -> [Double] {
    var mean = [Double](repeating: 0, count: columns)
    values.withUnsafeBufferPointer { x in
      for r in 0..<rows {
        let row = x.baseAddress! + r * columns
        for c in 0..<columns { mean[c] += Double(row[c]) }
      }
    }
    return mean.map { $0 / Double(rows) }
  }
}

/// A block of rows of a feature matrix, centred and transposed (each column's values
/// contiguous, four to a SIMD vector), and the Gram-matrix accumulation over such blocks.
enum GramBlock {
  /// Rows per block: a multiple of 4, sized so a 512-column block (512 KiB) stays in cache.
  static let rows = 128
  /// SIMD4 vectors per column in a block.
  static let lanes = rows / 4

  /// Fills `block` with rows `start..<start + count` of `values`, centred by `mean`, transposed;
  /// entries past `count` and past `columns` are zero.
  static func fillTransposed(
    _ block: inout [SIMD4<Double>], values: [Float], columns: Int, start: Int, count: Int,
    mean: [Double]
  ) {
    if count < rows { for k in block.indices { block[k] = .zero } }
    values.withUnsafeBufferPointer { x in
      block.withUnsafeMutableBufferPointer { block in
        for r in 0..<count {
          let row = x.baseAddress! + (start + r) * columns
          let (lane, slot) = (r / 4, r % 4)
          for c in 0..<columns { block[c * lanes + lane][slot] = Double(row[c]) - mean[c] }
        }
      }
    }
  }

  /// Adds the lower triangle (by 2 x 2 tiles) of `block^T block` to the row-major
  /// `columns` x `columns` matrix `gram`; `columns` is even and only the first `used` vectors
  /// of each column are read.
  static func accumulate(
    _ block: [SIMD4<Double>], columns: Int, lanes used: Int, into gram: inout [Double]
  ) {
    block.withUnsafeBufferPointer { b in
      gram.withUnsafeMutableBufferPointer { g in
        for i in stride(from: 0, to: columns, by: 2) {
          let (x0, x1) = (b.baseAddress! + i * lanes, b.baseAddress! + (i + 1) * lanes)
          for j in stride(from: 0, through: i, by: 2) {
            let (y0, y1) = (b.baseAddress! + j * lanes, b.baseAddress! + (j + 1) * lanes)
            var (a00, a01, a10, a11) = (
              SIMD4<Double>.zero, SIMD4<Double>.zero, SIMD4<Double>.zero, SIMD4<Double>.zero
            )
            for k in 0..<used {
              let (u0, u1, v0, v1) = (x0[k], x1[k], y0[k], y1[k])
              a00 += u0 * v0
              a01 += u0 * v1
              a10 += u1 * v0
              a11 += u1 * v1
            }
            g[i * columns + j] += a00.sum()
            g[i * columns + j + 1] += a01.sum()
            g[(i + 1) * columns + j] += a10.sum()
            g[(i + 1) * columns + j + 1] += a11.sum()
          }
        }
      }
    }
  }
}
