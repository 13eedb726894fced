#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A file-system call that failed: the path it was about and what went wrong, with the
/// system's reason (`strerror`).
struct FileIOError: Error, CustomStringConvertible, Equatable, Sendable {
  /// The path the failing call was about.
  var path: String
  /// What failed, and why.
  var message: String

  var description: String { "\(path): \(message)" }

  /// An error for `path` that ends with the text of the current `errno`.
  static func system(_ path: String, _ what: String) -> FileIOError {
    FileIOError(path: path, message: "\(what): \(String(cString: strerror(errno)))")
  }
}

/// Replaces the file at `path` with `bytes` so that a reader (or a crash) sees either the old
/// contents or the new ones, never a mixture.
///
/// The bytes go to `<path>.tmp-<pid>` in the same directory, which is fsynced, renamed over
/// `path`, and then the directory is fsynced so the rename itself is durable. On any failure
/// before the rename the temporary file is removed and an existing `path` is left untouched.
/// A failure to fsync the directory after the rename is still reported (the new contents are in
/// place but may not survive a crash); file systems that cannot fsync a directory are tolerated.
func writeAtomically(_ bytes: [UInt8], to path: String) throws(FileIOError) {
  let temporary = "\(path).tmp-\(getpid())"
  let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
  guard fd >= 0 else { throw .system(path, "cannot create temporary file \(temporary)") }
  var keep = false
  defer { if !keep { unlink(temporary) } }
  var written = 0
  while written < bytes.count {
    let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
    if n < 0 && errno == EINTR { continue }
    guard n > 0 else {
      let error = FileIOError.system(path, "cannot write temporary file \(temporary)")
      close(fd)
      throw error
    }
    written += n
  }
  guard fsync(fd) == 0 else {
    let error = FileIOError.system(path, "cannot fsync temporary file \(temporary)")
    close(fd)
    throw error
  }
  guard close(fd) == 0 else { throw .system(path, "cannot close temporary file \(temporary)") }
  guard rename(temporary, path) == 0 else {
    throw .system(path, "cannot rename \(temporary) over it")
  }
  keep = true
  let directory = directoryOf(path)
  let dirFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
  guard dirFD >= 0 else { throw .system(path, "cannot open directory \(directory) to fsync it") }
  defer { close(dirFD) }
  guard fsync(dirFD) == 0 || errno == EINVAL else {
    throw .system(path, "cannot fsync directory \(directory)")
  }
}

/// Reads the whole file at `path`.
func readWholeFile(_ path: String) throws(FileIOError) -> [UInt8] {
  let fd = open(path, O_RDONLY | O_CLOEXEC)
  guard fd >= 0 else { throw .system(path, "cannot open") }
  defer { close(fd) }
  var bytes: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 1 << 20)
  while true {
    let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
    if n < 0 && errno == EINTR { continue }
    guard n >= 0 else { throw .system(path, "cannot read") }
    if n == 0 { return bytes }
    bytes += chunk[0..<n]
  }
}

/// The directory part of `path`: "." for a bare file name, "/" for a file in the root.
private func directoryOf(_ path: String) -> String {
  guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "." }
  let directory = String(path[..<slash])
  return directory.isEmpty ? "/" : directory
}
