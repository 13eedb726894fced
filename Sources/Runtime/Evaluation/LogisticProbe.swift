import GraphIR

/// What a probe measured, whichever probe it was.
public struct ProbeResult: Sendable {
  /// Fraction of test rows classified correctly.
  public var testAccuracy: Double
  /// Fraction of training rows classified correctly by the final probe.
  public var trainAccuracy: Double
  /// How it was fitted, for reports (the weight decay chosen, iterations, final gradient).
  public var summary: String
  /// The test accuracy of a second fit from another start (zero), where the probe made one: the
  /// evidence that the figure belongs to the optimum, not to the path to it.
  public var refitTestAccuracy: Double? = nil
}

/// A probe on frozen features: fits on the training split, scores the test split.
public protocol FeatureProbe: Sendable {
  func probe(
    train: FeatureMatrix, trainLabels: [Int32], test: FeatureMatrix, testLabels: [Int32]
  ) throws -> ProbeResult
}

/// The converged linear probe: full-batch multinomial logistic regression on standardised
/// features, minimised by L-BFGS until the gradient vanishes, with its weight decay chosen on a
/// held-out part of the training split, as in the linear evaluations of the SSL literature.
///
/// The figure belongs to the features, not to an optimiser's budget: the fit stops at the
/// optimum (gradient within `solver.gradientTolerance`), and the result says whether it got
/// there. The weight decay is the candidate with the best accuracy on `validationFraction` of
/// the (seeded, shuffled) training rows, fitted on the rest, from the largest decay down, each fit
/// starting from the previous one's solution and stopping at ten times the final tolerance or a
/// tenth of its starting gradient; the final probe is refitted on every training row from the
/// chosen fit, and its test accuracy is noted as the gradient passes each power of ten; with `refitFromZero` it is fitted again from zero and both test
/// accuracies are reported, so a reader sees how much the figure depends on the start. Any
/// number of classes (the largest label + 1) and any feature width.
public struct LogisticProbe: FeatureProbe {
  public var weightDecays: [Double]
  public var validationFraction: Double
  public var solver: LBFGS
  public var seed: UInt64
  /// Whether to fit the chosen decay a second time from zero and report its test accuracy.
  public var refitFromZero: Bool

  public init(
    weightDecays: [Double] = [1e-2, 1e-3, 1e-4, 1e-5, 1e-6], validationFraction: Double = 0.1,
    solver: LBFGS = LBFGS(), seed: UInt64 = 0, refitFromZero: Bool = true
  ) {
    self.weightDecays = weightDecays
    self.validationFraction = validationFraction
    self.solver = solver
    self.seed = seed
    self.refitFromZero = refitFromZero
  }

  public func probe(
    train: FeatureMatrix, trainLabels: [Int32], test: FeatureMatrix, testLabels: [Int32]
  ) throws -> ProbeResult {
    guard test.columns == train.columns, trainLabels.count == train.rows,
      testLabels.count == test.rows, train.rows > 1
    else {
      throw TrainingError(
        "logistic probe: train [\(train.rows), \(train.columns)] with \(trainLabels.count) "
          + "labels, test [\(test.rows), \(test.columns)] with \(testLabels.count)")
    }
    if let bad = (trainLabels + testLabels).first(where: { $0 < 0 }) {
      throw TrainingError("logistic probe: label \(bad) is negative")
    }
    let classes = Int((trainLabels + testLabels).max()!) + 1
    let standardizer = FeatureStandardizer(fitting: train)
    let (x, xTest) = (standardizer.apply(train), standardizer.apply(test))
    let (decay, start, trace) = chooseWeightDecay(x, trainLabels, classes: classes)
    let objective = LogisticRegression(
      features: x, labels: trainLabels, classes: classes, weightDecay: decay)
    var path = ConvergencePath(tolerance: solver.gradientTolerance)
    let fit = solver.minimize(
      from: start,
      observe: { theta, gradientNorm in
        path.record(gradientNorm) {
          agreement(LogisticRegression.predictions(xTest, theta, classes: classes), testLabels)
        }
      }
    ) { objective.evaluate($0) }
    let testAccuracy = agreement(
      LogisticRegression.predictions(xTest, fit.x, classes: classes), testLabels)
    var summary =
      "L-BFGS, weight decay \(decay), \(fit.iterations) iterations, gradient "
      + String(format: "%.1e", fit.gradientNorm) + (fit.converged ? "" : " (not converged)")
      + path.description
    var refit: Double?
    if refitFromZero {
      let again = solver.minimize(from: [Double](repeating: 0, count: start.count)) {
        objective.evaluate($0)
      }
      refit = agreement(
        LogisticRegression.predictions(xTest, again.x, classes: classes), testLabels)
      summary += String(
        format: "; from zero %.2f%% (%+.2f points, %d iterations%@)", 100 * refit!,
        100 * (refit! - testAccuracy), again.iterations, again.converged ? "" : ", not converged")
    }
    summary += "; held out: " + trace
    return ProbeResult(
      testAccuracy: testAccuracy,
      trainAccuracy: agreement(
        LogisticRegression.predictions(x, fit.x, classes: classes), trainLabels),
      summary: summary, refitTestAccuracy: refit)
  }

  /// The weight decay with the best held-out accuracy, the solution fitted with it, and each
  /// candidate's held-out accuracy and iterations as text.
  func chooseWeightDecay(_ x: FeatureMatrix, _ labels: [Int32], classes: Int) -> (
    Double, [Double], String
  ) {
    let order = shuffledOrder(x.rows, seed: SplitMix64.seed(seed, 0x70726f6265))
    let held = max(1, Int(Double(x.rows) * validationFraction))
    let (fitRows, heldRows) = (Array(order.dropLast(held)), Array(order.suffix(held)))
    let (fitX, heldX) = (rows(x, fitRows), rows(x, heldRows))
    let (fitLabels, heldLabels) = (fitRows.map { labels[$0] }, heldRows.map { labels[$0] })
    var theta = [Double](repeating: 0, count: (x.columns + 1) * classes)
    var best: (accuracy: Double, decay: Double, theta: [Double]) = (-1, weightDecays[0], theta)
    // Choosing needs accuracies, not optima: these fits stop at ten times the final tolerance,
    // or sooner at a tenth of the gradient they start from, so that a smaller decay, whose
    // gradient at the previous solution is small, still moves to its own solution.
    var selection = solver
    var trace: [String] = []
    for decay in weightDecays {
      let objective = LogisticRegression(
        features: fitX, labels: fitLabels, classes: classes, weightDecay: decay)
      selection.gradientTolerance = min(
        10 * solver.gradientTolerance, infinityNorm(objective.evaluate(theta).gradient) / 10)
      let fit = selection.minimize(from: theta) { objective.evaluate($0) }
      theta = fit.x
      let accuracy = agreement(
        LogisticRegression.predictions(heldX, theta, classes: classes), heldLabels)
      trace.append(String(format: "%g %.2f%% (%d it)", decay, 100 * accuracy, fit.iterations))
      if accuracy > best.accuracy { best = (accuracy, decay, theta) }
    }
    return (best.decay, best.theta, trace.joined(separator: ", "))
  }
}

/// The test accuracy along a fit, taken when the gradient's largest component first falls below
/// each power of ten from 1e-2 down to the tolerance: the evidence that the figure stopped moving
/// before the fit stopped.
struct ConvergencePath {
  private var next: Double
  private let tolerance: Double
  private(set) var marks: [(gradient: Double, iteration: Int, accuracy: Double)] = []
  private var iteration = 0

  init(tolerance: Double) {
    self.tolerance = tolerance
    next = 1e-2
  }

  /// Notes one iteration; `accuracy` is evaluated only at a mark.
  mutating func record(_ gradientNorm: Double, accuracy: () -> Double) {
    iteration += 1
    guard gradientNorm <= next, next >= tolerance * 0.999 else { return }
    while next / 10 >= gradientNorm, next / 10 >= tolerance * 0.999 { next /= 10 }
    marks.append((next, iteration, accuracy()))
    next /= 10
  }

  /// "; test accuracy at gradient 1e-02 83.10% (it 40), ..." or nothing without marks.
  var description: String {
    guard !marks.isEmpty else { return "" }
    return "; test accuracy at gradient "
      + marks.map {
        String(format: "%.0e %.2f%% (it %d)", $0.gradient, 100 * $0.accuracy, $0.iteration)
      }
      .joined(separator: ", ")
  }
}

/// The rows `indices` of `matrix`, in that order.
func rows(_ matrix: FeatureMatrix, _ indices: [Int]) -> FeatureMatrix {
  var values: [Float] = []
  values.reserveCapacity(indices.count * matrix.columns)
  for i in indices { values.append(contentsOf: matrix.row(i)) }
  return FeatureMatrix(rows: indices.count, columns: matrix.columns, values: values)
}

/// The fraction of positions where the two label arrays agree (0 for empty arrays); both probes
/// score with it.
func agreement(_ a: [Int32], _ b: [Int32]) -> Double {
  guard !a.isEmpty else { return 0 }
  return Double(zip(a, b).filter { $0 == $1 }.count) / Double(a.count)
}

extension LinearProbe: FeatureProbe {
  /// The compiled AdamW probe's test and training accuracy.
  public func probe(
    train: FeatureMatrix, trainLabels: [Int32], test: FeatureMatrix, testLabels: [Int32]
  ) throws -> ProbeResult {
    let result = try evaluate(
      train: train, trainLabels: trainLabels, test: test, testLabels: testLabels)
    return ProbeResult(
      testAccuracy: result.testAccuracy, trainAccuracy: result.trainAccuracy,
      summary: "AdamW, \(epochs) epochs, final loss "
        + String(format: "%.4f", result.epochLosses.last ?? .nan))
  }
}
