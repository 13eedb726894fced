import Foundation
import Runtime
import Testing

/// A small seeded generator (SplitMix64) for the study tests.
struct StudyGenerator: RandomNumberGenerator {
  var state: UInt64

  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A standard normal sample (Box-Muller).
  mutating func normal() -> Double {
    let u = Double.random(in: Double.ulpOfOne..<1, using: &self)
    let v = Double.random(in: 0..<1, using: &self)
    return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
  }
}

/// A random symmetric `n` x `n` matrix with entries in [-1, 1].
func randomSymmetric(_ n: Int, seed: UInt64) -> [Double] {
  var generator = StudyGenerator(seed: seed)
  var a = [Double](repeating: 0, count: n * n)
  for i in 0..<n {
    for j in 0...i {
      let value = Double.random(in: -1...1, using: &generator)
      a[i * n + j] = value
      a[j * n + i] = value
    }
  }
  return a
}

@Suite struct StudyEigenTests {
  @Test func `a diagonal matrix has its diagonal as eigenvalues by both methods`() {
    let diagonal = [3.0, -1.5, 7.0, 0.0, 2.0]
    let n = diagonal.count
    var a = [Double](repeating: 0, count: n * n)
    for i in 0..<n { a[i * n + i] = diagonal[i] }
    let expected = diagonal.sorted(by: >)
    #expect(SymmetricEigen.eigenvalues(of: a, size: n) == expected)
    #expect(SymmetricEigen.jacobi(a, size: n).values == expected)
  }

  @Test func `a rotated 2x2 diagonal matrix gives back the diagonal and the rotation axes`() {
    let (theta, l1, l2) = (0.7, 5.0, 2.0)
    let (c, s) = (cos(theta), sin(theta))
    // R diag(l1, l2) R^T with R = [[c, -s], [s, c]].
    let a = [
      c * c * l1 + s * s * l2, c * s * (l1 - l2),
      c * s * (l1 - l2), s * s * l1 + c * c * l2,
    ]
    let values = SymmetricEigen.eigenvalues(of: a, size: 2)
    #expect(abs(values[0] - l1) < 1e-12 && abs(values[1] - l2) < 1e-12)
    let (jacobiValues, vectors) = SymmetricEigen.jacobi(a, size: 2)
    #expect(abs(jacobiValues[0] - l1) < 1e-12 && abs(jacobiValues[1] - l2) < 1e-12)
    // The first eigenvector is +-(c, s).
    #expect(abs(abs(vectors[0] * c + vectors[2] * s) - 1) < 1e-12)
  }

  @Test func `Jacobi eigenpairs of a random symmetric 50x50 matrix satisfy A v = lambda v`() {
    let n = 50
    let a = randomSymmetric(n, seed: 7)
    let (values, vectors) = SymmetricEigen.jacobi(a, size: n)
    var worst = 0.0
    for k in 0..<n {
      for i in 0..<n {
        var av = 0.0
        for j in 0..<n { av += a[i * n + j] * vectors[j * n + k] }
        worst = max(worst, abs(av - values[k] * vectors[i * n + k]))
      }
    }
    #expect(worst < 1e-10)
    #expect(zip(values, values.dropFirst()).allSatisfy { $0 >= $1 })
  }

  @Test func `tridiagonal QL agrees with Jacobi and keeps the trace and Frobenius norm`() {
    for n in [1, 2, 3, 17, 50, 64] {
      let a = randomSymmetric(n, seed: UInt64(n))
      let fast = SymmetricEigen.eigenvalues(of: a, size: n)
      let reference = SymmetricEigen.jacobi(a, size: n).values
      let difference = zip(fast, reference).map { abs($0 - $1) }.max() ?? 0
      #expect(difference < 1e-10, "n = \(n)")
      let trace = (0..<n).reduce(0.0) { $0 + a[$1 * n + $1] }
      #expect(abs(fast.reduce(0, +) - trace) < 1e-10)
      let frobenius = a.reduce(0) { $0 + $1 * $1 }
      #expect(abs(fast.reduce(0) { $0 + $1 * $1 } - frobenius) < 1e-9 * max(frobenius, 1))
    }
  }

  @Test func `repeated and zero eigenvalues come out exactly enough`() {
    let n = 6
    var identity = [Double](repeating: 0, count: n * n)
    for i in 0..<n { identity[i * n + i] = 2 }
    #expect(SymmetricEigen.eigenvalues(of: identity, size: n).allSatisfy { abs($0 - 2) < 1e-14 })
    let zero = [Double](repeating: 0, count: n * n)
    #expect(SymmetricEigen.eigenvalues(of: zero, size: n) == [Double](repeating: 0, count: n))
    // All-ones: one eigenvalue n, the rest 0.
    let ones = SymmetricEigen.eigenvalues(of: [Double](repeating: 1, count: n * n), size: n)
    #expect(abs(ones[0] - Double(n)) < 1e-12 && ones.dropFirst().allSatisfy { abs($0) < 1e-12 })
  }
}
