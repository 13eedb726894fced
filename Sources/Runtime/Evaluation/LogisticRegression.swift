import CKernelSupport

#if canImport(Glibc)
  import Glibc
#endif

/// Multinomial logistic regression on a feature matrix: the objective L-BFGS minimises.
///
/// f(W, b) = 1/N sum_i [logsumexp(z_i) - z_i[y_i]] + lambda/2 |W|^2, z_i = x_i W + b, with W
/// [D, C] and b [C] (not decayed) packed as one vector, W row-major first. Products with X run
/// in float32 (`hw_logistic_objective`, and `hw_matmul` for predictions); the softmax, the loss
/// and the parameters are double.
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

  /// The value and gradient at `theta`: the data term in one pass over the features
  /// (`hw_logistic_objective`, the same sums at any thread count), the decay added here.
  func evaluate(_ theta: [Double]) -> (value: Double, gradient: [Double]) {
    let (n, d) = (features.rows, features.columns)
    let weights = theta[0..<d * classes].map(Float.init)
    let biases = theta[(d * classes)...].map(Float.init)
    var gradient = [Double](repeating: 0, count: parameterCount)
    var loss = 0.0
    if n > 0 {
      gradient.withUnsafeMutableBufferPointer { g in
        loss = hw_logistic_objective(
          Int32(n), Int32(d), Int32(classes), features.values, labels, weights, biases,
          g.baseAddress!, g.baseAddress! + d * classes)
      }
    }
    var penalty = 0.0
    for j in 0..<parameterCount {
      gradient[j] /= Double(max(n, 1))
      if j < d * classes {
        gradient[j] += weightDecay * theta[j]
        penalty += theta[j] * theta[j]
      }
    }
    return (loss / Double(max(n, 1)) + weightDecay / 2 * penalty, gradient)
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
