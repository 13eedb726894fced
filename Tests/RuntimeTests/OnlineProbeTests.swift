import Foundation
import GraphIR
import Testing

@testable import Runtime

/// The online probe against closed forms and separable data.
@Suite struct OnlineProbeTests {
  /// Rows of `width` values: class c has mean 3 in column c, noise in [-1, 1) elsewhere.
  static func blobs(_ rows: Int, width: Int, classes: Int, seed: UInt64) -> ([Float], [Int32]) {
    var random = SplitMix64(seed: seed)
    var values: [Float] = []
    var labels: [Int32] = []
    for i in 0..<rows {
      let label = i % classes
      labels.append(Int32(label))
      for j in 0..<width { values.append((j == label ? 3 : 0) + 2 * Float(random.unit()) - 1) }
    }
    return (values, labels)
  }

  @Test func `the first step from zero is minus the rate times the uniform-softmax gradient`() {
    let (width, classes, rows) = (3, 4, 6)
    let (x, labels) = Self.blobs(rows, width: width, classes: classes, seed: 1)
    var probe = OnlineProbe(width: width, classes: classes)
    let accuracy = x.withUnsafeBufferPointer { probe.step(features: $0, labels: labels) }
    // Zero logits: every class ties, so class 0 is predicted; rows 0 and 4 have label 0.
    #expect(accuracy == 2.0 / 6.0)
    // Standardised columns (batch mean and variance), gradient (1/C - onehot)^T xhat / rows.
    for j in 0..<width {
      let column = (0..<rows).map { Double(x[$0 * width + j]) }
      let mean = column.reduce(0, +) / Double(rows)
      let variance = column.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(rows)
      let xhat = column.map { ($0 - mean) / (variance + 1e-5).squareRoot() }
      for c in 0..<classes {
        let gradient =
          (0..<rows).map { (1.0 / Double(classes) - (labels[$0] == c ? 1 : 0)) * xhat[$0] }
          .reduce(0, +) / Double(rows)
        let expected = -0.1 * gradient
        #expect(abs(Double(probe.weight[c * width + j]) - expected) < 1e-6)
      }
    }
    let biasGradient = (0..<classes).map { c in
      (0..<rows).map { 1.0 / Double(classes) - (labels[$0] == c ? 1 : 0) }.reduce(0, +)
        / Double(rows)
    }
    for c in 0..<classes { #expect(abs(Double(probe.bias[c]) + 0.1 * biasGradient[c]) < 1e-6) }
  }

  @Test func `on separable classes it learns them and scores held-out rows`() {
    let (width, classes) = (8, 5)
    var probe = OnlineProbe(width: width, classes: classes)
    var last = 0.0
    for step in 0..<200 {
      let (x, labels) = Self.blobs(40, width: width, classes: classes, seed: UInt64(step + 10))
      last = x.withUnsafeBufferPointer { probe.step(features: $0, labels: labels) } ?? 0
    }
    #expect(last > 0.95)
    let (x, labels) = Self.blobs(500, width: width, classes: classes, seed: 999)
    let predicted = probe.predict(FeatureMatrix(rows: 500, columns: width, values: x))
    #expect(agreement(predicted, labels) > 0.95)
  }

  @Test func `unlabelled rows are skipped and a restored probe continues identically`() throws {
    let (x, labels) = Self.blobs(10, width: 4, classes: 3, seed: 2)
    var probe = OnlineProbe(width: 4, classes: 3)
    let unlabelled = [Int32](repeating: -1, count: 10)
    #expect(x.withUnsafeBufferPointer { probe.step(features: $0, labels: unlabelled) } == nil)
    #expect(probe.weight.allSatisfy { $0 == 0 })
    _ = x.withUnsafeBufferPointer { probe.step(features: $0, labels: labels) }
    var copy = OnlineProbe(width: 4, classes: 3)
    #expect(try copy.restore(from: probe.tensors(), path: "test"))
    let (y, more) = Self.blobs(10, width: 4, classes: 3, seed: 3)
    let a = y.withUnsafeBufferPointer { probe.step(features: $0, labels: more) }
    let b = y.withUnsafeBufferPointer { copy.step(features: $0, labels: more) }
    #expect(a == b && probe.weight == copy.weight && probe.runningMean == copy.runningMean)
    var wrong = OnlineProbe(width: 5, classes: 3)
    #expect(throws: TrainingError.self) { try wrong.restore(from: probe.tensors(), path: "x") }
    #expect(try !wrong.restore(from: [], path: "x"))
  }
}
