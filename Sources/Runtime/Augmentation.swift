import Foundation
import GraphIR

/// SimCLR-style augmentation of NCHW float images in [0, 1], for the reference trainer.
///
/// Each view is a random resized crop (bilinear, back to the original size), a horizontal flip,
/// then brightness and contrast jitter, clamped to [0, 1]. Every random choice comes from a
/// generator seeded by hashing `(seed, step, dataset index, view)`, so a view does not depend
/// on call order, batch composition or threading.
public struct Augmenter: Sendable {
  /// The seed every random choice derives from.
  public var seed: UInt64
  /// Range of the crop's area as a fraction of the image's.
  public var scale: ClosedRange<Float>
  /// Range of the crop's width / height ratio (sampled log-uniformly).
  public var ratio: ClosedRange<Float>
  /// Probability of flipping a view horizontally.
  public var flipProbability: Float
  /// Brightness factors are uniform in `1 - brightness ... 1 + brightness`.
  public var brightness: Float
  /// Contrast factors are uniform in `1 - contrast ... 1 + contrast`.
  public var contrast: Float

  /// Creates an augmenter; the defaults follow SimCLR's crop, flip and (reduced) colour jitter.
  public init(
    seed: UInt64, scale: ClosedRange<Float> = 0.2...1.0,
    ratio: ClosedRange<Float> = Float(3) / 4...Float(4) / 3, flipProbability: Float = 0.5,
    brightness: Float = 0.4, contrast: Float = 0.4
  ) {
    precondition(scale.lowerBound > 0 && scale.upperBound <= 1, "scale must lie in (0, 1]")
    precondition(ratio.lowerBound > 0, "ratio must be positive")
    self.seed = seed
    self.scale = scale
    self.ratio = ratio
    self.flipProbability = flipProbability
    self.brightness = brightness
    self.contrast = contrast
  }

  /// Two augmented views of each image in `indices`, NCHW: rows `0..<n` are the first view of
  /// each image and rows `n..<2n` the second, so the InfoNCE loss pairs row `i` with `i + n`.
  public func views(of images: LabeledImages, indices: [Int], step: Int) -> [Float] {
    let n = indices.count
    let size = images.imageSize
    var output = [Float](repeating: 0, count: 2 * n * size)
    output.withUnsafeMutableBufferPointer { out in
      images.pixels.withUnsafeBufferPointer { source in
        for view in 0..<2 {
          for (row, index) in indices.enumerated() {
            precondition(index >= 0 && index < images.count, "image index \(index) out of range")
            var rng = SplitMix64(
              seed: SplitMix64.seed(
                seed, UInt64(bitPattern: Int64(step)), UInt64(index), UInt64(view)))
            let target = UnsafeMutableBufferPointer(
              rebasing: out[(view * n + row) * size..<(view * n + row + 1) * size])
            let image = UnsafeBufferPointer(rebasing: source[index * size..<(index + 1) * size])
            augment(image, into: target, shape: images, rng: &rng)
          }
        }
      }
    }
    return output
  }

  /// The images in `indices`, NCHW, unaugmented (for evaluation).
  public func batch(of images: LabeledImages, indices: [Int]) -> [Float] {
    var output: [Float] = []
    output.reserveCapacity(indices.count * images.imageSize)
    for index in indices { output.append(contentsOf: images.image(index)) }
    return output
  }

  /// A crop rectangle in pixel coordinates.
  struct Crop: Equatable {
    var top: Int
    var left: Int
    var height: Int
    var width: Int
  }

  /// Samples a crop like torchvision's RandomResizedCrop: ten tries at a random area and
  /// aspect ratio, falling back to the largest centred crop within the ratio range.
  func sampleCrop(height: Int, width: Int, rng: inout SplitMix64) -> Crop {
    let area = Float(height * width)
    let logRatio = log(ratio.lowerBound)...log(ratio.upperBound)
    for _ in 0..<10 {
      let targetArea = area * rng.uniform(scale)
      let aspect = exp(rng.uniform(logRatio))
      let w = Int((targetArea * aspect).squareRoot().rounded())
      let h = Int((targetArea / aspect).squareRoot().rounded())
      if w > 0, h > 0, w <= width, h <= height {
        let top = Int(rng.next() % UInt64(height - h + 1))
        let left = Int(rng.next() % UInt64(width - w + 1))
        return Crop(top: top, left: left, height: h, width: w)
      }
    }
    let inRatio = Float(width) / Float(height)
    var w = width
    var h = height
    if inRatio < ratio.lowerBound {
      h = max(1, Int((Float(w) / ratio.lowerBound).rounded()))
    } else if inRatio > ratio.upperBound {
      w = max(1, Int((Float(h) * ratio.upperBound).rounded()))
    }
    return Crop(top: (height - h) / 2, left: (width - w) / 2, height: h, width: w)
  }

  /// Writes one augmented view of `image` (CHW) into `target`.
  func augment(
    _ image: UnsafeBufferPointer<Float>, into target: UnsafeMutableBufferPointer<Float>,
    shape: LabeledImages, rng: inout SplitMix64
  ) {
    // Draw in a fixed order so that each option's choice is independent of the others'.
    let flip = rng.unit() < flipProbability
    let brightnessFactor = rng.uniform(1 - brightness...1 + brightness)
    let contrastFactor = rng.uniform(1 - contrast...1 + contrast)
    let crop = sampleCrop(height: shape.height, width: shape.width, rng: &rng)
    resample(image, crop: crop, flip: flip, into: target, shape: shape)
    if brightnessFactor != 1 {
      for i in target.indices { target[i] = min(1, max(0, target[i] * brightnessFactor)) }
    }
    if contrastFactor != 1 {
      let mean = target.reduce(0, +) / Float(target.count)
      for i in target.indices {
        target[i] = min(1, max(0, (target[i] - mean) * contrastFactor + mean))
      }
    }
  }

  /// Bilinearly resamples `crop` of every channel back to the full size (pixel centres aligned,
  /// edges clamped), mirroring horizontally when `flip` is set.
  func resample(
    _ image: UnsafeBufferPointer<Float>, crop: Crop, flip: Bool,
    into target: UnsafeMutableBufferPointer<Float>, shape: LabeledImages
  ) {
    let (height, width) = (shape.height, shape.width)
    func taps(_ count: Int, _ start: Int, _ length: Int) -> [(Int, Int, Float)] {
      (0..<count).map { d in
        let s = (Float(d) + 0.5) * Float(length) / Float(count) - 0.5
        let clamped = min(max(s, 0), Float(length - 1))
        let low = Int(clamped.rounded(.down))
        return (start + low, start + min(low + 1, length - 1), clamped - Float(low))
      }
    }
    let rows = taps(height, crop.top, crop.height)
    var columns = taps(width, crop.left, crop.width)
    if flip { columns.reverse() }
    for c in 0..<shape.channels {
      let plane = c * height * width
      for (y, (y0, y1, fy)) in rows.enumerated() {
        let top = plane + y0 * width
        let bottom = plane + y1 * width
        for (x, (x0, x1, fx)) in columns.enumerated() {
          let upper = image[top + x0] * (1 - fx) + image[top + x1] * fx
          let lower = image[bottom + x0] * (1 - fx) + image[bottom + x1] * fx
          target[plane + y * width + x] = upper * (1 - fy) + lower * fy
        }
      }
    }
  }
}
