import CZlib
import Foundation
import Runtime

/// A fresh temporary directory, removed when the value is deinitialised.
final class TemporaryDirectory {
  let path: String

  init() {
    path = (NSTemporaryDirectory() as NSString).appendingPathComponent(
      "headway-runtime-tests-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(atPath: path) }

  /// The path of `name` inside the directory.
  func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

  /// Writes `bytes` to `name`, gzip-compressed when `gzip` is set, and returns the path.
  @discardableResult
  func write(_ name: String, _ bytes: [UInt8], gzip: Bool = false) -> String {
    let path = file(name)
    if gzip {
      let stream = gzopen(path, "wb")!
      let written = bytes.withUnsafeBytes { gzwrite(stream, $0.baseAddress, UInt32($0.count)) }
      precondition(Int(written) == bytes.count && gzclose(stream) == Z_OK, "gzip write failed")
    } else {
      _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    }
    return path
  }
}

/// The bytes of an unsigned-byte IDX file with the given dimensions and data.
func idx(dims: [Int], data: [UInt8], type: UInt8 = 0x08) -> [UInt8] {
  var bytes: [UInt8] = [0, 0, type, UInt8(dims.count)]
  for d in dims { bytes += [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: d >> $0) } }
  return bytes + data
}

/// Reads `path` and returns the error it throws, or nil when it reads cleanly.
func readError(_ path: String) -> DatasetError? {
  do {
    _ = try IDXArray.read(path: path)
    return nil
  } catch {
    return error
  }
}
