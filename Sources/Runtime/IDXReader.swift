import CZlib
import Foundation

/// The contents of an IDX file of unsigned bytes: its dimensions and its row-major data.
public struct IDXArray: Equatable, Sendable {
  /// The size of each dimension, outermost first.
  public var dims: [Int]
  /// The elements, row major; `bytes.count` is the product of `dims`.
  public var bytes: [UInt8]

  /// Creates an array; `bytes.count` should equal the product of `dims`.
  public init(dims: [Int], bytes: [UInt8]) {
    self.dims = dims
    self.bytes = bytes
  }

  /// Reads and validates an IDX file (as used by MNIST and Fashion-MNIST), plain or
  /// gzip-compressed; compression is detected from the gzip magic bytes `1f 8b`.
  ///
  /// Only element type `0x08` (unsigned byte) is accepted. The data must be exactly as long as
  /// the product of the dimensions: a short file and trailing bytes are both errors.
  public static func read(path: String) throws(DatasetError) -> IDXArray {
    let raw = try readFile(path)
    guard raw.starts(with: [0x1f, 0x8b]) else { return try parse(raw, file: path) }
    let (contents, failure) = gunzip(path)
    guard let failure else { return try parse(contents, file: path) }
    // A gzip stream cut short usually means a truncated download: say how much IDX data is
    // missing when that is what went wrong, and mention the gzip problem as well.
    guard failure.code == Z_BUF_ERROR else { throw failure.error }
    do {
      _ = try parse(contents, file: path)
    } catch {
      var error = error
      error.message += " (the gzip stream ends early: zlib: \(failure.zlibMessage))"
      throw error
    }
    throw failure.error
  }

  /// Parses the bytes of an (uncompressed) IDX file; `file` names it in errors.
  public static func parse(_ contents: [UInt8], file: String) throws(DatasetError) -> IDXArray {
    func fail(_ offset: Int?, _ message: String) -> DatasetError {
      DatasetError(file: file, offset: offset, message: message)
    }
    guard contents.count >= 4 else {
      throw fail(0, "file too short for an IDX header: \(contents.count) bytes, need at least 4")
    }
    guard contents[0] == 0, contents[1] == 0 else {
      throw fail(0, "not an IDX file: magic is \(hex(contents[0...1])), expected 00 00")
    }
    guard contents[2] == 0x08 else {
      let name = typeNames[contents[2]].map { " (\($0))" } ?? ""
      throw fail(
        2,
        "unsupported IDX element type \(hex(contents[2...2]))\(name); "
          + "only 08 (unsigned byte) is supported")
    }
    let rank = Int(contents[3])
    guard rank >= 1 else { throw fail(3, "IDX file declares 0 dimensions") }
    let headerSize = 4 + 4 * rank
    guard contents.count >= headerSize else {
      throw fail(
        contents.count,
        "header truncated: \(rank) dimensions need a \(headerSize)-byte header, "
          + "file has \(contents.count) bytes")
    }
    var dims: [Int] = []
    var expected = 1
    for d in 0..<rank {
      let at = 4 + 4 * d
      let size = contents[at..<at + 4].reduce(0) { $0 << 8 | Int($1) }
      dims.append(size)
      let (product, overflow) = expected.multipliedReportingOverflow(by: size)
      guard !overflow else { throw fail(at, "dimensions \(dims) overflow the element count") }
      expected = product
    }
    let found = contents.count - headerSize
    let shape = dims.map(String.init).joined(separator: "x")
    let kind = rank == 1 ? "label data" : rank == 3 ? "image data" : "data"
    guard found >= expected else {
      throw fail(
        headerSize,
        "expected \(expected) bytes of \(kind) (shape \(shape)), found \(found) "
          + "(data ends at offset \(contents.count))")
    }
    guard found == expected else {
      throw fail(
        headerSize + expected,
        "\(found - expected) unexpected trailing bytes after \(expected) bytes of \(kind) "
          + "(shape \(shape))")
    }
    return IDXArray(dims: dims, bytes: Array(contents[headerSize...]))
  }

  private static let typeNames: [UInt8: String] = [
    0x09: "signed byte", 0x0B: "int16", 0x0C: "int32", 0x0D: "float32", 0x0E: "float64",
  ]

  private static func hex(_ bytes: ArraySlice<UInt8>) -> String {
    bytes.map { String(format: "%02x", $0) }.joined(separator: " ")
  }

  private static func readFile(_ path: String) throws(DatasetError) -> [UInt8] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw DatasetError(file: path, message: "no such file")
    }
    guard !isDirectory.boolValue else {
      throw DatasetError(file: path, message: "is a directory, expected an IDX file")
    }
    do {
      return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    } catch {
      throw DatasetError(file: path, message: "cannot read file: \(error.localizedDescription)")
    }
  }

  /// Why decompression stopped early: zlib's error code and message.
  private struct GzipFailure {
    var code: Int32
    var zlibMessage: String
    var error: DatasetError
  }

  /// Decompresses a whole gzip file into memory with zlib, returning what could be
  /// decompressed and, when the stream is corrupt or cut short, why it stopped.
  private static func gunzip(_ path: String) -> ([UInt8], GzipFailure?) {
    func failure(_ code: Int32, _ message: String, at offset: Int?) -> GzipFailure {
      let error = DatasetError(file: path, offset: offset, message: message)
      return GzipFailure(code: code, zlibMessage: message, error: error)
    }
    guard let stream = gzopen(path, "rb") else {
      return ([], failure(Z_ERRNO, "cannot open gzip stream", at: nil))
    }
    defer { gzclose(stream) }
    gzbuffer(stream, 1 << 17)
    var output: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
      let n = chunk.withUnsafeMutableBytes {
        gzread(stream, $0.baseAddress, UInt32($0.count))
      }
      if n <= 0 { break }
      output.append(contentsOf: chunk[0..<Int(n)])
    }
    var code: Int32 = Z_OK
    var message = gzerror(stream, &code).map { String(cString: $0) } ?? "unknown error"
    guard code != Z_OK else { return (output, nil) }
    // zlib prefixes its message with the path, which DatasetError already names.
    if message.hasPrefix(path + ": ") { message.removeFirst(path.count + 2) }
    var result = failure(code, message, at: output.count)
    result.error.message =
      "corrupt gzip data after \(output.count) decompressed bytes: zlib: \(message)"
    return (output, result)
  }
}
