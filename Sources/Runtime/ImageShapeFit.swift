import CKernelSupport
import GraphIR

/// Mapping a data set's images to the image shape a program takes.
///
/// Channels: equal counts pass; one channel becomes three by repeating it (grayscale data in a
/// colour program, as torchvision's `Grayscale(3)`); anything else (colour data in a grayscale
/// program) is an error, since dropping colour is a choice the user should make. Size: training
/// views are cropped and resized to the program's size by the augmentation; evaluation resizes
/// each whole image (`resized(height:width:)`).
extension LabeledImages {
  /// `[channels, height, width]` of one image.
  public var imageShape: [Int] { [channels, height, width] }

  /// The images with the channel count of `shape` (`[channels, height, width]`).
  /// - Throws: `TrainingError` naming both shapes when the channels cannot be bridged.
  public func matchingChannels(
    of shape: [Int], dataset: String, program: String
  ) throws(TrainingError) -> LabeledImages {
    let wanted = shape.first ?? channels
    if wanted == channels { return self }
    guard channels == 1 else {
      throw TrainingError(
        "\(dataset) has images of shape \(imageShape) but program '\(program)' takes "
          + "\(shape): \(channels) channels cannot be mapped to \(wanted) (only 1 channel is "
          + "repeated to more); choose a program for \(channels)-channel images")
    }
    var repeated: [Float] = []
    repeated.reserveCapacity(count * wanted * height * width)
    let plane = height * width
    for i in 0..<count {
      let image = pixels[i * plane..<(i + 1) * plane]
      for _ in 0..<wanted { repeated.append(contentsOf: image) }
    }
    return LabeledImages(
      count: count, channels: wanted, height: height, width: width, pixels: repeated,
      labels: labels)
  }

  /// Every whole image resized to `height` x `width` as the augmentation resizes a crop
  /// (bilinear when enlarging, antialiased when shrinking); the same images when the size agrees.
  public func resized(height newHeight: Int, width newWidth: Int) -> LabeledImages {
    if newHeight == height && newWidth == width { return self }
    var out = [Float](repeating: 0, count: count * channels * newHeight * newWidth)
    pixels.withUnsafeBufferPointer { source in
      out.withUnsafeMutableBufferPointer { target in
        hw_resize_images(
          source.baseAddress!, Int32(count), Int32(channels), Int32(height), Int32(width),
          Int32(newHeight), Int32(newWidth), target.baseAddress!)
      }
    }
    return LabeledImages(
      count: count, channels: channels, height: newHeight, width: newWidth, pixels: out,
      labels: labels)
  }
}

extension Dataset {
  /// Loads `part` for a program taking images of `shape` (`[channels, height, width]`):
  /// channels matched, and for evaluation parts every image resized to the program's size
  /// (training images keep their size: the augmentation crops and resizes them).
  public func load(
    _ part: DatasetPart, for shape: [Int], program: String, limit: Int? = nil
  ) throws -> LabeledImages {
    let size = shape.count == 3 ? (shape[1], shape[2]) : nil
    let images = try load(part, limit: limit, size: size).matchingChannels(
      of: shape, dataset: description, program: program)
    guard part != .training, shape.count == 3 else { return images }
    return images.resized(height: shape[1], width: shape[2])
  }
}

extension CompiledProgram {
  /// `[channels, height, width]` of the images the program's `encode` entry takes.
  public var imageShape: [Int] {
    let entry = entries.first { $0.name == ProgramNames.encode }
    let images = entry?.inputs.first { $0.name == ProgramNames.images }
    return Array((images?.type.shape ?? []).dropFirst())
  }
}
