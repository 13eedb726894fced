import CKernelSupport

/// SimCLR's augmentations in C with OpenMP (`headway_augment.h`): random resized crop, flip,
/// colour jitter, random grayscale and blur, deterministic from (seed, step, image, view).
public struct SimCLRAugmenter: Sendable {
  public var seed: UInt64
  public var options: hw_augment_options
  /// `[channels, height, width]` of each view: the program's image shape. The random resized
  /// crop maps images of any size to it; the images must already have its channel count.
  public var viewShape: [Int]

  /// SimCLR's defaults for views of `viewShape` (`[channels, height, width]`).
  public init(seed: UInt64, viewShape: [Int], cropMinScale: Double? = nil) {
    precondition(viewShape.count == 3, "a view shape is [channels, height, width]")
    self.seed = seed
    self.viewShape = viewShape
    options = hw_augment_defaults(Int32(viewShape[0]), Int32(viewShape[1]))
    if let cropMinScale { options.crop_scale_min = Float(cropMinScale) }
  }

  /// Two views of each image of the batch: rows 0..<n are first views, n..<2n second views.
  public func views(of images: LabeledImages, indices: [Int], step: Int) -> [Float] {
    precondition(images.channels == viewShape[0], "images have \(images.channels) channels")
    let (height, width) = (viewShape[1], viewShape[2])
    var views = [Float](repeating: 0, count: 2 * indices.count * images.channels * height * width)
    let indices64 = indices.map(Int64.init)
    withUnsafePointer(to: options) { options in
      images.pixels.withUnsafeBufferPointer { pixels in
        views.withUnsafeMutableBufferPointer { out in
          hw_augment_views(
            options, seed, UInt64(step), pixels.baseAddress!, Int32(images.channels),
            Int32(images.height), Int32(images.width), indices64, Int32(indices.count),
            Int32(height), Int32(width), out.baseAddress!)
        }
      }
    }
    return views
  }
}
