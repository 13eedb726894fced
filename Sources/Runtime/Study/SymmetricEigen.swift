import Foundation

/// Eigenvalues (and, for small matrices, eigenvectors) of real symmetric matrices stored
/// row-major in `Double`.
///
/// Two methods: `eigenvalues(of:size:)` reduces the matrix to tridiagonal form with Householder
/// reflections and then runs the implicit QL algorithm with Wilkinson-style shifts (O(n^3) with
/// a small constant, fast up to a few thousand rows), and `jacobi(_:size:)`, the cyclic Jacobi
/// method, which also returns eigenvectors and is the simple, very accurate reference for small
/// matrices (each sweep costs O(n^3) and several sweeps are needed).
public enum SymmetricEigen {
  /// The eigenvalues of the symmetric `size` x `size` row-major matrix `matrix`, sorted in
  /// descending order. Only the lower triangle is read.
  public static func eigenvalues(of matrix: [Double], size n: Int) -> [Double] {
    precondition(matrix.count == n * n, "matrix must hold size * size values")
    if n == 0 { return [] }
    var a = matrix
    var diagonal = [Double](repeating: 0, count: n)
    var offDiagonal = [Double](repeating: 0, count: n)
    a.withUnsafeMutableBufferPointer { a in
      tridiagonalize(a.baseAddress!, n, &diagonal, &offDiagonal)
    }
    tridiagonalQL(&diagonal, &offDiagonal)
    return diagonal.sorted(by: >)
  }

  /// The eigen-decomposition of the symmetric `size` x `size` row-major matrix `matrix` by the
  /// cyclic Jacobi method: eigenvalues in descending order, and the eigenvectors as the columns
  /// of the row-major `size` x `size` matrix `vectors` (column `k` belongs to `values[k]`).
  public static func jacobi(_ matrix: [Double], size n: Int, maxSweeps: Int = 100) -> (
    values: [Double], vectors: [Double]
  ) {
    precondition(matrix.count == n * n, "matrix must hold size * size values")
    var a = matrix
    var v = [Double](repeating: 0, count: n * n)
    for i in 0..<n { v[i * n + i] = 1 }
    let total = a.reduce(0) { $0 + $1 * $1 }
    for _ in 0..<maxSweeps {
      var off = 0.0
      for p in 0..<n { for q in 0..<n where q != p { off += a[p * n + q] * a[p * n + q] } }
      if off <= 1e-30 * total || off == 0 { break }
      for p in 0..<n {
        for q in (p + 1)..<max(p + 1, n) { rotate(&a, &v, n, p, q) }
      }
    }
    let order = (0..<n).sorted { a[$0 * n + $0] > a[$1 * n + $1] }
    var vectors = [Double](repeating: 0, count: n * n)
    for (k, column) in order.enumerated() {
      for i in 0..<n { vectors[i * n + k] = v[i * n + column] }
    }
    return (order.map { a[$0 * n + $0] }, vectors)
  }

  /// One Jacobi rotation A <- J^T A J, V <- V J zeroing A[p][q].
  private static func rotate(_ a: inout [Double], _ v: inout [Double], _ n: Int, _ p: Int, _ q: Int)
  {
    let apq = a[p * n + q]
    if apq == 0 { return }
    let tau = (a[q * n + q] - a[p * n + p]) / (2 * apq)
    let t = (tau >= 0 ? 1.0 : -1.0) / (abs(tau) + (1 + tau * tau).squareRoot())
    let c = 1 / (1 + t * t).squareRoot()
    let s = t * c
    for k in 0..<n {
      let (akp, akq) = (a[k * n + p], a[k * n + q])
      a[k * n + p] = c * akp - s * akq
      a[k * n + q] = s * akp + c * akq
    }
    for k in 0..<n {
      let (apk, aqk) = (a[p * n + k], a[q * n + k])
      a[p * n + k] = c * apk - s * aqk
      a[q * n + k] = s * apk + c * aqk
    }
    a[p * n + q] = 0
    a[q * n + p] = 0
    for k in 0..<n {
      let (vkp, vkq) = (v[k * n + p], v[k * n + q])
      v[k * n + p] = c * vkp - s * vkq
      v[k * n + q] = s * vkp + c * vkq
    }
  }

  /// Householder reduction of the lower triangle of `a` to a tridiagonal matrix with diagonal
  /// `d` and subdiagonal `e` (`e[i]` couples rows `i` and `i + 1`; `e[n - 1]` is 0). Only the
  /// lower triangle of `a` is read and updated, row by row, so every inner loop is contiguous.
  static func tridiagonalize(
    _ a: UnsafeMutablePointer<Double>, _ n: Int, _ d: inout [Double], _ e: inout [Double]
  ) {
    var v = [Double](repeating: 0, count: n)
    var w = [Double](repeating: 0, count: n)
    for k in 0..<max(n - 2, 0) {
      // Reflect x = A[k+1..<n][k] onto a multiple of the first unit vector.
      let m = k + 1
      var scale = 0.0
      for i in m..<n { scale = max(scale, abs(a[i * n + k])) }
      if scale == 0 {
        e[k] = 0
        continue
      }
      var norm2 = 0.0
      for i in m..<n {
        v[i] = a[i * n + k] / scale
        norm2 += v[i] * v[i]
      }
      let alpha = v[m] >= 0 ? -norm2.squareRoot() : norm2.squareRoot()
      e[k] = alpha * scale
      v[m] -= alpha
      // With v = x - alpha e1: v^T v = 2 (norm2 - alpha x1) and H = I - tau v v^T.
      let tau = 1 / (norm2 - alpha * (v[m] + alpha))
      // H A H = A - v w^T - w v^T with p = tau A v and w = p - (tau p^T v / 2) v.
      symmetricLowerMultiply(a, n, from: m, v, &w)
      var wv = 0.0
      for i in m..<n {
        w[i] *= tau
        wv += w[i] * v[i]
      }
      let half = 0.5 * tau * wv
      for i in m..<n { w[i] -= half * v[i] }
      // Trailing block A <- A - v w^T - w v^T, lower triangle only.
      for i in m..<n {
        let (vi, wi) = (v[i], w[i])
        let row = a + i * n
        for j in m...i { row[j] -= vi * w[j] + wi * v[j] }
      }
    }
    for i in 0..<n { d[i] = a[i * n + i] }
    if n >= 2 { e[n - 2] = a[(n - 1) * n + (n - 2)] }
    e[n - 1] = 0
  }

  /// w[m..<n] = A[m..<n][m..<n] v[m..<n] for the symmetric matrix whose lower triangle is `a`.
  private static func symmetricLowerMultiply(
    _ a: UnsafeMutablePointer<Double>, _ n: Int, from m: Int, _ v: [Double], _ w: inout [Double]
  ) {
    for i in m..<n { w[i] = 0 }
    v.withUnsafeBufferPointer { v in
      w.withUnsafeMutableBufferPointer { w in
        for i in m..<n {
          let row = a + i * n
          let vi = v[i]
          var dot = 0.0
          for j in m..<i {
            dot += row[j] * v[j]
            w[j] += row[j] * vi
          }
          w[i] += dot + row[i] * vi
        }
      }
    }
  }

  /// The implicit QL algorithm on the symmetric tridiagonal matrix with diagonal `d` and
  /// subdiagonal `e` (`e[i]` couples `i` and `i + 1`); on return `d` holds the eigenvalues.
  static func tridiagonalQL(_ d: inout [Double], _ e: inout [Double]) {
    let n = d.count
    for l in 0..<n {
      var iterations = 0
      while true {
        var m = l
        while m < n - 1 {
          let dd = abs(d[m]) + abs(d[m + 1])
          if abs(e[m]) <= Double.ulpOfOne * dd { break }
          m += 1
        }
        if m == l { break }
        iterations += 1
        if iterations > 100 { break }
        var g = (d[l + 1] - d[l]) / (2 * e[l])
        var r = (g * g + 1).squareRoot()
        g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r))
        var (s, c, p) = (1.0, 1.0, 0.0)
        var i = m - 1
        var deflated = false
        while i >= l {
          let f = s * e[i]
          let b = c * e[i]
          r = (f * f + g * g).squareRoot()
          e[i + 1] = r
          if r == 0 {
            d[i + 1] -= p
            e[m] = 0
            deflated = true
            break
          }
          s = f / r
          c = g / r
          g = d[i + 1] - p
          r = (d[i] - g) * s + 2 * c * b
          p = s * r
          d[i + 1] = g + p
          g = c * r - b
          i -= 1
        }
        if deflated { continue }
        d[l] -= p
        e[l] = g
        e[m] = 0
      }
    }
  }
}
