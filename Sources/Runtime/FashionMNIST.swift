import Foundation

/// A labelled image set held in memory: NCHW float pixels in [0, 1] and one label per image.
public struct LabeledImages: Equatable, Sendable {
  /// Number of images.
  public var count: Int
  /// Channels per image (1 for grayscale, 3 for colour).
  public var channels: Int
  /// Image height in pixels.
  public var height: Int
  /// Image width in pixels.
  public var width: Int
  /// All pixels, NCHW, scaled to [0, 1]; `count * channels * height * width` values.
  public var pixels: [Float]
  /// One class label per image.
  public var labels: [Int32]

  /// Creates an image set; `pixels` must hold `count` NCHW images and `labels` `count` labels.
  public init(
    count: Int, channels: Int, height: Int, width: Int, pixels: [Float], labels: [Int32]
  ) {
    precondition(pixels.count == count * channels * height * width, "pixel count mismatch")
    precondition(labels.count == count, "label count mismatch")
    self.count = count
    self.channels = channels
    self.height = height
    self.width = width
    self.pixels = pixels
    self.labels = labels
  }

  /// The NCHW shape of `pixels`: `[count, channels, height, width]`.
  public var shape: [Int] { [count, channels, height, width] }

  /// Values per image: `channels * height * width`.
  public var imageSize: Int { channels * height * width }

  /// The pixels of image `i` (CHW).
  public func image(_ i: Int) -> ArraySlice<Float> {
    precondition(i >= 0 && i < count, "image index \(i) out of range 0..<\(count)")
    return pixels[i * imageSize..<(i + 1) * imageSize]
  }

  /// The first `n` images (all of them when there are fewer).
  public func prefix(_ n: Int) -> LabeledImages {
    let kept = max(0, min(n, count))
    return LabeledImages(
      count: kept, channels: channels, height: height, width: width,
      pixels: Array(pixels[0..<kept * imageSize]), labels: Array(labels[0..<kept]))
  }
}

/// Loader for Fashion-MNIST in its IDX files, as installed by Debian's `dataset-fashion-mnist`.
public enum FashionMNIST {
  /// Where Debian's `dataset-fashion-mnist` package installs the files.
  public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"

  /// Number of classes; labels lie in `0..<classCount`.
  public static let classCount = 10

  /// The two standard splits: 60,000 training and 10,000 test images.
  public enum Split: String, CaseIterable, Sendable {
    case train
    case test

    /// The prefix of the split's file names.
    public var filePrefix: String { self == .train ? "train" : "t10k" }
  }

  /// Loads a split as 1x28x28 images with pixels scaled to [0, 1].
  ///
  /// Reads `<prefix>-images-idx3-ubyte` and `<prefix>-labels-idx1-ubyte` from `directory`, each
  /// either gzip-compressed (`.gz`) or plain. `limit` keeps only the first `limit` images.
  /// MNIST's files have the same names and layout; `dataset` and `hint` name the data set and
  /// say where to get it in errors.
  /// - Throws: `DatasetError` when a file is missing, malformed, or the files disagree.
  public static func load(
    split: Split, directory: String = defaultDirectory, limit: Int? = nil,
    dataset: String = "Fashion-MNIST", hint: String = installHint
  ) throws(DatasetError) -> LabeledImages {
    let imagePath = try locate(
      "\(split.filePrefix)-images-idx3-ubyte", in: directory, dataset: dataset, hint: hint)
    let labelPath = try locate(
      "\(split.filePrefix)-labels-idx1-ubyte", in: directory, dataset: dataset, hint: hint)
    let images = try IDXArray.read(path: imagePath)
    let labels = try IDXArray.read(path: labelPath)
    guard images.dims.count == 3 else {
      throw DatasetError(
        file: imagePath, offset: 3,
        message: "expected 3 dimensions (count, height, width), found \(images.dims.count)")
    }
    guard labels.dims.count == 1 else {
      throw DatasetError(
        file: labelPath, offset: 3,
        message: "expected 1 dimension (count), found \(labels.dims.count)")
    }
    guard images.dims[0] == labels.dims[0] else {
      throw DatasetError(
        file: imagePath,
        message: "holds \(images.dims[0]) images but \(labelPath) holds "
          + "\(labels.dims[0]) labels")
    }
    let count = min(images.dims[0], max(0, limit ?? Int.max))
    let height = images.dims[1]
    let width = images.dims[2]
    var labelValues: [Int32] = []
    labelValues.reserveCapacity(count)
    for (i, label) in labels.bytes.prefix(count).enumerated() {
      guard Int(label) < classCount else {
        throw DatasetError(
          file: labelPath, offset: 8 + i,
          message: "label \(label) of image \(i) is outside 0..<\(classCount)")
      }
      labelValues.append(Int32(label))
    }
    let pixels = images.bytes.prefix(count * height * width).map { Float($0) / 255 }
    return LabeledImages(
      count: count, channels: 1, height: height, width: width, pixels: pixels,
      labels: labelValues)
  }

  /// Where to get Fashion-MNIST, for errors.
  public static let installHint =
    "install Debian's dataset-fashion-mnist with `apt-get install -y dataset-fashion-mnist`"

  /// The path of `name.gz` or `name` in `directory`, whichever exists (the `.gz` first).
  static func locate(
    _ name: String, in directory: String, dataset: String, hint: String
  ) throws(DatasetError) -> String {
    let base = (directory as NSString).appendingPathComponent(name)
    for candidate in [base + ".gz", base] where FileManager.default.fileExists(atPath: candidate) {
      return candidate
    }
    var isDirectory: ObjCBool = false
    if !FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory)
      || !isDirectory.boolValue
    {
      throw DatasetError(file: directory, message: "no \(dataset) directory here; \(hint)")
    }
    throw DatasetError(
      file: directory, message: "neither \(name).gz nor \(name) found in this directory; \(hint)")
  }
}
