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
      "2", "--checkpoint-every", "10", "--out", out,
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

  static let modes: [[String]] = [
    [],
    ["--mode", "bilevel", "--inner-steps", "2", "--head-init", "warm"],
    ["--mode", "bilevel", "--inner-steps", "1", "--head-init", "reinit"],
  ]

  /// The checkpoint's bytes after a SIGKILL mid-epoch and `--resume` equal an uninterrupted
  /// run's, and `metrics.jsonl` has every step once, in order, with the same losses.
  @Test(arguments: modes)
  func aKilledRunResumesToTheSameBytes(mode: [String]) throws {
    let base = FileManager.default.temporaryDirectory.appendingPathComponent(
      "headway-kill-\(UUID().uuidString)"
    ).path
    defer { try? FileManager.default.removeItem(atPath: base) }
    #expect(try Self.run(Self.arguments(base + "/whole") + mode) == 0)
    _ = try Self.run(Self.arguments(base + "/killed") + mode) { (Int($0) ?? 0) >= 20 }
    let interrupted = try SafeTensors.read(path: base + "/killed/checkpoint.safetensors")
    let stoppedAt = Int(interrupted.metadata["step"] ?? "") ?? 0
    #expect(stoppedAt >= 20 && stoppedAt < 150, "killed at step \(stoppedAt)")
    #expect(try Self.run(Self.arguments(base + "/killed") + mode + ["--resume"]) == 0)
    let whole = try Data(contentsOf: URL(fileURLWithPath: base + "/whole/checkpoint.safetensors"))
    let resumed = try Data(
      contentsOf: URL(fileURLWithPath: base + "/killed/checkpoint.safetensors"))
    #expect(whole == resumed, "checkpoint bytes differ")
    let steps = try Self.stepLosses(base + "/killed/metrics.jsonl")
    #expect(steps.map(\.0) == Array(0..<150))
    #expect(steps.map(\.1) == (try Self.stepLosses(base + "/whole/metrics.jsonl")).map(\.1))
  }

  /// The step records of a metrics file: (step, loss) in file order.
  static func stepLosses(_ path: String) throws -> [(Int, Double)] {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    return try text.split(separator: "\n").compactMap { line in
      let record = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
      guard record?["type"] as? String == "step", let step = record?["step"] as? Int,
        let loss = record?["loss"] as? Double
      else { return nil }
      return (step, loss)
    }
  }
}
