import Foundation
import Runtime
import Testing

#if canImport(Glibc)
  import Glibc
#endif

let headwayExecutable = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .deletingLastPathComponent().deletingLastPathComponent()
  .appendingPathComponent(".build/debug/headway").path
let headwayExecutableAndDataExist =
  FileManager.default.isExecutableFile(atPath: headwayExecutable)
  && FileManager.default.fileExists(atPath: FashionMNIST.defaultDirectory)

/// `headway train` killed with SIGKILL mid-epoch, then `--resume`d, ends bit for bit where an
/// uninterrupted run ends.
@Suite(.enabled(if: headwayExecutableAndDataExist))
struct KillResumeTests {
  static let executable = headwayExecutable

  static func arguments(_ out: String) -> [String] {
    [
      "train", "--batch", "2", "--limit", "300", "--epochs", "1", "--lr", "0.05", "--threads",
      "2", "--checkpoint-every", "1", "--out", out,
    ]
  }

  static func run(_ arguments: [String], killWhen: ((String) -> Bool)? = nil) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    if let killWhen {
      let checkpoint = arguments[arguments.firstIndex(of: "--out")! + 1] + "/checkpoint.safetensors"
      while process.isRunning {
        if let saved = try? SafeTensors.read(path: checkpoint),
          killWhen(saved.metadata["step"] ?? "")
        {
          kill(process.processIdentifier, SIGKILL)
          break
        }
        usleep(2000)
      }
    }
    process.waitUntilExit()
    return process.terminationStatus
  }

  @Test func aKilledRunResumesToTheSameBits() throws {
    let base = FileManager.default.temporaryDirectory.appendingPathComponent(
      "headway-kill-\(UUID().uuidString)"
    ).path
    defer { try? FileManager.default.removeItem(atPath: base) }
    #expect(try Self.run(Self.arguments(base + "/whole")) == 0)
    _ = try Self.run(Self.arguments(base + "/killed")) { (Int($0) ?? 0) >= 20 }
    let interrupted = try SafeTensors.read(path: base + "/killed/checkpoint.safetensors")
    let stoppedAt = Int(interrupted.metadata["step"] ?? "") ?? 0
    #expect(stoppedAt >= 20 && stoppedAt < 150, "killed at step \(stoppedAt)")
    #expect(try Self.run(Self.arguments(base + "/killed") + ["--resume"]) == 0)
    let whole = try SafeTensors.read(path: base + "/whole/checkpoint.safetensors")
    let resumed = try SafeTensors.read(path: base + "/killed/checkpoint.safetensors")
    #expect(resumed.metadata["step"] == "150")
    #expect(whole.tensors == resumed.tensors)
  }
}
