import CKernelSupport
import Foundation
import GraphIR
import Testing

/// Resizing to a program's image size (resample.c): views at another size than the images, and
/// hw_resize_images, against closed forms.
extension AugmentTests {
  /// out = each image of `images` ([count, c, h, w]) resized to outH x outW.
  static func resized(
    _ images: [Float], count: Int, c: Int, h: Int, w: Int, to outH: Int, _ outW: Int
  )
    -> [Float]
  {
    var out = [Float](repeating: .nan, count: count * c * outH * outW)
    hw_resize_images(
      images, Int32(count), Int32(c), Int32(h), Int32(w), Int32(outH), Int32(outW), &out)
    return out
  }

  /// The antialiased halving of one axis in closed form: the triangle filter two pixels wide
  /// has weights 1/8, 3/8, 3/8, 1/8 on pixels 2x-1 ... 2x+2, renormalised where they fall
  /// outside the image.
  static func halved(_ row: [Double]) -> [Double] {
    (0..<row.count / 2).map { x in
      let taps = [(2 * x - 1, 0.125), (2 * x, 0.375), (2 * x + 1, 0.375), (2 * x + 2, 0.125)]
      let inside = taps.filter { row.indices.contains($0.0) }
      return inside.reduce(0) { $0 + row[$1.0] * $1.1 } / inside.reduce(0) { $0 + $1.1 }
    }
  }

  @Test func halvingAnImageIsTheSeparableTriangleFilterInClosedForm() {
    hw_set_threads(2)
    let (c, h, w) = (2, 8, 12)
    let images = Self.images(count: 3, c: c, h: h, w: w)
    let out = Self.resized(images, count: 3, c: c, h: h, w: w, to: h / 2, w / 2)
    var worst = 0.0
    for plane in 0..<3 * c {
      let rows = (0..<h).map { y in
        Self.halved((0..<w).map { Double(images[(plane * h + y) * w + $0]) })
      }
      for x in 0..<w / 2 {
        let column = Self.halved(rows.map { $0[x] })
        for y in 0..<h / 2 {
          let got = Double(out[(plane * (h / 2) + y) * (w / 2) + x])
          worst = max(worst, abs(got - column[y]))
        }
      }
    }
    #expect(worst < 1e-6)
  }

  @Test func resizingAConstantImageKeepsItAndTheSameSizeCopiesExactly() {
    hw_set_threads(2)
    let constant = [Float](repeating: 0.3, count: 3 * 96 * 96)
    for (outH, outW) in [(32, 32), (28, 40), (100, 7)] {
      let out = Self.resized(constant, count: 1, c: 3, h: 96, w: 96, to: outH, outW)
      #expect(out.allSatisfy { abs($0 - 0.3) < 1e-6 }, "\(outH)x\(outW)")
    }
    let images = Self.images(count: 2, c: 3, h: 5, w: 7)
    #expect(bitwiseEqual(Self.resized(images, count: 2, c: 3, h: 5, w: 7, to: 5, 7), images))
  }

  @Test func enlargingIsBilinearWithAlignCornersFalse() {
    hw_set_threads(2)
    // A ramp along x doubled: output x samples source (x + 0.5) / 2 - 0.5, clamped at the edges.
    let w = 6
    let ramp = (0..<w).map { Float($0) / Float(w) }
    let out = Self.resized(ramp, count: 1, c: 1, h: 1, w: w, to: 1, 2 * w)
    for (x, value) in out.enumerated() {
      let source = min(max((Double(x) + 0.5) / 2 - 0.5, 0), Double(w - 1))
      #expect(abs(Double(value) - source / Double(w)) < 1e-6, "x = \(x)")
    }
  }

  @Test func viewsAtTheProgramsSizeFromLargerImagesStayInRangeAndAreDeterministic() {
    hw_set_threads(2)
    let (c, side, count) = (3, 96, 6)
    let options = hw_augment_defaults(Int32(c), 32)
    let images = Self.images(count: count, c: c, h: side, w: side)
    let indices = (0..<count).map { Int64($0) }
    let out = Self.views(
      options, images: images, c: c, h: side, w: side, indices: indices, size: (32, 32))
    #expect(out.count == 2 * count * c * 32 * 32)
    #expect(out.allSatisfy { $0 >= 0 && $0 <= 1 })
    hw_set_threads(1)
    let again = Self.views(
      options, images: images, c: c, h: side, w: side, indices: indices, size: (32, 32))
    hw_set_threads(2)
    #expect(bitwiseEqual(out, again))
    // With every random choice off, a view is the whole image resized.
    var whole = Self.nothing()
    whole.crop_ratio_min = 1
    let plain = Self.views(
      whole, images: images, c: c, h: side, w: side, indices: [0], size: (32, 32))
    let expected = Self.resized(
      Array(images[0..<c * side * side]), count: 1, c: c, h: side, w: side, to: 32, 32)
    #expect(bitwiseEqual(Array(plain[0..<c * 32 * 32]), expected))
  }
}
