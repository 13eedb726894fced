import Foundation
import GraphIR
import Testing

@Suite struct InitializerTests {
  func meanAndStd(_ values: [Double]) -> (mean: Double, std: Double) {
    let mean = values.reduce(0, +) / Double(values.count)
    let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
    return (mean, variance.squareRoot())
  }

  @Test func `zeros and constants fill every element`() {
    #expect(Initializer.zeros.values(count: 3) == [0, 0, 0])
    #expect(Initializer.constant(2.5).values(count: 2) == [2.5, 2.5])
    #expect(Initializer.normal(std: 1, seed: 1).values(count: 0).isEmpty)
  }

  @Test func `random initializers are deterministic in their seed`() {
    for initializer in [Initializer.normal(std: 1, seed: 3), .uniform(bound: 1, seed: 3)] {
      #expect(initializer.values(count: 100) == initializer.values(count: 100))
    }
    let a = Initializer.normal(std: 1, seed: 3).values(count: 10)
    let b = Initializer.normal(std: 1, seed: 4).values(count: 10)
    #expect(a != b)
  }

  @Test func `a shorter draw is a prefix of a longer one`() {
    let normal = Initializer.normal(std: 1, seed: 11)
    #expect(Array(normal.values(count: 8).prefix(5)) == normal.values(count: 5))
    let uniform = Initializer.uniform(bound: 1, seed: 11)
    #expect(Array(uniform.values(count: 8).prefix(5)) == uniform.values(count: 5))
  }

  @Test func `uniform draws follow SplitMix64 from the seed`() {
    // The first two SplitMix64 outputs for seed 0, from the reference implementation.
    let draws: [UInt64] = [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4]
    let expected = draws.map { 3 * (2 * ((Double($0 >> 12) + 0.5) * 0x1p-52) - 1) }
    #expect(Initializer.uniform(bound: 3, seed: 0).values(count: 2) == expected)
  }

  @Test func `normal draws pair up both Box-Muller outputs`() {
    let values = Initializer.normal(std: 2, seed: 5).values(count: 2)
    let uniforms = Initializer.uniform(bound: 1, seed: 5).values(count: 2).map { ($0 + 1) / 2 }
    let radius = 2 * (-2 * log(uniforms[0])).squareRoot()
    let angle = 2 * Double.pi * uniforms[1]
    #expect(abs(values[0] - radius * cos(angle)) < 1e-12)
    #expect(abs(values[1] - radius * sin(angle)) < 1e-12)
  }

  @Test func `normal values have the requested mean and standard deviation`() {
    let (mean, std) = meanAndStd(Initializer.normal(std: 2, seed: 7).values(count: 20_000))
    #expect(abs(mean) < 0.06)
    #expect(abs(std - 2) < 0.05)
  }

  @Test func `uniform values stay inside the bound with the right spread`() {
    let values = Initializer.uniform(bound: 3, seed: 9).values(count: 20_000)
    #expect(values.allSatisfy { $0 > -3 && $0 < 3 })
    let (mean, std) = meanAndStd(values)
    #expect(abs(mean) < 0.05)
    #expect(abs(std - 3 / 3.0.squareRoot()) < 0.03)
  }
}
