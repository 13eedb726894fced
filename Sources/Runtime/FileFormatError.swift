/// A dataset or checkpoint file that could not be read or written: which file, where in it,
/// and what was wrong.
///
/// The description reads like
/// `train-images-idx3-ubyte.gz: offset 16: expected 47040000 bytes of data, found 1200`.
/// Offsets count bytes from the start of the file (of the decompressed stream for gzip).
public struct FileFormatError: Error, CustomStringConvertible, Equatable, Sendable {
  /// The path of the offending file (or directory, when no file could be found).
  public var file: String
  /// The byte offset the message refers to, when there is one.
  public var offset: Int?
  /// What was expected and what was found.
  public var message: String

  /// Creates an error for `file`, optionally at byte `offset`.
  public init(file: String, offset: Int? = nil, message: String) {
    self.file = file
    self.offset = offset
    self.message = message
  }

  public var description: String {
    if let offset { return "\(file): offset \(offset): \(message)" }
    return "\(file): \(message)"
  }
}

/// A dataset file (IDX, CIFAR, STL-10) that could not be read.
public typealias DatasetError = FileFormatError

/// A checkpoint file that could not be read or written.
public typealias CheckpointError = FileFormatError
