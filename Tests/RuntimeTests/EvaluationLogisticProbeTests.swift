import CKernelSupport
import Foundation
import GraphIR
import Testing

@testable import Runtime

/// L-BFGS and the converged logistic-regression probe, against closed forms and finite
/// differences.
struct EvaluationLogisticProbeTests {
  @Test func lbfgsFindsTheRosenbrockMinimum() {
    let result = LBFGS(gradientTolerance: 1e-8).minimize(from: [-1.2, 1]) { p in
      let (x, y) = (p[0], p[1])
      let value = (1 - x) * (1 - x) + 100 * (y - x * x) * (y - x * x)
      return (value, [-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])
    }
    #expect(result.converged)
    #expect(abs(result.x[0] - 1) < 1e-6 && abs(result.x[1] - 1) < 1e-6, "\(result.x)")
  }

  /// Random features and labels.
  static func problem(rows: Int, columns: Int, classes: Int, seed: UInt64) -> (
    FeatureMatrix, [Int32]
  ) {
    var rng = SplitMix64(seed: seed)
    let values = (0..<rows * columns).map { _ in rng.uniform(-1...1) }
    let labels = (0..<rows).map { _ in Int32(rng.next() % UInt64(classes)) }
    return (FeatureMatrix(rows: rows, columns: columns, values: values), labels)
  }

  @Test func theObjectivesGradientMatchesCentralDifferences() {
    let (x, labels) = Self.problem(rows: 40, columns: 5, classes: 4, seed: 1)
    let objective = LogisticRegression(
      features: x, labels: labels, classes: 4, weightDecay: 0.05)
    var rng = SplitMix64(seed: 2)
    let theta = (0..<objective.parameterCount).map { _ in Double(rng.uniform(-0.5...0.5)) }
    let gradient = objective.evaluate(theta).gradient
    var worst = 0.0
    for j in theta.indices {
      var (up, down) = (theta, theta)
      up[j] += 1e-3
      down[j] -= 1e-3
      let difference = (objective.evaluate(up).value - objective.evaluate(down).value) / 2e-3
      worst = max(worst, abs(difference - gradient[j]))
    }
    #expect(worst < 1e-5, "largest gradient error \(worst)")
  }

  /// The one-pass kernel against the formula written out in double, on sizes that fill no block
  /// or chunk evenly, and bit for bit the same sums with one thread and with two.
  @Test func theOnePassObjectiveMatchesTheFormulaAtAnyThreadCount() {
    let (rows, columns, classes) = (1037, 37, 7)
    let (x, labels) = Self.problem(rows: rows, columns: columns, classes: classes, seed: 5)
    let objective = LogisticRegression(
      features: x, labels: labels, classes: classes, weightDecay: 0.01)
    var rng = SplitMix64(seed: 6)
    let theta = (0..<objective.parameterCount).map { _ in Double(rng.uniform(-1...1)) }
    var value = 0.0
    var gradient = [Double](repeating: 0, count: theta.count)
    for i in 0..<rows {
      let z = (0..<classes).map { c in
        (0..<columns).reduce(theta[columns * classes + c]) { sum, k in
          sum + Double(x.values[i * columns + k]) * theta[k * classes + c]
        }
      }
      let largest = z.max()!
      let total = z.map { exp($0 - largest) }.reduce(0, +)
      value += (log(total) + largest - z[Int(labels[i])]) / Double(rows)
      for c in 0..<classes {
        let r = (exp(z[c] - largest) / total - (c == Int(labels[i]) ? 1 : 0)) / Double(rows)
        for k in 0..<columns { gradient[k * classes + c] += r * Double(x.values[i * columns + k]) }
        gradient[columns * classes + c] += r
      }
    }
    for j in 0..<columns * classes {
      value += 0.01 / 2 * theta[j] * theta[j]
      gradient[j] += 0.01 * theta[j]
    }
    let before = hw_max_threads()
    defer { hw_set_threads(before) }
    hw_set_threads(1)
    let one = objective.evaluate(theta)
    hw_set_threads(2)
    let two = objective.evaluate(theta)
    #expect(one.value == two.value && one.gradient == two.gradient)
    #expect(abs(one.value - value) < 1e-5 * abs(value), "\(one.value) vs \(value)")
    let worst = zip(one.gradient, gradient).map { abs($0 - $1) }.max()!
    #expect(worst < 1e-6, "largest gradient error \(worst)")
  }

  /// One-hot features of C equally frequent classes: by symmetry the optimum has W = alpha on
  /// the diagonal and beta off it, the loss depends on d = alpha - beta only, and the minimum
  /// norm split is alpha = d (C-1)/C, beta = -d/C, where d solves
  /// e^-d / (1 + (C-1) e^-d) = lambda d. (The products with X are float32, so the gradient
  /// cannot vanish much below 1e-8.)
  @Test func oneHotFeaturesReachTheSymmetricClosedForm() {
    let (classes, perClass, lambda) = (4, 5, 0.1)
    var values: [Float] = []
    var labels: [Int32] = []
    for c in 0..<classes {
      for _ in 0..<perClass {
        values += (0..<classes).map { $0 == c ? 1 : 0 }
        labels.append(Int32(c))
      }
    }
    let x = FeatureMatrix(rows: classes * perClass, columns: classes, values: values)
    let objective = LogisticRegression(
      features: x, labels: labels, classes: classes, weightDecay: lambda)
    let fit = LBFGS(gradientTolerance: 1e-7).minimize(
      from: [Double](repeating: 0, count: objective.parameterCount)
    ) { objective.evaluate($0) }
    var (low, high) = (0.0, 50.0)
    let c = Double(classes)
    for _ in 0..<200 {
      let d = (low + high) / 2
      if exp(-d) / (1 + (c - 1) * exp(-d)) > lambda * d { low = d } else { high = d }
    }
    let d = (low + high) / 2
    #expect(fit.converged)
    for row in 0..<classes {
      for column in 0..<classes {
        let expected = row == column ? d * (c - 1) / c : -d / c
        #expect(abs(fit.x[row * classes + column] - expected) < 1e-5)
      }
    }
  }

  @Test func theProbeSeparatesClustersOfAnyClassCountAndReportsConvergence() throws {
    // 12 classes, each a cluster around its own corner of a 6-d cube.
    var rng = SplitMix64(seed: 5)
    func split(_ count: Int) -> (FeatureMatrix, [Int32]) {
      var values: [Float] = []
      var labels: [Int32] = []
      for i in 0..<count {
        let label = i % 12
        values += (0..<6).map { Float((label >> ($0 % 4)) & 1) * 3 + rng.uniform(-0.5...0.5) }
        values[values.count - 1] += Float(label / 4)
        labels.append(Int32(label))
      }
      return (FeatureMatrix(rows: count, columns: 6, values: values), labels)
    }
    let (train, trainLabels) = split(600)
    let (test, testLabels) = split(120)
    let result = try LogisticProbe().probe(
      train: train, trainLabels: trainLabels, test: test, testLabels: testLabels)
    #expect(result.testAccuracy > 0.95, "\(result)")
    #expect(result.summary.contains("iterations") && !result.summary.contains("not converged"))
  }
}

/// The probe's path of test accuracies, marked once per power of ten the gradient passes.
struct ConvergencePathTests {
  @Test func marksEachPowerOfTenOnceDownToTheTolerance() {
    var path = ConvergencePath(tolerance: 1e-5)
    var evaluated = 0
    for (i, gradient) in [5e-2, 8e-3, 3e-3, 2e-5, 9e-6, 1e-7].enumerated() {
      path.record(gradient) {
        evaluated += 1
        return Double(i) / 10
      }
    }
    // 8e-3 passes 1e-2; 2e-5 passes 1e-3 and 1e-4 at once (marked as 1e-4); 9e-6 passes 1e-5.
    #expect(path.marks.map(\.gradient) == [1e-2, 1e-4, 1e-5])
    #expect(path.marks.map(\.iteration) == [2, 4, 5])
    #expect(evaluated == 3)
    #expect(path.description.hasPrefix("; test accuracy at gradient 1e-02 10.00% (it 2)"))
  }
}
