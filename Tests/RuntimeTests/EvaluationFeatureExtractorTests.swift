import Foundation
import GraphIR
import Runtime
import Testing

/// Serialized: two compiled R1 runs at once would share the cores between two OpenMP teams.
@Suite(.serialized) struct EvaluationFeatureExtractorTests {
  /// `count` random 1x28x28 images with labels `i % 10`.
  func images(_ count: Int) -> LabeledImages {
    var random = SplitMix64(seed: 6)
    return LabeledImages(
      count: count, channels: 1, height: 28, width: 28,
      pixels: (0..<count * 784).map { _ in random.unit() },
      labels: (0..<count).map { Int32($0 % 10) })
  }

  /// Runs `entry` directly on images `range` (zero-padded to a full batch); the valid rows of
  /// every output.
  func direct(
    _ session: CompiledSession, _ entry: CompiledEntry, _ images: LabeledImages, _ range: Range<Int>
  ) -> [String: [Float]] {
    var input = [Float](repeating: 0, count: session.program.batch * 784)
    input.replaceSubrange(
      0..<(range.count * 784),
      with: images.pixels[(range.lowerBound * 784)..<(range.upperBound * 784)])
    let outputs = input.withUnsafeBytes { session.run(entry, inputs: [$0.baseAddress!]) }
    var rows: [String: [Float]] = [:]
    for output in entry.outputs {
      let width = output.type.elementCount / session.program.batch
      rows[output.name] = Array(
        UnsafeBufferPointer(start: outputs[output.name]!, count: range.count * width))
    }
    return rows
  }

  @Test func `raw pixel features are the pixels, one row per image`() {
    let set = LabeledImages(
      count: 3, channels: 3, height: 1, width: 2, pixels: (0..<18).map(Float.init),
      labels: [0, 1, 2])
    let features = FeatureMatrix(pixels: set)
    #expect(features.rows == 3 && features.columns == 6)
    #expect(features.values == set.pixels)
    #expect(features.row(1) == set.image(1))
  }

  @Test func `embed on R1 gives every output for 300 images, equal to direct batch runs`() throws {
    let program = try CompiledProgram.named("fmnist-resnet-small", batch: 256)
    let session = CompiledSession(program: program)
    let extractor = try FeatureExtractor(session: session, entry: "embed")
    let set = images(300)
    let features = try extractor.extract(set)
    #expect(features["features"]?.columns == 128 && features["features"]?.rows == 300)
    #expect(features["head.1"]?.columns == 512 && features["head.1"]?.rows == 300)
    #expect(features["head.2"]?.columns == 128 && features["head.2"]?.rows == 300)
    for range in [0..<256, 256..<300] {
      for (name, rows) in direct(session, extractor.entry, set, range) {
        let width = features[name]!.columns
        let slice = features[name]!.values[(range.lowerBound * width)..<(range.upperBound * width)]
        #expect(Array(slice) == rows, "output \(name), rows \(range)")
      }
    }
  }

  @Test func `encode at batch 2 matches encode at batch 256 row for row`() throws {
    let set = images(300)
    var results: [FeatureMatrix] = []
    for batch in [2, 256] {
      let session = CompiledSession(program: try .named("fmnist-resnet-small", batch: batch))
      let extractor = try FeatureExtractor(session: session, entry: "encode")
      let features = try extractor.extract(set, outputs: ["features"])
      #expect(Set(features.keys) == ["features"])
      results.append(features["features"]!)
    }
    #expect(results[0].rows == 300 && results[0].columns == 128)
    let worst = zip(results[0].values, results[1].values).map { abs($0 - $1) }.max()!
    #expect(worst < 1e-4, "largest difference \(worst)")
  }

  @Test func `an entry without an images input is rejected`() throws {
    let session = CompiledSession(program: try .named("fmnist-resnet-small", batch: 2))
    #expect(throws: TrainingError.self) {
      try FeatureExtractor(session: session, entry: "joint.step")
    }
  }
}
