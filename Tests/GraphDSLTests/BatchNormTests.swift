import GraphCompiler
import GraphDSL
import GraphIR
import GraphInterpreter
import Testing

/// Per-channel statistics of an [N, C, H, W] tensor (biased variance).
private func channelStatistics(_ x: [Double], _ shape: [Int]) -> [(mean: Double, variance: Double)]
{
  let (n, c, hw) = (shape[0], shape[1], shape[2] * shape[3])
  return (0..<c).map { channel in
    let values = (0..<n).flatMap { i in
      (0..<hw).map { x[(i * c + channel) * hw + $0] }
    }
    let mean = values.reduce(0, +) / Double(values.count)
    let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
    return (mean, variance)
  }
}

@Suite struct BatchNormTests {
  static let shape = [4, 3, 2, 2]

  /// A program with a training entry "train" and an evaluation entry "eval" of one BatchNorm.
  func program() throws -> Program {
    let norm = BatchNorm("bn", 3)
    let builder = ProgramBuilder(name: "bn")
    builder.entry("train", training: true) { b in
      b.output("y", norm(b.input("x", .f32(Self.shape))))
    }
    builder.entry("eval", training: false) { b in
      b.output("y", norm(b.input("x", .f32(Self.shape))))
    }
    return try Lowering.run(try builder.build(), verify: true)
  }

  /// Input data with a different mean and spread per channel.
  func input() -> [Double] {
    var random = TestRandom(seed: 11)
    let x = random.values(Self.shape.reduce(1, *))
    return x.indices.map { i in
      let channel = (i / 4) % 3
      return x[i] * Double(channel + 1) + Double(channel) * 2 - 1
    }
  }

  @Test func `Training mode normalises each channel and moves the running statistics`() throws {
    let program = try program()
    #expect(program.variable(named: "bn.running_mean")?.role == .state)
    #expect(program.variable(named: "bn.running_var")?.type == .f32([3, 1, 1]))
    let x = input()
    var state = initialState(for: program)
    let outputs = try run(
      program, entry: "train", inputs: ["x": HostTensor(.f32(Self.shape), x)], state: &state)
    let y = try #require(outputs["y"]).scalars
    let before = channelStatistics(x, Self.shape)
    for (channel, stats) in channelStatistics(y, Self.shape).enumerated() {
      #expect(abs(stats.mean) < 1e-12)
      // Biased variance, normalised with epsilon 1e-5 inside the square root.
      let variance = before[channel].variance
      #expect(abs(stats.variance - variance / (variance + 1e-5)) < 1e-12)
      #expect(abs(stats.variance - 1) < 1e-3)
    }
    // Running statistics: momentum 0.1 from mean 0 and variance 1, unbiased variance.
    let count = Double(Self.shape[0] * Self.shape[2] * Self.shape[3])
    let runningMean = try #require(state["bn.running_mean"]).scalars
    let runningVar = try #require(state["bn.running_var"]).scalars
    for channel in 0..<3 {
      let unbiased = before[channel].variance * count / (count - 1)
      #expect(abs(runningMean[channel] - 0.1 * before[channel].mean) < 1e-12)
      #expect(abs(runningVar[channel] - (0.9 + 0.1 * unbiased)) < 1e-12)
    }
  }

  @Test func `Evaluation mode normalises with the running statistics and assigns nothing`() throws {
    let program = try program()
    let eval = try #require(program.entry(named: "eval")).graph
    #expect(!eval.nodes.contains { if case .assign = $0.op { true } else { false } })
    let (mean, variance) = ([0.5, -1.0, 2.0], [4.0, 0.25, 1.0])
    let (gamma, beta) = ([2.0, 1.0, -1.0], [0.0, 3.0, 0.5])
    var state = initialState(for: program)
    state["bn.running_mean"] = HostTensor(.f32([3, 1, 1]), mean)
    state["bn.running_var"] = HostTensor(.f32([3, 1, 1]), variance)
    state["bn.weight"] = HostTensor(.f32([3, 1, 1]), gamma)
    state["bn.bias"] = HostTensor(.f32([3, 1, 1]), beta)
    let x = input()
    let stateBefore = state
    let outputs = try run(
      program, entry: "eval", inputs: ["x": HostTensor(.f32(Self.shape), x)], state: &state)
    let y = try #require(outputs["y"]).scalars
    for i in x.indices {
      let c = (i / 4) % 3
      let expected = (x[i] - mean[c]) / (variance[c] + 1e-5).squareRoot() * gamma[c] + beta[c]
      #expect(abs(y[i] - expected) < 1e-12)
    }
    #expect(state == stateBefore)
  }
}
