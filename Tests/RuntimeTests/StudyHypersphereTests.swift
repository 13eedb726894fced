import Foundation
import Runtime
import Testing

/// `count` points on the unit circle at the given angles, as a row-major count x 2 matrix.
func circlePoints(_ angles: [Double]) -> [Float] {
  angles.flatMap { [Float(cos($0)), Float(sin($0))] }
}

@Suite struct StudyHypersphereTests {
  @Test func `identical views have alignment 0 and antipodal views alignment 4`() {
    let x = gaussianFeatures(rows: 50, columns: 6, seed: 1)
    #expect(Hypersphere.alignment(view1: x, view2: x, columns: 6) < 1e-12)
    let scaled = x.map { $0 * 3 }
    #expect(Hypersphere.alignment(view1: x, view2: scaled, columns: 6) < 1e-12)
    let antipodal = x.map { -$0 }
    #expect(abs(Hypersphere.alignment(view1: x, view2: antipodal, columns: 6) - 4) < 1e-6)
  }

  @Test func `orthogonal views have alignment 2`() {
    let view1: [Float] = [1, 0, 0, 2]
    let view2: [Float] = [0, 5, 3, 0]
    #expect(abs(Hypersphere.alignment(view1: view1, view2: view2, columns: 2) - 2) < 1e-12)
  }

  @Test func `points spread on a circle are more uniform than clustered points`() {
    let spread = circlePoints((0..<64).map { 2 * .pi * Double($0) / 64 })
    let clustered = circlePoints((0..<64).map { 0.1 * Double($0) / 64 })
    let uSpread = Hypersphere.uniformity(features: spread, columns: 2)
    let uClustered = Hypersphere.uniformity(features: clustered, columns: 2)
    #expect(uSpread < uClustered)
    #expect(uSpread < -1.5)
    #expect(uClustered > -0.05 && uClustered <= 0)
  }

  @Test func `uniformity of coincident points is 0 and of two antipodal points is -8`() {
    let same: [Float] = [1, 1, 2, 2, 3, 3]
    #expect(abs(Hypersphere.uniformity(features: same, columns: 2)) < 1e-6)
    let antipodal: [Float] = [0, 1, 0, -1]
    #expect(abs(Hypersphere.uniformity(features: antipodal, columns: 2) + 8) < 1e-6)
  }

  @Test func `uniformity subsamples large sets deterministically at evenly spaced rows`() {
    let x = gaussianFeatures(rows: 300, columns: 5, seed: 4)
    let first = Hypersphere.uniformity(features: x, columns: 5, maxRows: 100)
    #expect(Hypersphere.uniformity(features: x, columns: 5, maxRows: 100) == first)
    var every3rd: [Float] = []
    for r in stride(from: 0, to: 300, by: 3) { every3rd += x[(r * 5)..<(r * 5 + 5)] }
    let direct = Hypersphere.uniformity(features: every3rd, columns: 5)
    #expect(abs(first - direct) < 1e-12)
  }
}
