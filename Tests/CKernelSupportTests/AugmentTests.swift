import CKernelSupport
import Foundation
import GraphIR
import Testing

/// The SimCLR augmentations of augment.c. Serialized like the kernel tests: they share one OpenMP
/// runtime and set the team size on their own thread.
@Suite(.serialized)
struct AugmentTests {
  // MARK: Helpers

  /// Options that change nothing: every probability 0, the crop fixed at the whole image.
  static func nothing() -> hw_augment_options {
    hw_augment_options(
      crop_scale_min: 1, crop_scale_max: 1, crop_ratio_min: 1, crop_ratio_max: 1,
      flip_probability: 0, jitter_probability: 0, brightness: 0, contrast: 0, saturation: 0,
      hue: 0, grayscale_probability: 0, blur_probability: 0, blur_sigma_min: 0.1,
      blur_sigma_max: 2)
  }

  /// `count` images of `c` x `h` x `w` values uniform in [0, 1).
  static func images(count: Int, c: Int, h: Int, w: Int, seed: UInt64 = 3) -> [Float] {
    var rng = SplitMix64(seed: seed)
    return (0..<count * c * h * w).map { _ in rng.unit() }
  }

  /// The 2n views of `indices`, NCHW, at `size` (height, width; default the images' size).
  static func views(
    _ options: hw_augment_options, seed: UInt64 = 1, step: UInt64 = 0, images: [Float],
    c: Int, h: Int, w: Int, indices: [Int64], size: (Int, Int)? = nil
  ) -> [Float] {
    var options = options
    let (outH, outW) = size ?? (h, w)
    var out = [Float](repeating: .nan, count: 2 * indices.count * c * outH * outW)
    hw_augment_views(
      &options, seed, step, images, Int32(c), Int32(h), Int32(w), indices, Int32(indices.count),
      Int32(outH), Int32(outW), &out)
    return out
  }

  /// Hue in turns [0, 1) of an RGB pixel that is not gray.
  static func hue(_ r: Float, _ g: Float, _ b: Float) -> Double {
    let (r, g, b) = (Double(r), Double(g), Double(b))
    let maxc = max(r, g, b)
    let range = maxc - min(r, g, b)
    var h: Double
    if maxc == r {
      h = (g - b) / range
    } else if maxc == g {
      h = 2 + (b - r) / range
    } else {
      h = 4 + (r - g) / range
    }
    h /= 6
    return h - h.rounded(.down)
  }

  // MARK: Determinism

  @Test func sameSeedAndStepGiveBitwiseEqualViewsAndADifferentStepDifferentOnes() {
    hw_set_threads(2)
    for (c, side) in [(1, 28), (3, 32)] {
      var options = hw_augment_defaults(Int32(c), Int32(side))
      options.blur_probability = 0.5  // exercise every step
      let images = Self.images(count: 20, c: c, h: side, w: side)
      let indices: [Int64] = [3, 17, 0, 9, 9, 12]
      let run = { (step: UInt64) in
        Self.views(options, step: step, images: images, c: c, h: side, w: side, indices: indices)
      }
      let first = run(5)
      #expect(bitwiseEqual(first, run(5)))
      #expect(!bitwiseEqual(first, run(6)))
      let otherSeed = Self.views(
        options, seed: 2, step: 5, images: images, c: c, h: side, w: side, indices: indices)
      #expect(!bitwiseEqual(first, otherSeed))
    }
  }

  @Test func viewsDoNotDependOnTheThreadCount() {
    for (c, side) in [(1, 28), (3, 32), (3, 96)] {
      var options = hw_augment_defaults(Int32(c), Int32(side))
      options.blur_probability = 0.5
      let images = Self.images(count: 8, c: c, h: side, w: side)
      let indices: [Int64] = [0, 1, 2, 3, 4, 5, 6, 7, 7, 6, 5]
      hw_set_threads(1)
      let one = Self.views(options, images: images, c: c, h: side, w: side, indices: indices)
      hw_set_threads(2)
      let two = Self.views(options, images: images, c: c, h: side, w: side, indices: indices)
      #expect(bitwiseEqual(one, two), "c=\(c) side=\(side)")
    }
  }

  @Test func theSeedOfAViewIsGraphIRsSplitMix64SeedOfItsFourValues() {
    let cases: [(UInt64, UInt64, UInt64, UInt64)] = [(1, 0, 0, 0), (42, 7, 123_456, 1)]
    for (seed, step, index, view) in cases {
      #expect(
        hw_augment_view_seed(seed, step, index, view)
          == SplitMix64.seed(seed, step, index, view))
    }
  }

  // MARK: Layout and range

  @Test func rowIIsViewOneOfImageIAndRowNPlusIItsViewTwo() {
    hw_set_threads(2)
    let (c, side) = (3, 32)
    let options = hw_augment_defaults(Int32(c), Int32(side))
    let images = Self.images(count: 10, c: c, h: side, w: side)
    let indices: [Int64] = [4, 8, 1]
    let size = c * side * side
    let batch = Self.views(options, images: images, c: c, h: side, w: side, indices: indices)
    #expect(batch.count == 2 * indices.count * size)
    #expect(!batch.contains { $0.isNaN })  // every row written
    for (row, index) in indices.enumerated() {
      let alone = Self.views(options, images: images, c: c, h: side, w: side, indices: [index])
      let first = Array(batch[row * size..<(row + 1) * size])
      let second = Array(batch[(indices.count + row) * size..<(indices.count + row + 1) * size])
      #expect(bitwiseEqual(first, Array(alone[0..<size])))
      #expect(bitwiseEqual(second, Array(alone[size..<2 * size])))
      #expect(!bitwiseEqual(first, second))
    }
  }

  @Test func outputsStayWithinZeroAndOneEvenUnderExtremeJitter() {
    hw_set_threads(2)
    for (c, side) in [(1, 28), (3, 32), (3, 64)] {
      var options = hw_augment_defaults(Int32(c), Int32(side))
      options.jitter_probability = 1
      options.brightness = 3
      options.contrast = 3
      options.saturation = 3
      options.hue = 0.5
      options.blur_probability = 0.5
      let images = Self.images(count: 16, c: c, h: side, w: side)
      let out = Self.views(
        options, images: images, c: c, h: side, w: side, indices: (0..<16).map { Int64($0) })
      #expect(out.allSatisfy { $0 >= 0 && $0 <= 1 }, "c=\(c) side=\(side)")
    }
  }

  // MARK: Each transform alone

  @Test func everyProbabilityZeroCopiesTheInputExactly() {
    hw_set_threads(2)
    for (c, side) in [(1, 28), (3, 32)] {
      let images = Self.images(count: 5, c: c, h: side, w: side)
      let indices: [Int64] = [2, 0, 4]
      let out = Self.views(
        Self.nothing(), images: images, c: c, h: side, w: side, indices: indices)
      let size = c * side * side
      for view in 0..<2 {
        for (row, index) in indices.enumerated() {
          let start = (view * indices.count + row) * size
          #expect(
            bitwiseEqual(
              Array(out[start..<start + size]),
              Array(images[Int(index) * size..<(Int(index) + 1) * size])))
        }
      }
    }
  }

  @Test func flipAloneMirrorsEveryRow() {
    hw_set_threads(2)
    let (c, h, w) = (3, 32, 32)
    var options = Self.nothing()
    options.flip_probability = 1
    let images = Self.images(count: 2, c: c, h: h, w: w)
    let out = Self.views(options, images: images, c: c, h: h, w: w, indices: [1])
    let size = c * h * w
    for view in 0..<2 {
      for k in 0..<c {
        for y in 0..<h {
          for x in 0..<w {
            let got = out[view * size + (k * h + y) * w + x]
            #expect(got == images[size + (k * h + y) * w + (w - 1 - x)])
          }
        }
      }
    }
  }

  @Test func grayscaleAloneGivesThreeEqualChannelsOfLuma() {
    hw_set_threads(2)
    let side = 32
    let plane = side * side
    var options = Self.nothing()
    options.grayscale_probability = 1
    let images = Self.images(count: 1, c: 3, h: side, w: side)
    let out = Self.views(options, images: images, c: 3, h: side, w: side, indices: [0])
    for view in 0..<2 {
      let base = view * 3 * plane
      for i in 0..<plane {
        let luma = 0.299 * images[i] + 0.587 * images[plane + i] + 0.114 * images[2 * plane + i]
        #expect(out[base + i] == out[base + plane + i])
        #expect(out[base + i] == out[base + 2 * plane + i])
        #expect(abs(out[base + i] - luma) < 1e-6)
      }
    }
    // A single channel has nothing to convert.
    let gray = Self.images(count: 1, c: 1, h: side, w: side)
    let same = Self.views(options, images: gray, c: 1, h: side, w: side, indices: [0])
    #expect(bitwiseEqual(same, gray + gray))
  }

  @Test func brightnessAloneScalesByOneFactorWithinOneMinusBToOnePlusB() {
    hw_set_threads(2)
    let (c, side, b) = (3, 32, Float(0.5))
    var options = Self.nothing()
    options.jitter_probability = 1
    options.brightness = b
    let size = c * side * side
    let images = Self.images(count: 8, c: c, h: side, w: side)
    let out = Self.views(
      options, images: images, c: c, h: side, w: side, indices: (0..<8).map { Int64($0) })
    var factors: [Float] = []
    for row in 0..<16 {
      let image = Array(images[(row % 8) * size..<(row % 8 + 1) * size])
      let view = Array(out[row * size..<(row + 1) * size])
      // The factor from the brightest pixel that did not clip.
      let probe = image.indices.filter { image[$0] > 0.5 && view[$0] < 1 }.first!
      let factor = view[probe] / image[probe]
      #expect(factor >= 1 - b - 1e-6 && factor <= 1 + b + 1e-6)
      for i in image.indices {
        #expect(abs(view[i] - min(1, image[i] * factor)) < 1e-5)
      }
      factors.append(factor)
    }
    #expect(Set(factors).count > 8)  // the factor differs between views
  }

  @Test func contrastAloneScalesDistancesFromTheMeanGray() {
    hw_set_threads(2)
    let (side, strength) = (28, Float(0.4))
    var options = Self.nothing()
    options.jitter_probability = 1
    options.contrast = strength
    let images = Self.images(count: 4, c: 1, h: side, w: side)
    let size = side * side
    let out = Self.views(options, images: images, c: 1, h: side, w: side, indices: [0, 1, 2, 3])
    for row in 0..<8 {
      let image = images[(row % 4) * size..<(row % 4 + 1) * size]
      let view = Array(out[row * size..<(row + 1) * size])
      let mean = image.reduce(0, +) / Float(size)
      // Two pixels close enough to the mean not to clip give the factor.
      let a = image.firstIndex { $0 < mean - 0.1 && $0 > mean - 0.3 }!
      let b = image.firstIndex { $0 > mean + 0.1 && $0 < mean + 0.3 }!
      let (i, j) = (a - image.startIndex, b - image.startIndex)
      let factor = (view[j] - view[i]) / (image[b] - image[a])
      #expect(factor >= 1 - strength - 1e-4 && factor <= 1 + strength + 1e-4)
      for (i, x) in image.enumerated() {
        #expect(abs(view[i] - min(1, max(0, mean + factor * (x - mean)))) < 1e-4)
      }
    }
  }

  @Test func hueAloneRotatesEveryPixelByTheSameTurnKeepingMaxAndMin() {
    hw_set_threads(2)
    let (side, strength) = (32, Float(0.3))
    let plane = side * side
    var options = Self.nothing()
    options.jitter_probability = 1
    options.hue = strength
    let images = Self.images(count: 1, c: 3, h: side, w: side)
    let out = Self.views(options, images: images, c: 3, h: side, w: side, indices: [0])
    var shifts: [Double] = []
    for view in 0..<2 {
      let base = view * 3 * plane
      var shift: Double?
      for i in 0..<plane {
        let (r, g, b) = (images[i], images[plane + i], images[2 * plane + i])
        let (ro, go, bo) = (out[base + i], out[base + plane + i], out[base + 2 * plane + i])
        #expect(abs(max(r, g, b) - max(ro, go, bo)) < 1e-5)
        #expect(abs(min(r, g, b) - min(ro, go, bo)) < 1e-5)
        guard max(r, g, b) - min(r, g, b) > 0.2 else { continue }
        var d = Self.hue(ro, go, bo) - Self.hue(r, g, b)
        d -= d.rounded()  // to [-1/2, 1/2]
        if let shift { #expect(abs(d - shift) < 1e-4) } else { shift = d }
      }
      #expect(abs(shift!) <= Double(strength) + 1e-6)
      shifts.append(shift!)
    }
    #expect(shifts[0] != shifts[1])
  }

  @Test func saturationAloneKeepsEachPixelsLumaWhereNothingClips() {
    hw_set_threads(2)
    let side = 32
    let plane = side * side
    var options = Self.nothing()
    options.jitter_probability = 1
    options.saturation = 0.8
    let images = Self.images(count: 1, c: 3, h: side, w: side)
    let out = Self.views(options, images: images, c: 3, h: side, w: side, indices: [0])
    func luma(_ v: [Float], _ base: Int, _ i: Int) -> Float {
      0.299 * v[base + i] + 0.587 * v[base + plane + i] + 0.114 * v[base + 2 * plane + i]
    }
    var changed = false
    for view in 0..<2 {
      let base = view * 3 * plane
      for i in 0..<plane {
        let channels = [out[base + i], out[base + plane + i], out[base + 2 * plane + i]]
        changed = changed || channels[0] != images[i]
        guard channels.allSatisfy({ $0 > 0 && $0 < 1 }) else { continue }
        #expect(abs(luma(out, base, i) - luma(images, 0, i)) < 1e-5)
      }
    }
    #expect(changed)
  }

  @Test func blurOfAConstantImageIsTheSameConstant() {
    hw_set_threads(2)
    for (c, side) in [(1, 28), (3, 96)] {
      var options = Self.nothing()
      options.blur_probability = 1
      let images = [Float](repeating: 0.37, count: c * side * side)
      let out = Self.views(options, images: images, c: c, h: side, w: side, indices: [0, 0])
      #expect(out.allSatisfy { $0 == 0.37 })
    }
  }

  @Test func blurWithAFixedSigmaIsTheSeparableGaussianWithReflectPadding() {
    hw_set_threads(2)
    let (side, sigma) = (40, 1.3)  // kernel size 2 * (40 / 10 / 2) + 1 = 5
    let radius = 2
    var options = Self.nothing()
    options.blur_probability = 1
    options.blur_sigma_min = Float(sigma)
    options.blur_sigma_max = Float(sigma)
    let image = Self.images(count: 1, c: 1, h: side, w: side)
    let out = Self.views(options, images: image, c: 1, h: side, w: side, indices: [0])
    let weights = (-radius...radius).map { exp(-0.5 * Double($0 * $0) / (sigma * sigma)) }
    let kernel = weights.map { $0 / weights.reduce(0, +) }
    func reflect(_ i: Int) -> Int { i < 0 ? -i : (i >= side ? 2 * (side - 1) - i : i) }
    var want = [Double](repeating: 0, count: side * side)
    for y in 0..<side {
      for x in 0..<side {
        for (dy, ky) in zip(-radius...radius, kernel) {
          for (dx, kx) in zip(-radius...radius, kernel) {
            want[y * side + x] += ky * kx * Double(image[reflect(y + dy) * side + reflect(x + dx)])
          }
        }
      }
    }
    expectClose(Array(out[0..<side * side]), want, tolerance: 1e-6)
    #expect(bitwiseEqual(Array(out[0..<side * side]), Array(out[side * side..<2 * side * side])))
  }

  @Test func aQuarterAreaCropMagnifiesARampByTwo() {
    hw_set_threads(2)
    let side = 32
    var options = Self.nothing()
    options.crop_scale_min = 0.25
    options.crop_scale_max = 0.25
    // image[y][x] = x / 64 + y / 128: bilinear resampling reproduces it exactly inside the crop.
    var image = [Float](repeating: 0, count: side * side)
    for y in 0..<side {
      for x in 0..<side { image[y * side + x] = Float(x) / 64 + Float(y) / 128 }
    }
    let out = Self.views(options, images: image, c: 1, h: side, w: side, indices: [0, 0, 0])
    for view in 0..<6 {
      let v = out[view * side * side..<(view + 1) * side * side]
      let base = v.startIndex
      // Half-pixel steps between the first and last column, which clamp to the crop's edges.
      for y in 0..<side {
        for x in 2..<side - 1 {
          #expect(abs(v[base + y * side + x] - v[base + y * side + x - 1] - 0.5 / 64) < 1e-5)
        }
      }
      for x in 1..<side {
        #expect(abs(v[base + 2 * side + x] - v[base + side + x] - 0.5 / 128) < 1e-5)
      }
    }
  }

  // MARK: Larger images and timing

  @Test func aBatchOf96x96RGBImagesWorks() {
    hw_set_threads(2)
    let (c, side, count) = (3, 96, 12)
    let options = hw_augment_defaults(Int32(c), Int32(side))
    #expect(options.blur_probability == 0.5)
    let images = Self.images(count: count, c: c, h: side, w: side)
    let indices = (0..<count).map { Int64($0) }
    let out = Self.views(options, images: images, c: c, h: side, w: side, indices: indices)
    #expect(out.count == 2 * count * c * side * side)
    #expect(out.allSatisfy { $0 >= 0 && $0 <= 1 })
    #expect(!bitwiseEqual(Array(out[0..<images.count]), images))
    #expect(
      bitwiseEqual(
        out, Self.views(options, images: images, c: c, h: side, w: side, indices: indices)))
  }

  /// Not a check: prints the best of five runs for typical batches with one and two threads.
  @Test func timingOfTypicalBatches() {
    for (views, c, side) in [(512, 1, 28), (256, 3, 32), (256, 3, 96)] {
      var options = hw_augment_defaults(Int32(c), Int32(side))
      let count = views / 2
      let images = Self.images(count: count, c: c, h: side, w: side)
      let indices = (0..<count).map { Int64($0) }
      var out = [Float](repeating: 0, count: views * c * side * side)
      var line = "augment \(views) views of \(side)x\(side)x\(c):"
      for threads in [1, 2] {
        hw_set_threads(Int32(threads))
        var best = Duration.seconds(1000)
        for step in 0..<5 {
          let time = ContinuousClock().measure {
            hw_augment_views(
              &options, 1, UInt64(step), images, Int32(c), Int32(side), Int32(side), indices,
              Int32(count), Int32(side), Int32(side), &out)
          }
          best = min(best, time)
        }
        let (seconds, attoseconds) = best.components
        let ms = Double(seconds) * 1e3 + Double(attoseconds) / 1e15
        line += String(format: " %d thread(s) %.3f ms,", threads, ms)
      }
      print(line.dropLast())
    }
    hw_set_threads(2)
  }
}
