import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Progress on the terminal (a bar when stdout is a TTY, plain lines otherwise) and metrics as
/// JSON Lines in the run directory.
public final class TrainingLog {
  private let metrics: FileHandle
  private let interactive: Bool
  private var lastLine = Date.distantPast
  /// For a resumed run: the losses of the steps of the unfinished epoch already in the log.
  public private(set) var resumedEpochLosses: [Double] = []

  /// Opens `metrics.jsonl` in `runDirectory`: a new one, or for a run resumed from the
  /// checkpoint of step `resumedAt` the existing one without the step and epoch records past
  /// that step (written after the checkpoint, they are written again as the run repeats those
  /// steps), so that every step appears once.
  public init(
    runDirectory: String, config: TrainingConfig, resumedAt: Int? = nil, stepsPerEpoch: Int = 1
  ) throws {
    let path = runDirectory + "/metrics.jsonl"
    if let resumedAt, FileManager.default.fileExists(atPath: path) {
      resumedEpochLosses = try Self.truncate(
        path, at: resumedAt, stepsPerEpoch: max(stepsPerEpoch, 1))
    } else {
      guard FileManager.default.createFile(atPath: path, contents: nil) else {
        throw TrainingError("cannot create \(path)")
      }
    }
    guard let handle = FileHandle(forWritingAtPath: path) else {
      throw TrainingError("cannot write \(path)")
    }
    handle.seekToEndOfFile()
    metrics = handle
    interactive = isatty(STDOUT_FILENO) != 0
    record(
      "{\"type\": \"config\", \"resumed\": \(resumedAt != nil), \"config\": \(config.json()), "
        + "\"machine\": \(MachineInfo.current().json())}")
  }

  /// Appends one JSON object (already encoded) as a line.
  public func record(_ json: String) {
    metrics.write(Data((json + "\n").utf8))
  }

  /// Records a step and shows progress.
  public func step(
    epoch: Int, epochs: Int, step: Int, stepsPerEpoch: Int, globalStep: Int, loss: Double,
    innerLoss: Double?, learningRate: Double, imagesPerSecond: Double, eta: Double
  ) {
    var fields = [
      "\"type\": \"step\"", "\"epoch\": \(epoch)", "\"step\": \(globalStep)",
      "\"loss\": \(Self.number(loss))", "\"lr\": \(Self.number(learningRate))",
      "\"images_per_s\": \(Self.number(imagesPerSecond))",
    ]
    if let innerLoss { fields.append("\"inner_loss\": \(Self.number(innerLoss))") }
    record("{" + fields.joined(separator: ", ") + "}")
    let text = String(
      format: "epoch %d/%d step %d/%d loss %.4f %.0f img/s ETA %@", epoch + 1, epochs, step + 1,
      stepsPerEpoch, loss, imagesPerSecond, Self.duration(eta))
    if interactive {
      let width = 20
      let done = Int(Double(width) * Double(step + 1) / Double(max(stepsPerEpoch, 1)))
      let bar = String(repeating: "#", count: done) + String(repeating: "-", count: width - done)
      FileHandle.standardOutput.write(Data(("\r[\(bar)] " + text).utf8))
    } else if Date().timeIntervalSince(lastLine) >= 5 || step + 1 == stepsPerEpoch {
      // Unbuffered, so a log file or pipe sees each line as it happens.
      FileHandle.standardOutput.write(Data((text + "\n").utf8))
      lastLine = Date()
    }
  }

  /// Records the end of an epoch.
  public func epoch(_ epoch: Int, meanLoss: Double, seconds: Double) {
    record(
      "{\"type\": \"epoch\", \"epoch\": \(epoch), \"mean_loss\": \(Self.number(meanLoss)), "
        + "\"seconds\": \(Self.number(seconds))}")
    let summary = String(
      format: "epoch %d done: mean loss %.4f, %.1f s", epoch + 1, meanLoss, seconds)
    FileHandle.standardOutput.write(Data(((interactive ? "\n" : "") + summary + "\n").utf8))
  }

  /// Rewrites the log (atomically) without the records past step `step`; returns the losses of
  /// the kept steps of the epoch that step is in.
  static func truncate(_ path: String, at step: Int, stepsPerEpoch: Int) throws -> [Double] {
    let text = String(decoding: try readWholeFile(path), as: UTF8.self)
    var kept: [Substring] = []
    var losses: [Double] = []
    for (number, line) in text.split(separator: "\n").enumerated() {
      guard let record = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
        let type = record["type"] as? String
      else { throw TrainingError("\(path): line \(number + 1) is not a JSON record") }
      if type == "step", let index = record["step"] as? Int {
        guard index < step else { continue }
        if index >= step / stepsPerEpoch * stepsPerEpoch {
          losses.append((record["loss"] as? Double) ?? .nan)
        }
      } else if type == "epoch", let epoch = record["epoch"] as? Int {
        guard (epoch + 1) * stepsPerEpoch <= step else { continue }
      }
      kept.append(line)
    }
    try writeAtomically(Array(kept.map { $0 + "\n" }.joined().utf8), to: path)
    return losses
  }

  static func number(_ value: Double) -> String { value.isFinite ? "\(value)" : "null" }

  static func duration(_ seconds: Double) -> String {
    guard seconds.isFinite else { return "--:--" }
    let total = Int(seconds.rounded())
    return String(format: "%d:%02d", total / 60, total % 60)
  }
}
