import Foundation
import GraphDSL
import GraphIR
import GraphInterpreter
import Testing

@Suite struct LossTests {
  @Test func `InfoNCE matches the closed form on four views at known angles`() throws {
    // Four views (N = 2) of 2-d embeddings at known angles and lengths: cosine similarity
    // ignores the length, so s_ij = cos(angle_i - angle_j).
    let angles = [0, Double.pi / 2, Double.pi / 3, Double.pi]
    let lengths = [1.0, 2.0, 0.5, 3.0]
    let t = 0.5
    var expected = 0.0
    for i in 0..<4 {
      let positive = (i + 2) % 4
      var sum = 0.0
      for j in 0..<4 where j != i { sum += exp(cos(angles[i] - angles[j]) / t) }
      expected += -cos(angles[i] - angles[positive]) / t + log(sum)
    }
    expected /= 4

    let program = try lowered { b in
      b.output("loss", infoNCE(b.input("z", .f32([4, 2])), temperature: t))
    }
    let z = zip(angles, lengths).flatMap { angle, length in
      [length * cos(angle), length * sin(angle)]
    }
    var state: [String: HostTensor] = [:]
    let outputs = try run(program, inputs: ["z": HostTensor(.f32([4, 2]), z)], state: &state)
    let loss = try #require(outputs["loss"])
    #expect(loss.type == .scalar)
    #expect(abs(loss.scalars[0] - expected) < 1e-9, "\(loss.scalars[0]) vs \(expected)")
  }

  @Test func `InfoNCE is log(2N - 1) when every embedding points the same way`() throws {
    // All similarities are 1: each row is -1/t + log((2N - 1) e^(1/t)) = log(2N - 1).
    let program = try lowered { b in
      b.output("loss", infoNCE(b.input("z", .f32([6, 3])), temperature: 0.1))
    }
    let z = (0..<6).flatMap { i in [1.0, 2.0, 3.0].map { $0 * Double(i + 1) } }
    var state: [String: HostTensor] = [:]
    let outputs = try run(program, inputs: ["z": HostTensor(.f32([6, 3]), z)], state: &state)
    #expect(abs(try #require(outputs["loss"]).scalars[0] - log(5)) < 1e-9)
  }

  @Test func `Softmax cross-entropy matches the hand formula`() throws {
    let logits: [[Double]] = [[1, 2, 3, 4], [-1, 0.5, 0, 2], [10, -10, 3, 3]]
    let labels = [2, 0, 3]
    var expected = 0.0
    for (row, label) in zip(logits, labels) {
      expected += log(row.map { exp($0) }.reduce(0, +)) - row[label]
    }
    expected /= 3

    let program = try lowered { b in
      let loss = softmaxCrossEntropy(
        b.input("logits", .f32([3, 4])), labels: b.input("labels", .i32([3])))
      b.output("loss", loss)
    }
    var state: [String: HostTensor] = [:]
    let outputs = try run(
      program,
      inputs: [
        "logits": HostTensor(.f32([3, 4]), logits.flatMap { $0 }),
        "labels": HostTensor(.i32([3]), labels.map(Double.init)),
      ], state: &state)
    let loss = try #require(outputs["loss"]).scalars[0]
    #expect(abs(loss - expected) < 1e-9, "\(loss) vs \(expected)")
  }
}
