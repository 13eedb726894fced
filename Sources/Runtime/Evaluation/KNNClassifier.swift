import CKernelSupport
import Dispatch
import Foundation

/// The weighted k-nearest-neighbour classifier of Wu et al. 2018 (instance discrimination), as
/// SimCLR-style evaluations use it: features are L2-normalised, the `k` training rows of
/// highest cosine similarity `s` to a test row each vote for their class with weight
/// `exp(s / temperature)`, and the class with the largest summed vote wins (ties: the lowest
/// class index).
///
/// Similarities come from `hw_matmul` one block of test rows at a time (`blockRows` x all
/// training rows, so memory stays bounded), and the `k` largest per row are found by a bounded
/// heap rather than a full sort.
public struct KNNClassifier: Sendable {
  /// Neighbours that vote (clamped to the number of training rows).
  public var k: Int
  /// Temperature of the vote weights `exp(similarity / temperature)`.
  public var temperature: Double
  /// Test rows per similarity block (lowered when the block would pass 256 MB).
  public var blockRows: Int

  /// A classifier with Wu et al.'s defaults: 200 neighbours, temperature 0.1.
  public init(k: Int = 200, temperature: Double = 0.1, blockRows: Int = 1024) {
    precondition(k > 0 && temperature > 0 && blockRows > 0, "k, temperature, blockRows > 0")
    self.k = k
    self.temperature = temperature
    self.blockRows = blockRows
  }

  /// The predicted class of every test row.
  public func predict(train: FeatureMatrix, trainLabels: [Int32], test: FeatureMatrix) -> [Int32] {
    precondition(train.rows > 0, "kNN needs at least one training row")
    precondition(train.columns == test.columns, "train and test features differ in width")
    precondition(trainLabels.count == train.rows, "one label per training row")
    precondition(trainLabels.allSatisfy { $0 >= 0 }, "labels must be non-negative")
    let classCount = Int(trainLabels.max()!) + 1
    let train = train.l2Normalized()
    let test = test.l2Normalized()
    let block = max(1, min(blockRows, (1 << 26) / train.rows))
    let similarities = UnsafeMutableBufferPointer<Float>.allocate(capacity: block * train.rows)
    defer { similarities.deallocate() }
    var predictions = [Int32](repeating: 0, count: test.rows)
    for start in stride(from: 0, to: test.rows, by: block) {
      let rows = min(block, test.rows - start)
      test.values.withUnsafeBufferPointer { a in
        train.values.withUnsafeBufferPointer { b in
          hw_matmul(
            Int32(rows), Int32(train.rows), Int32(train.columns), 0, 1,
            a.baseAddress! + start * test.columns, b.baseAddress!, similarities.baseAddress!)
        }
      }
      predictions.withUnsafeMutableBufferPointer { out in
        vote(
          similarities: UnsafeBufferPointer(similarities), rows: rows, columns: train.rows,
          labels: trainLabels, classCount: classCount,
          into: UnsafeMutableBufferPointer(rebasing: out[start..<(start + rows)]))
      }
    }
    return predictions
  }

  /// The fraction of test rows whose predicted class equals their label.
  public func accuracy(
    train: FeatureMatrix, trainLabels: [Int32], test: FeatureMatrix, testLabels: [Int32]
  ) -> Double {
    precondition(testLabels.count == test.rows, "one label per test row")
    guard test.rows > 0 else { return 0 }
    let predicted = predict(train: train, trainLabels: trainLabels, test: test)
    let correct = zip(predicted, testLabels).filter { $0 == $1 }.count
    return Double(correct) / Double(test.rows)
  }

  /// Top-k selection and weighted vote for each row of a similarity block, rows split over the
  /// cores (each worker has its own heap; each writes only its own rows).
  private func vote(
    similarities: UnsafeBufferPointer<Float>, rows: Int, columns: Int, labels: [Int32],
    classCount: Int, into predictions: UnsafeMutableBufferPointer<Int32>
  ) {
    let workers = max(1, min(Int(hw_max_threads()), rows))
    let neighbours = min(k, columns)
    let inverseTemperature = 1 / temperature
    labels.withUnsafeBufferPointer { labels in
      let shared = VoteBuffers(similarities: similarities, labels: labels, predictions: predictions)
      DispatchQueue.concurrentPerform(iterations: workers) { worker in
        var heap = TopK(capacity: neighbours)
        var votes = [Double](repeating: 0, count: classCount)
        for row in (rows * worker / workers)..<(rows * (worker + 1) / workers) {
          let start = row * columns
          heap.select(UnsafeBufferPointer(rebasing: shared.similarities[start..<(start + columns)]))
          for c in 0..<classCount { votes[c] = 0 }
          for (similarity, index) in heap.entries {
            votes[Int(shared.labels[index])] += exp(Double(similarity) * inverseTemperature)
          }
          var best = 0
          for c in 1..<classCount where votes[c] > votes[best] { best = c }
          shared.predictions[row] = Int32(best)
        }
      }
    }
  }
}

/// The buffers the vote workers share: read-only inputs, and predictions of which each worker
/// writes only its own rows, so sharing them across threads is safe.
private struct VoteBuffers: @unchecked Sendable {
  let similarities: UnsafeBufferPointer<Float>
  let labels: UnsafeBufferPointer<Int32>
  let predictions: UnsafeMutableBufferPointer<Int32>
}

/// The `capacity` largest values of a sequence with their indices, by a min-heap on the value
/// (ties broken towards the lower index, the same order a stable descending sort gives).
private struct TopK {
  private(set) var values: [Float] = []
  private(set) var indices: [Int] = []
  let capacity: Int

  init(capacity: Int) { self.capacity = capacity }

  /// The kept (value, index) pairs, in heap order.
  var entries: Zip2Sequence<[Float], [Int]> { zip(values, indices) }

  /// Keeps the `capacity` largest of `row`.
  mutating func select(_ row: UnsafeBufferPointer<Float>) {
    values.removeAll(keepingCapacity: true)
    indices.removeAll(keepingCapacity: true)
    for i in 0..<min(capacity, row.count) {
      values.append(row[i])
      indices.append(i)
      siftUp(values.count - 1)
    }
    guard capacity > 0 else { return }
    for i in capacity..<max(capacity, row.count) where row[i] > values[0] {
      values[0] = row[i]
      indices[0] = i
      siftDown(0)
    }
  }

  /// Whether entry `a` ranks below entry `b` (smaller value, or equal value and later index).
  private func below(_ a: Int, _ b: Int) -> Bool {
    values[a] < values[b] || (values[a] == values[b] && indices[a] > indices[b])
  }

  private mutating func siftUp(_ start: Int) {
    var child = start
    while child > 0, below(child, (child - 1) / 2) {
      values.swapAt(child, (child - 1) / 2)
      indices.swapAt(child, (child - 1) / 2)
      child = (child - 1) / 2
    }
  }

  private mutating func siftDown(_ start: Int) {
    var parent = start
    while true {
      var lowest = parent
      let left = 2 * parent + 1
      if left < values.count && below(left, lowest) { lowest = left }
      if left + 1 < values.count && below(left + 1, lowest) { lowest = left + 1 }
      if lowest == parent { return }
      values.swapAt(parent, lowest)
      indices.swapAt(parent, lowest)
      parent = lowest
    }
  }
}
