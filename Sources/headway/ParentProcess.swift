import CKernelSupport
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// `headway sweep` runs each cell as a child `headway train` or `headway study`. Foundation
/// starts every child in a process group of its own, so a Ctrl-C or a kill of the sweep does
/// not reach it; without this, the child would go on training as an orphan, and a rerun of the
/// sweep would train the same cell beside it. The sweep names itself in the child's
/// environment, and the child asks the kernel to stop it when that parent dies.
enum ParentProcess {
  /// Set by the sweep on its children: its own process ID.
  static let variable = "HEADWAY_STOP_WITH_PARENT"

  /// This process's environment plus the variable, for a child that must stop with it.
  static func childEnvironment() -> [String: String] {
    var environment = ProcessInfo.processInfo.environment
    environment[variable] = String(getpid())
    return environment
  }

  /// Where the variable is set, arranges SIGKILL on the parent's death; exits at once if the
  /// parent has already gone. The variable is removed, so it reaches no grandchild.
  static func stopWithParentIfAsked() {
    guard let value = getenv(variable) else { return }
    let text = String(cString: value)
    unsetenv(variable)
    guard let parent = Int32(text), parent > 0 else {
      stop("\(variable)=\(text) is not a process ID")
    }
    switch hw_stop_with_parent(parent) {
    case 0: return
    case 1: stop("its parent process \(parent) has already stopped (\(variable))")
    default: stop("prctl(PR_SET_PDEATHSIG) failed: \(String(cString: strerror(errno)))")
    }
  }

  private static func stop(_ message: String) -> Never {
    FileHandle.standardError.write(Data("headway: not starting: \(message)\n".utf8))
    exit(1)
  }
}
