#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// An exclusive lock on a directory that one process writes: a run directory of `headway train`
/// or the output directory of `headway sweep`. A second process asking for it gets an error
/// that names the holder, instead of writing checkpoints and records beside it.
///
/// It is `flock` on `DIR/.headway.lock`, held while this value lives: the kernel releases it
/// when the process ends, however it ends, so a killed run never leaves a stale lock. The file
/// is opened close-on-exec, so a child process does not inherit the lock.
public final class DirectoryLock {
  /// The lock file.
  public let path: String
  private let descriptor: Int32

  /// Takes the lock on `directory` (which must exist) for `holder` ("headway train"), or throws
  /// if another process holds it.
  public init(directory: String, holder: String) throws {
    path = directory + "/.headway.lock"
    descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { throw FileIOError.system(path, "cannot open the lock file") }
    guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
      let busy = errno == EWOULDBLOCK
      let error = FileIOError.system(path, "cannot lock it")
      let other = Self.holder(descriptor)
      close(descriptor)
      guard busy else { throw error }
      throw TrainingError(
        "\(directory) is in use by \(other.isEmpty ? "another process" : other) "
          + "(\(path)); wait for it to end or stop it first")
    }
    let text = Array("\(holder) (process \(getpid()))".utf8)
    _ = ftruncate(descriptor, 0)
    _ = text.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
  }

  deinit { close(descriptor) }

  /// What the holder wrote into the lock file ("headway train (process 1234)"), or "".
  private static func holder(_ descriptor: Int32) -> String {
    var bytes = [UInt8](repeating: 0, count: 256)
    let count = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
    return count > 0 ? String(decoding: bytes[..<count], as: UTF8.self) : ""
  }
}
