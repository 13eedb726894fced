import Foundation
import Runtime
import Testing

/// A `rows` x `columns` Float matrix of independent standard normal entries.
func gaussianFeatures(rows: Int, columns: Int, seed: UInt64) -> [Float] {
  var generator = StudyGenerator(seed: seed)
  return (0..<rows * columns).map { _ in Float(generator.normal()) }
}

@Suite struct StudySpectrumTests {
  @Test func `the covariance matches a direct computation for odd shapes`() {
    let (rows, columns) = (301, 7)
    var generator = StudyGenerator(seed: 3)
    let x = (0..<rows * columns).map { _ in Float.random(in: -2...3, using: &generator) }
    let covariance = Spectrum.covariance(rows: rows, columns: columns, values: x)
    var mean = [Double](repeating: 0, count: columns)
    for r in 0..<rows { for c in 0..<columns { mean[c] += Double(x[r * columns + c]) } }
    mean = mean.map { $0 / Double(rows) }
    for i in 0..<columns {
      for j in 0..<columns {
        var sum = 0.0
        for r in 0..<rows {
          sum += (Double(x[r * columns + i]) - mean[i]) * (Double(x[r * columns + j]) - mean[j])
        }
        #expect(abs(covariance[i * columns + j] - sum / Double(rows - 1)) < 1e-10)
      }
    }
  }

  @Test func `a rank-2 feature matrix has exactly two non-negligible singular values`() {
    let (rows, columns) = (200, 16)
    var generator = StudyGenerator(seed: 11)
    let u = (0..<columns).map { _ in generator.normal() }
    let v = (0..<columns).map { _ in generator.normal() }
    var x = [Float](repeating: 0, count: rows * columns)
    for r in 0..<rows {
      let (a, b) = (generator.normal(), generator.normal())
      for c in 0..<columns { x[r * columns + c] = Float(a * u[c] + b * v[c] + 5) }
    }
    let spectrum = Spectrum(rows: rows, columns: columns, values: x)
    #expect(spectrum.singularValues.count == columns)
    #expect(spectrum.rank() == 2)
    #expect(spectrum.singularValues[2] < 1e-4 * spectrum.singularValues[1])
  }

  @Test func `singular values square to the centred matrix's squared Frobenius norm`() {
    let (rows, columns) = (500, 9)
    let x = gaussianFeatures(rows: rows, columns: columns, seed: 5)
    let spectrum = Spectrum(rows: rows, columns: columns, values: x)
    let covariance = Spectrum.covariance(rows: rows, columns: columns, values: x)
    let trace = (0..<columns).reduce(0.0) { $0 + covariance[$1 * columns + $1] }
    let squares = spectrum.singularValues.reduce(0) { $0 + $1 * $1 }
    #expect(abs(squares - trace * Double(rows - 1)) < 1e-8 * squares)
  }

  @Test func `isotropic data in d dimensions has effective rank close to d`() {
    let (rows, columns) = (20000, 8)
    let x = gaussianFeatures(rows: rows, columns: columns, seed: 2)
    let spectrum = Spectrum(rows: rows, columns: columns, values: x)
    #expect(spectrum.effectiveRank > 0.99 * Double(columns))
    #expect(spectrum.effectiveRank <= Double(columns) + 1e-9)
    #expect(spectrum.rank() == columns)
  }

  @Test func `rank-1 data has effective rank close to 1`() {
    let (rows, columns) = (1000, 32)
    var generator = StudyGenerator(seed: 9)
    let direction = (0..<columns).map { _ in generator.normal() }
    var x = [Float](repeating: 0, count: rows * columns)
    for r in 0..<rows {
      let a = generator.normal()
      for c in 0..<columns { x[r * columns + c] = Float(a * direction[c]) }
    }
    let spectrum = Spectrum(rows: rows, columns: columns, values: x)
    #expect(abs(spectrum.effectiveRank - 1) < 1e-3)
    #expect(spectrum.rank() == 1)
  }

  @Test func `effective rank of given singular values follows the entropy formula`() {
    #expect(abs(Spectrum(singularValues: [2, 2, 2, 2]).effectiveRank - 4) < 1e-12)
    #expect(Spectrum(singularValues: [0, 0]).effectiveRank == 0)
    #expect(Spectrum(singularValues: [1, 3, 2]).singularValues == [3, 2, 1])
    let p = [0.5, 0.25, 0.25]
    let expected = exp(-p.reduce(0) { $0 + $1 * log($1) })
    #expect(abs(Spectrum(singularValues: [2, 1, 1]).effectiveRank - expected) < 1e-12)
  }
}
