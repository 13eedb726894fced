import CKernelSupport

/// SimCLR's augmentations in C with OpenMP (`headway_augment.h`): random resized crop, flip,
/// colour jitter, random grayscale and blur, deterministic from (seed, step, image, view).
public struct SimCLRAugmenter: Sendable {
  public var seed: UInt64
  public var options: hw_augment_options

  /// SimCLR's defaults for the images' channel count and size.
  public init(seed: UInt64, channels: Int, height: Int, cropMinScale: Double? = nil) {
    self.seed = seed
    options = hw_augment_defaults(Int32(channels), Int32(height))
    if let cropMinScale { options.crop_scale_min = Float(cropMinScale) }
  }

  /// Two views of each image of the batch: rows 0..<n are first views, n..<2n second views.
  public func views(of images: LabeledImages, indices: [Int], step: Int) -> [Float] {
    var views = [Float](repeating: 0, count: 2 * indices.count * images.imageSize)
    let indices64 = indices.map(Int64.init)
    withUnsafePointer(to: options) { options in
      images.pixels.withUnsafeBufferPointer { pixels in
        views.withUnsafeMutableBufferPointer { out in
          hw_augment_views(
            options, seed, UInt64(step), pixels.baseAddress!, Int32(images.channels),
            Int32(images.height), Int32(images.width), indices64, Int32(indices.count),
            out.baseAddress!)
        }
      }
    }
    return views
  }
}
