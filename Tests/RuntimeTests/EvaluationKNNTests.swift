import Foundation
import GraphIR
import Runtime
import Testing

/// `count` rows of `width` normal values with standard deviation `std` around `center`.
func normalRows(
  _ count: Int, width: Int, around center: [Float]? = nil, std: Float = 1,
  random: inout SplitMix64
) -> [Float] {
  (0..<count * width).map { i in (center?[i % width] ?? 0) + std * Float(random.normal()) }
}

/// Brute-force weighted kNN in double: full sort by similarity (ties to the lower index).
func bruteForceKNN(
  train: FeatureMatrix, trainLabels: [Int32], test: FeatureMatrix, k: Int, temperature: Double
) -> [Int32] {
  func normalized(_ row: ArraySlice<Float>) -> [Double] {
    let norm = max(row.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot(), 1e-12)
    return row.map { Double($0) / norm }
  }
  let trainRows = (0..<train.rows).map { normalized(train.row($0)) }
  let classes = Int(trainLabels.max()!) + 1
  return (0..<test.rows).map { i in
    let query = normalized(test.row(i))
    let similarities = trainRows.map { row in zip(row, query).reduce(0) { $0 + $1.0 * $1.1 } }
    let ranked = similarities.indices.sorted {
      similarities[$0] > similarities[$1] || (similarities[$0] == similarities[$1] && $0 < $1)
    }
    var votes = [Double](repeating: 0, count: classes)
    for j in ranked.prefix(k) { votes[Int(trainLabels[j])] += exp(similarities[j] / temperature) }
    return Int32(
      votes.indices.max { votes[$0] < votes[$1] || (votes[$0] == votes[$1] && $0 > $1) }!)
  }
}

@Suite struct EvaluationKNNTests {
  @Test func `kNN classifies three well-separated clusters perfectly`() {
    var random = SplitMix64(seed: 1)
    let width = 16
    let centers = (0..<3).map { c in (0..<width).map { $0 % 3 == c ? Float(4) : 0 } }
    func split(_ perClass: Int) -> (FeatureMatrix, [Int32]) {
      let values = (0..<3).flatMap { c in
        normalRows(perClass, width: width, around: centers[c], std: 0.3, random: &random)
      }
      let labels = (0..<3).flatMap { c in [Int32](repeating: Int32(c), count: perClass) }
      return (FeatureMatrix(rows: 3 * perClass, columns: width, values: values), labels)
    }
    let (train, trainLabels) = split(100)
    let (test, testLabels) = split(20)
    let accuracy = KNNClassifier().accuracy(
      train: train, trainLabels: trainLabels, test: test, testLabels: testLabels)
    #expect(accuracy == 1)
  }

  @Test func `kNN on random labels is close to chance`() {
    var random = SplitMix64(seed: 2)
    let train = FeatureMatrix(
      rows: 1000, columns: 8, values: normalRows(1000, width: 8, random: &random))
    let test = FeatureMatrix(
      rows: 1000, columns: 8, values: normalRows(1000, width: 8, random: &random))
    let trainLabels = (0..<1000).map { _ in Int32(random.next() % 3) }
    let testLabels = (0..<1000).map { _ in Int32(random.next() % 3) }
    let accuracy = KNNClassifier().accuracy(
      train: train, trainLabels: trainLabels, test: test, testLabels: testLabels)
    #expect(abs(accuracy - 1.0 / 3) < 0.06, "accuracy \(accuracy)")
  }

  @Test func `kNN predicts what a brute-force implementation predicts`() {
    var random = SplitMix64(seed: 3)
    let train = FeatureMatrix(
      rows: 120, columns: 12, values: normalRows(120, width: 12, random: &random))
    let test = FeatureMatrix(
      rows: 50, columns: 12, values: normalRows(50, width: 12, random: &random))
    let trainLabels = (0..<120).map { _ in Int32(random.next() % 4) }
    for k in [1, 7, 200] {
      let classifier = KNNClassifier(k: k, temperature: 0.1, blockRows: 16)
      let predicted = classifier.predict(train: train, trainLabels: trainLabels, test: test)
      let expected = bruteForceKNN(
        train: train, trainLabels: trainLabels, test: test, k: k, temperature: 0.1)
      #expect(predicted == expected, "k = \(k)")
    }
  }
}
