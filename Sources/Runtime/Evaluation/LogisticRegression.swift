import CKernelSupport
import Dispatch

#if canImport(Glibc)
  import Glibc
#endif

/// Multinomial logistic regression on a feature matrix: the objective L-BFGS minimises.
///
/// f(W, b) = 1/N sum_i [logsumexp(z_i) - z_i[y_i]] + lambda/2 |W|^2, z_i = x_i W + b, with W
/// [D, C] and b [C] (not decayed) packed as one vector, W row-major first. Products with X run
/// in float32 through `hw_matmul` (OpenBLAS); the softmax, the loss and the parameters are
/// double.
struct LogisticRegression {
  let features: FeatureMatrix
  let labels: [Int32]
  let classes: Int
  let weightDecay: Double

  var parameterCount: Int { (features.columns + 1) * classes }

  /// The logits of `matrix` under packed parameters `theta`, [rows, C] row-major.
  static func logits(_ matrix: FeatureMatrix, _ theta: [Double], classes: Int) -> [Float] {
    let (n, d) = (matrix.rows, matrix.columns)
    let weights = theta[0..<d * classes].map(Float.init)
    var out = [Float](repeating: 0, count: n * classes)
    if n > 0 && d > 0 {
      hw_matmul(Int32(n), Int32(classes), Int32(d), 0, 0, matrix.values, weights, &out)
    }
    for i in 0..<n {
      for c in 0..<classes { out[i * classes + c] += Float(theta[d * classes + c]) }
    }
    return out
  }

  /// The value and gradient at `theta`.
  func evaluate(_ theta: [Double]) -> (value: Double, gradient: [Double]) {
    let (n, d) = (features.rows, features.columns)
    var residual = Self.logits(features, theta, classes: classes)  // becomes (P - Y) / N
    // Rows in a fixed number of chunks over the cores, partial sums added in chunk order: the
    // same result at any thread count.
    let chunks = 16
    var partial = [Double](repeating: 0, count: chunks * (classes + 1))
    residual.withUnsafeMutableBufferPointer { z in
      partial.withUnsafeMutableBufferPointer { sums in
        let shared = SoftmaxBuffers(z: z.baseAddress!, sums: sums.baseAddress!)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
          softmaxResidual(
            shared.z, rows: (chunk * n / chunks)..<((chunk + 1) * n / chunks), count: n,
            sums: shared.sums + chunk * (classes + 1))
        }
      }
    }
    var loss = 0.0
    var biasGradient = [Double](repeating: 0, count: classes)
    for chunk in 0..<chunks {
      loss += partial[chunk * (classes + 1)]
      for c in 0..<classes { biasGradient[c] += partial[chunk * (classes + 1) + 1 + c] }
    }
    var weightGradient = [Float](repeating: 0, count: d * classes)
    if n > 0 && d > 0 {
      hw_matmul(
        Int32(d), Int32(classes), Int32(n), 1, 0, features.values, residual, &weightGradient)
    }
    var gradient = [Double](repeating: 0, count: parameterCount)
    var penalty = 0.0
    for j in 0..<d * classes {
      gradient[j] = Double(weightGradient[j]) + weightDecay * theta[j]
      penalty += theta[j] * theta[j]
    }
    for c in 0..<classes { gradient[d * classes + c] = biasGradient[c] }
    return (loss / Double(max(n, 1)) + weightDecay / 2 * penalty, gradient)
  }

  /// Replaces the logits of `rows` by (softmax - onehot) / `count`; adds their loss to
  /// `sums[0]` and their residuals per class to `sums[1...]`.
  private func softmaxResidual(
    _ z: UnsafeMutablePointer<Float>, rows: Range<Int>, count n: Int,
    sums: UnsafeMutablePointer<Double>
  ) {
    var e = [Double](repeating: 0, count: classes)
    for i in rows {
      let row = z + i * classes
      var largest = -Double.infinity
      for c in 0..<classes { largest = max(largest, Double(row[c])) }
      var total = 0.0
      for c in 0..<classes {
        e[c] = exp(Double(row[c]) - largest)
        total += e[c]
      }
      let label = Int(labels[i])
      sums[0] += log(total) + largest - Double(row[label])
      for c in 0..<classes {
        let r = (e[c] / total - (c == label ? 1 : 0)) / Double(n)
        row[c] = Float(r)
        sums[1 + c] += r
      }
    }
  }

  /// The predicted class of every row of `matrix`.
  static func predictions(_ matrix: FeatureMatrix, _ theta: [Double], classes: Int) -> [Int32] {
    let logits = logits(matrix, theta, classes: classes)
    return (0..<matrix.rows).map { i in
      var best = 0
      for c in 1..<classes where logits[i * classes + c] > logits[i * classes + best] { best = c }
      return Int32(best)
    }
  }
}

/// The logits and the per-chunk sums, shared with concurrentPerform's iterations; each writes
/// only its own rows and its own chunk's sums.
private struct SoftmaxBuffers: @unchecked Sendable {
  let z: UnsafeMutablePointer<Float>
  let sums: UnsafeMutablePointer<Double>
}
