import Foundation
import GraphIR
import Runtime
import Testing

@Suite struct EvaluationLinearProbeTests {
  /// Points around 10 random class means in 128-d: `perClass` of each class, shuffled.
  func clusters(_ perClass: Int, means: [[Float]], random: inout SplitMix64) -> (
    FeatureMatrix, [Int32]
  ) {
    let labels = (0..<10 * perClass).map { Int32($0 % 10) }
    let values = labels.flatMap { label in
      normalRows(1, width: 128, around: means[Int(label)], std: 2, random: &random)
    }
    return (FeatureMatrix(rows: labels.count, columns: 128, values: values), labels)
  }

  @Test func `the linear probe separates linearly separable classes above 95 percent`() throws {
    var random = SplitMix64(seed: 4)
    let means = (0..<10).map { _ in normalRows(1, width: 128, random: &random) }
    let (train, trainLabels) = clusters(256, means: means, random: &random)
    let (test, testLabels) = clusters(51, means: means, random: &random)
    let result = try LinearProbe().evaluate(
      train: train, trainLabels: trainLabels, test: test, testLabels: testLabels)
    #expect(result.testAccuracy > 0.95, "test accuracy \(result.testAccuracy)")
    #expect(result.steps == 30 * 10)
    #expect(result.epochLosses.count == 30)
    #expect(result.epochLosses.last! < result.epochLosses.first!)
  }

  @Test func `standardisation uses the training statistics only`() throws {
    let train = FeatureMatrix(rows: 4, columns: 2, values: [1, 10, 3, 10, 5, 10, 7, 10])
    let standardizer = FeatureStandardizer(fitting: train)
    #expect(standardizer.mean == [4, 10])
    #expect(standardizer.standardDeviation == [sqrt(5.0), 0])
    let test = FeatureMatrix(
      rows: 1, columns: 2, values: [4 + 2 * sqrt(5.0), 12].map(Float.init))
    #expect(standardizer.apply(test).values.allSatisfy { abs($0 - 2) < 1e-5 })

    // Two classes at -1 and +1 in every column; a test set shifted by +4 is classified with the
    // training statistics (all class 1), which re-centring on its own statistics would undo.
    var random = SplitMix64(seed: 5)
    func split(_ rows: Int, shift: Float) -> (FeatureMatrix, [Int32]) {
      let labels = (0..<rows).map { Int32($0 % 2) }
      let values = labels.flatMap { label in
        normalRows(
          1, width: 128, around: [Float](repeating: Float(2 * label - 1) + shift, count: 128),
          std: 0.5, random: &random)
      }
      return (FeatureMatrix(rows: rows, columns: 128, values: values), labels)
    }
    let (trainSet, trainLabels) = split(1024, shift: 0)
    let (testSet, testLabels) = split(256, shift: 4)
    let result = try LinearProbe().evaluate(
      train: trainSet, trainLabels: trainLabels, test: testSet, testLabels: testLabels)
    #expect(result.trainAccuracy == 1)
    #expect(result.testAccuracy == 0.5)
  }

  @Test func `a width the probe is not compiled for names graphs LinearProbe swift`() throws {
    let features = FeatureMatrix(rows: 256, columns: 7, values: [Float](repeating: 0, count: 1792))
    let labels = [Int32](repeating: 0, count: 256)
    let error = #expect(throws: TrainingError.self) {
      try LinearProbe().evaluate(
        train: features, trainLabels: labels, test: features, testLabels: labels)
    }
    #expect(error?.description.contains("graphs/LinearProbe.swift") == true)
    #expect(try LinearProbe.compiledWidths().contains(784))
    #expect(try LinearProbe.compiledWidths().contains(3072))
  }
}
