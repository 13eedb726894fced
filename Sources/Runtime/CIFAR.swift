import Foundation

/// Loader for CIFAR-10 in its binary version (`cifar-10-binary.tar.gz`, which unpacks to
/// `cifar-10-batches-bin/`).
///
/// Each file is a sequence of 3073-byte records: one label byte (0-9) followed by a 32x32
/// colour image as 1024 red, 1024 green and 1024 blue bytes, each plane row major.
public enum CIFAR10 {
  /// The two standard splits: 50,000 training images in five batches, 10,000 test images.
  public typealias Split = FashionMNIST.Split

  /// Number of classes; labels lie in `0..<classCount`.
  public static let classCount = 10

  /// The files of a split, in the order their records are concatenated.
  public static func fileNames(for split: Split) -> [String] {
    split == .train ? (1...5).map { "data_batch_\($0).bin" } : ["test_batch.bin"]
  }

  /// Loads a split as 3x32x32 images with pixels scaled to [0, 1].
  ///
  /// The training split concatenates `data_batch_1.bin` to `data_batch_5.bin` in order.
  /// `limit` keeps only the first `limit` images, and only the bytes of those images are read;
  /// the size of every file of the split is still checked.
  /// - Throws: `DatasetError` when a file is missing, is not a whole number of records, or
  ///   holds a label outside `0..<10`.
  public static func load(
    split: Split, directory: String, limit: Int? = nil
  ) throws(DatasetError) -> LabeledImages {
    let expected =
      "CIFAR-10 binary files data_batch_1.bin ... data_batch_5.bin (train) and test_batch.bin "
      + "(test), as in cifar-10-batches-bin/ from cifar-10-binary.tar.gz"
    let paths = try RecordFile.locate(
      fileNames(for: split), in: directory, dataset: "CIFAR-10", expected: expected)
    return try CIFARRecords.load(
      paths: paths, labels: [("label", classCount)], keeping: 0, limit: limit)
  }
}

/// Loader for CIFAR-100 in its binary version (`cifar-100-binary.tar.gz`, which unpacks to
/// `cifar-100-binary/`).
///
/// Each file is a sequence of 3074-byte records: a coarse label byte (0-19), a fine label byte
/// (0-99), then a 32x32 colour image laid out as in CIFAR-10.
public enum CIFAR100 {
  /// The two standard splits: 50,000 training and 10,000 test images.
  public typealias Split = FashionMNIST.Split

  /// Which of the two labels of each image to keep.
  public enum Labels: String, CaseIterable, Sendable {
    /// The 100 classes, `0..<100`.
    case fine
    /// The 20 superclasses, `0..<20`.
    case coarse

    /// Number of classes at this granularity.
    public var classCount: Int { self == .fine ? 100 : 20 }
  }

  /// The file of a split.
  public static func fileNames(for split: Split) -> [String] {
    [split == .train ? "train.bin" : "test.bin"]
  }

  /// Loads a split as 3x32x32 images with pixels scaled to [0, 1] and `labels` as the labels.
  ///
  /// Both label bytes of every image read are checked. `limit` keeps only the first `limit`
  /// images, and only the bytes of those images are read.
  /// - Throws: `DatasetError` when the file is missing, is not a whole number of records, or
  ///   holds a label out of range.
  public static func load(
    split: Split, directory: String, limit: Int? = nil, labels: Labels = .fine
  ) throws(DatasetError) -> LabeledImages {
    let expected =
      "CIFAR-100 binary files train.bin and test.bin, as in cifar-100-binary/ from "
      + "cifar-100-binary.tar.gz"
    let paths = try RecordFile.locate(
      fileNames(for: split), in: directory, dataset: "CIFAR-100", expected: expected)
    return try CIFARRecords.load(
      paths: paths,
      labels: [("coarse label", Labels.coarse.classCount), ("fine label", Labels.fine.classCount)],
      keeping: labels == .coarse ? 0 : 1, limit: limit)
  }
}

/// The record layout shared by CIFAR-10 and CIFAR-100: label bytes, then a CHW image.
enum CIFARRecords {
  static let side = 32
  static let imageBytes = 3 * side * side

  /// Reads the first `limit` records of `paths`, concatenated; `labels` names the label bytes
  /// that start each record and their class counts, `keeping` which of them becomes the label.
  static func load(
    paths: [String], labels: [(name: String, classes: Int)], keeping: Int, limit: Int?
  ) throws(DatasetError) -> LabeledImages {
    let recordSize = labels.count + imageBytes
    let layout = labels.map { "1 \($0.name) byte" }.joined(separator: " + ")
    let description = "\(recordSize)-byte records (\(layout) + \(imageBytes) pixel bytes)"
    var files: [RecordFile] = []
    for path in paths {
      files.append(try RecordFile(path: path, recordSize: recordSize, description: description))
    }
    let total = files.reduce(0) { $0 + $1.count }
    let count = min(total, max(0, limit ?? Int.max))
    var pixels: [Float] = []
    pixels.reserveCapacity(count * imageBytes)
    var values: [Int32] = []
    values.reserveCapacity(count)
    for file in files where values.count < count {
      try file.read(records: min(file.count, count - values.count)) {
        (bytes, first) throws(DatasetError) in
        for r in 0..<bytes.count / recordSize {
          let base = r * recordSize
          for (j, label) in labels.enumerated() where Int(bytes[base + j]) >= label.classes {
            throw DatasetError(
              file: file.path, offset: (first + r) * recordSize + j,
              message: "\(label.name) \(bytes[base + j]) of record \(first + r) is outside "
                + "0..<\(label.classes)")
          }
          values.append(Int32(bytes[base + keeping]))
          for k in base + labels.count..<base + recordSize {
            pixels.append(Float(bytes[k]) / 255)
          }
        }
      }
    }
    return LabeledImages(
      count: count, channels: 3, height: side, width: side, pixels: pixels, labels: values)
  }
}

/// A file of fixed-size records (CIFAR, STL-10) whose size has been checked; its records are
/// read from the start in chunks, so a prefix can be read without reading the whole file.
struct RecordFile {
  /// The file's path.
  let path: String
  /// Bytes per record.
  let recordSize: Int
  /// Number of whole records in the file.
  let count: Int

  /// Checks that `path` is a non-empty file of whole `recordSize`-byte records;
  /// `description` says what a record holds, for errors.
  init(path: String, recordSize: Int, description: String) throws(DatasetError) {
    self.path = path
    self.recordSize = recordSize
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw DatasetError(file: path, message: "no such file, expected \(description)")
    }
    guard !isDirectory.boolValue else {
      throw DatasetError(file: path, message: "is a directory, expected a file of \(description)")
    }
    let handle = try Self.open(path)
    defer { try? handle.close() }
    let size: Int
    do {
      size = Int(try handle.seekToEnd())
    } catch {
      throw DatasetError(file: path, message: "cannot read file: \(error.localizedDescription)")
    }
    guard size > 0 else {
      throw DatasetError(file: path, offset: 0, message: "file is empty, expected \(description)")
    }
    let partial = size % recordSize
    guard partial == 0 else {
      throw DatasetError(
        file: path, offset: size - partial,
        message: "file ends with a partial record of \(partial) bytes: expected \(description), "
          + "but the file size \(size) is not a multiple of \(recordSize)")
    }
    count = size / recordSize
  }

  /// Calls `body` with consecutive chunks of whole records covering the first `records` records,
  /// each with the index of its first record.
  func read(
    records: Int, _ body: ([UInt8], Int) throws(DatasetError) -> Void
  ) throws(DatasetError) {
    guard records > 0 else { return }
    let handle = try Self.open(path)
    defer { try? handle.close() }
    let perChunk = max(1, (1 << 22) / recordSize)
    var done = 0
    while done < records {
      let wanted = min(perChunk, records - done) * recordSize
      let data: Data
      do {
        data = try handle.read(upToCount: wanted) ?? Data()
      } catch {
        throw DatasetError(
          file: path, offset: done * recordSize,
          message: "cannot read file: \(error.localizedDescription)")
      }
      guard data.count == wanted else {
        throw DatasetError(
          file: path, offset: done * recordSize + data.count,
          message: "file ended early while reading \(wanted) bytes (did it change while loading?)")
      }
      try body([UInt8](data), done)
      done += wanted / recordSize
    }
  }

  private static func open(_ path: String) throws(DatasetError) -> FileHandle {
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw DatasetError(file: path, message: "cannot open file for reading")
    }
    return handle
  }

  /// The paths of `names` in `directory`, or an error naming the directory, the missing files
  /// and (`expected`) every file a `dataset` directory should hold.
  static func locate(
    _ names: [String], in directory: String, dataset: String, expected: String
  ) throws(DatasetError) -> [String] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory),
      isDirectory.boolValue
    else {
      throw DatasetError(
        file: directory, message: "no \(dataset) directory here; expected \(expected)")
    }
    let paths = names.map { (directory as NSString).appendingPathComponent($0) }
    let missing = zip(names, paths).filter { !FileManager.default.fileExists(atPath: $1) }
    guard missing.isEmpty else {
      throw DatasetError(
        file: directory,
        message: "missing \(missing.map(\.0).joined(separator: ", ")) in this directory; "
          + "expected \(expected)")
    }
    return paths
  }
}
