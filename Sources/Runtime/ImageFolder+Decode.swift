import CImageCodecs
import Foundation

/// One decoded file: HWC bytes.
struct DecodedImage: Sendable {
  var width: Int
  var height: Int
  var channels: Int
  var samples: [UInt8]
}

extension ImageFolder {
  /// Decodes every file (in parallel); the first failure in listing order is thrown.
  static func decodeAll(_ paths: [String]) throws(DatasetError) -> [DecodedImage] {
    let results = UnsafeMutableBufferPointer<Result<DecodedImage, DatasetError>?>.allocate(
      capacity: paths.count)
    results.initialize(repeating: nil)
    defer { results.deallocate() }
    let pointer = UncheckedSendable(results)
    DispatchQueue.concurrentPerform(iterations: paths.count) { i in
      pointer.value[i] = Result { () throws(DatasetError) in try decode(paths[i]) }
    }
    var images: [DecodedImage] = []
    images.reserveCapacity(paths.count)
    for result in results { images.append(try result!.get()) }
    return images
  }

  /// Decodes one PNG or JPEG file.
  static func decode(_ path: String) throws(DatasetError) -> DecodedImage {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw DatasetError(file: path, message: "cannot read file")
    }
    var image = hw_image()
    let status = data.withUnsafeBytes { bytes in
      hw_image_decode(
        bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(bitPattern: 1)!,
        bytes.count, &image)
    }
    guard status == 0, let pixels = image.pixels else {
      let message = withUnsafeBytes(of: image.error) { bytes in
        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
      }
      throw DatasetError(
        file: path, offset: image.error_offset >= 0 ? image.error_offset : nil, message: message)
    }
    defer { hw_image_free(&image) }
    let count = Int(image.width) * Int(image.height) * Int(image.channels)
    return DecodedImage(
      width: Int(image.width), height: Int(image.height), channels: Int(image.channels),
      samples: Array(UnsafeBufferPointer(start: pixels, count: count)))
  }

  /// The decoded images as one NCHW set: common channels, one size (see `ImageFolder`).
  static func assemble(
    _ images: [DecodedImage], labels: [Int32], paths: [String], size: (Int, Int)?
  ) throws(DatasetError) -> LabeledImages {
    guard let first = images.first else {
      return LabeledImages(count: 0, channels: 1, height: 1, width: 1, pixels: [], labels: [])
    }
    let channels = images.contains { $0.channels == 3 } ? 3 : 1
    var (height, width) = (first.height, first.width)
    let mixed = images.firstIndex { $0.height != height || $0.width != width }
    if let mixed {
      guard let size else {
        throw DatasetError(
          file: paths[mixed],
          message: "is \(images[mixed].height)x\(images[mixed].width) but \(paths[0]) is "
            + "\(height)x\(width); images of several sizes need a program size to resize to")
      }
      (height, width) = size
    }
    var pixels: [Float] = []
    pixels.reserveCapacity(images.count * channels * height * width)
    for image in images {
      var planes = planar(image, channels: channels)
      if mixed != nil { planes = centreCropped(planes, image, channels, to: (height, width)) }
      pixels.append(contentsOf: planes)
    }
    return LabeledImages(
      count: images.count, channels: channels, height: height, width: width, pixels: pixels,
      labels: labels)
  }

  /// CHW floats in [0, 1] with `channels` channels (grey repeated for colour).
  static func planar(_ image: DecodedImage, channels: Int) -> [Float] {
    let plane = image.width * image.height
    var out = [Float](repeating: 0, count: channels * plane)
    for c in 0..<channels {
      let source = image.channels == 1 ? 0 : c
      for i in 0..<plane {
        out[c * plane + i] = Float(image.samples[i * image.channels + source]) / 255
      }
    }
    return out
  }

  /// The largest centred crop of `size`'s aspect, resized to `size`.
  static func centreCropped(
    _ planes: [Float], _ image: DecodedImage, _ channels: Int, to size: (Int, Int)
  ) -> [Float] {
    let (h, w) = (image.height, image.width)
    let aspect = Double(size.1) / Double(size.0)
    let cropW = min(w, max(1, Int((Double(h) * aspect).rounded())))
    let cropH = min(h, max(1, Int((Double(w) / aspect).rounded())))
    let (top, left) = ((h - cropH) / 2, (w - cropW) / 2)
    var crop: [Float] = []
    crop.reserveCapacity(channels * cropH * cropW)
    for c in 0..<channels {
      for y in top..<top + cropH {
        let row = c * h * w + y * w + left
        crop.append(contentsOf: planes[row..<row + cropW])
      }
    }
    let cropped = LabeledImages(
      count: 1, channels: channels, height: cropH, width: cropW, pixels: crop, labels: [0])
    return cropped.resized(height: size.0, width: size.1).pixels
  }
}

/// A value shared with concurrentPerform's iterations, each writing its own element.
private struct UncheckedSendable<Value>: @unchecked Sendable {
  let value: Value
  init(_ value: Value) { self.value = value }
}
