import Foundation

/// Loader for STL-10 in its binary version (`stl10_binary.tar.gz`, which unpacks to
/// `stl10_binary/`).
///
/// `<split>_X.bin` holds 96x96 colour images of 27,648 bytes each: 9,216 red, 9,216 green and
/// 9,216 blue bytes, each plane in column-major order. `train_y.bin` and `test_y.bin` hold one
/// label byte per image, counting classes from 1 to 10.
public enum STL10 {
  /// The three splits: 5,000 labelled training images, 8,000 labelled test images and
  /// 100,000 unlabelled images.
  public enum Split: String, CaseIterable, Sendable {
    case train
    case test
    case unlabeled

    /// The prefix of the split's file names.
    public var filePrefix: String { rawValue }

    /// Whether the split comes with a label file.
    public var isLabeled: Bool { self != .unlabeled }
  }

  /// Number of classes; loaded labels lie in `0..<classCount` (the files count from 1).
  public static let classCount = 10

  /// Image height and width in pixels.
  public static let side = 96

  /// The label given to every image of the unlabelled split.
  public static let unlabeled: Int32 = -1

  /// The files of a split: the images, then the labels when the split has them.
  public static func fileNames(for split: Split) -> [String] {
    let images = "\(split.filePrefix)_X.bin"
    return split.isLabeled ? [images, "\(split.filePrefix)_y.bin"] : [images]
  }

  /// Loads a split as 3x96x96 NCHW images (row major) with pixels scaled to [0, 1].
  ///
  /// Labels are converted from the files' 1...10 to 0..<10; the unlabelled split gets
  /// `unlabeled` (-1) for every image. `limit` keeps only the first `limit` images, and only
  /// the bytes of those images and labels are read, which matters for the 2.7 GB
  /// `unlabeled_X.bin`.
  /// - Throws: `DatasetError` when a file is missing, is not a whole number of images, holds a
  ///   label outside 1...10, or the image and label files disagree on the count.
  public static func load(
    split: Split, directory: String, limit: Int? = nil
  ) throws(DatasetError) -> LabeledImages {
    let expected =
      "STL-10 binary files train_X.bin, train_y.bin, test_X.bin, test_y.bin and "
      + "unlabeled_X.bin, as in stl10_binary/ from stl10_binary.tar.gz"
    let paths = try RecordFile.locate(
      fileNames(for: split), in: directory, dataset: "STL-10", expected: expected)
    let imageBytes = 3 * side * side
    let images = try RecordFile(
      path: paths[0], recordSize: imageBytes,
      description: "\(imageBytes)-byte images (3 column-major \(side)x\(side) planes)")
    let count = min(images.count, max(0, limit ?? Int.max))
    var labels = [Int32](repeating: unlabeled, count: count)
    if split.isLabeled {
      labels = try readLabels(paths[1], count: count, imageFile: images)
    }
    var pixels: [Float] = []
    pixels.reserveCapacity(count * imageBytes)
    try images.read(records: count) { (bytes, _) throws(DatasetError) in
      for base in stride(from: 0, to: bytes.count, by: imageBytes) {
        appendTransposed(bytes, from: base, to: &pixels)
      }
    }
    return LabeledImages(
      count: count, channels: 3, height: side, width: side, pixels: pixels, labels: labels)
  }

  /// Appends the image starting at `bytes[base]`, column-major planes, as row-major planes
  /// scaled to [0, 1].
  static func appendTransposed(_ bytes: [UInt8], from base: Int, to pixels: inout [Float]) {
    let plane = side * side
    for channel in 0..<3 {
      let start = base + channel * plane
      for row in 0..<side {
        for column in 0..<side {
          pixels.append(Float(bytes[start + column * side + row]) / 255)
        }
      }
    }
  }

  /// Reads the first `count` labels of the label file at `path`, checking that it holds as many
  /// labels as `imageFile` holds images and that each label lies in 1...10.
  static func readLabels(
    _ path: String, count: Int, imageFile: RecordFile
  ) throws(DatasetError) -> [Int32] {
    let file = try RecordFile(path: path, recordSize: 1, description: "1-byte labels (1...10)")
    guard file.count == imageFile.count else {
      throw DatasetError(
        file: path, offset: min(file.count, imageFile.count),
        message: "holds \(file.count) labels but \(imageFile.path) holds \(imageFile.count) "
          + "images of \(imageFile.recordSize) bytes; the counts must agree")
    }
    var labels: [Int32] = []
    labels.reserveCapacity(count)
    try file.read(records: count) { (bytes, first) throws(DatasetError) in
      for (i, label) in bytes.enumerated() {
        guard (1...classCount).contains(Int(label)) else {
          throw DatasetError(
            file: path, offset: first + i,
            message: "label \(label) of image \(first + i) is outside 1...\(classCount) "
              + "(STL-10 label files count classes from 1)")
        }
        labels.append(Int32(label) - 1)
      }
    }
    return labels
  }
}
