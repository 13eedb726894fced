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
  /// For a resumed run: the online probe's accuracies in those steps.
  public private(set) var resumedEpochProbeAccuracies: [Double] = []

  /// Opens `metrics.jsonl` in `runDirectory`: a new one, or for a run resumed from the
  /// checkpoint of step `resumedAt` the existing one without the step and epoch records past
  /// that step (written after the checkpoint, they are written again as the run repeats those
  /// steps), so that every step appears once.
  public init(
    runDirectory: String, config: TrainingConfig, resumedAt: Int? = nil, stepsPerEpoch: Int = 1
  ) throws {
    let path = runDirectory + "/metrics.jsonl"
    if let resumedAt, FileManager.default.fileExists(atPath: path) {
      (resumedEpochLosses, resumedEpochProbeAccuracies) = try Self.truncate(
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
  public func step(_ r: StepRecord) {
    var fields = [
      "\"type\": \"step\"", "\"epoch\": \(r.epoch)", "\"step\": \(r.globalStep)",
      "\"loss\": \(Self.number(r.loss))", "\"lr\": \(Self.number(r.learningRate))",
      "\"images_per_s\": \(Self.number(r.imagesPerSecond))",
    ]
    if let innerLoss = r.innerLoss { fields.append("\"inner_loss\": \(Self.number(innerLoss))") }
    if let accuracy = r.probeAccuracy {
      fields.append("\"probe_accuracy\": \(Self.number(accuracy))")
    }
    record("{" + fields.joined(separator: ", ") + "}")
    let probe = r.epochProbeAccuracy.map { String(format: " probe %.1f%%", 100 * $0) } ?? ""
    let text = String(
      format: "epoch %d/%d step %d/%d loss %.4f%@ %.0f img/s ETA %@", r.epoch + 1, r.epochs,
      r.step + 1, r.stepsPerEpoch, r.loss, probe, r.imagesPerSecond, Self.duration(r.eta))
    if interactive {
      let width = 20
      let done = Int(Double(width) * Double(r.step + 1) / Double(max(r.stepsPerEpoch, 1)))
      let bar = String(repeating: "#", count: done) + String(repeating: "-", count: width - done)
      FileHandle.standardOutput.write(Data(("\r[\(bar)] " + text).utf8))
    } else if Date().timeIntervalSince(lastLine) >= 5 || r.step + 1 == r.stepsPerEpoch {
      // Unbuffered, so a log file or pipe sees each line as it happens.
      FileHandle.standardOutput.write(Data((text + "\n").utf8))
      lastLine = Date()
    }
  }

  /// Records the end of an epoch, with what the monitor `measured` (metrics.jsonl field names:
  /// `online_probe_accuracy`, `knn_accuracy`, ...).
  public func epoch(_ epoch: Int, meanLoss: Double, seconds: Double, measured: [String: Double]) {
    let extra = measured.sorted { $0.key < $1.key }.map {
      ", \"\($0.key)\": \(Self.number($0.value))"
    }
    record(
      "{\"type\": \"epoch\", \"epoch\": \(epoch), \"mean_loss\": \(Self.number(meanLoss)), "
        + "\"seconds\": \(Self.number(seconds))\(extra.joined())}")
    var summary = String(
      format: "epoch %d done: mean loss %.4f, %.1f s", epoch + 1, meanLoss, seconds)
    let shown = [
      ("online_probe_accuracy", "online probe"), ("knn_accuracy", "kNN"),
      ("online_probe_test_accuracy", "online probe on the kNN test images"),
    ]
    for (field, name) in shown {
      if let value = measured[field] { summary += String(format: ", \(name) %.2f%%", 100 * value) }
    }
    FileHandle.standardOutput.write(Data(((interactive ? "\n" : "") + summary + "\n").utf8))
  }

  /// Rewrites the log (atomically) without the records past step `step`; returns the losses of
  /// the kept steps of the epoch that step is in, and their online probe accuracies.
  static func truncate(_ path: String, at step: Int, stepsPerEpoch: Int) throws -> (
    [Double], [Double]
  ) {
    let text = String(decoding: try readWholeFile(path), as: UTF8.self)
    var kept: [Substring] = []
    var losses: [Double] = []
    var accuracies: [Double] = []
    for (number, line) in text.split(separator: "\n").enumerated() {
      guard let record = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
        let type = record["type"] as? String
      else { throw TrainingError("\(path): line \(number + 1) is not a JSON record") }
      if type == "step", let index = record["step"] as? Int {
        guard index < step else { continue }
        if index >= step / stepsPerEpoch * stepsPerEpoch {
          losses.append((record["loss"] as? Double) ?? .nan)
          if let accuracy = record["probe_accuracy"] as? Double { accuracies.append(accuracy) }
        }
      } else if type == "epoch", let epoch = record["epoch"] as? Int {
        guard (epoch + 1) * stepsPerEpoch <= step else { continue }
      }
      kept.append(line)
    }
    try writeAtomically(Array(kept.map { $0 + "\n" }.joined().utf8), to: path)
    return (losses, accuracies)
  }

  static func number(_ value: Double) -> String { value.isFinite ? "\(value)" : "null" }

  static func duration(_ seconds: Double) -> String {
    guard seconds.isFinite else { return "--:--" }
    let total = Int(seconds.rounded())
    return String(format: "%d:%02d", total / 60, total % 60)
  }
}

/// One step as the log records and shows it.
public struct StepRecord {
  public var epoch, epochs, step, stepsPerEpoch, globalStep: Int
  public var loss: Double
  public var innerLoss: Double?
  public var learningRate, imagesPerSecond: Double
  /// Seconds left, at this step's pace.
  public var eta: Double
  /// The online probe's accuracy on this step's batch, and its mean over the epoch so far.
  public var probeAccuracy: Double?
  public var epochProbeAccuracy: Double?

  public init(
    epoch: Int, epochs: Int, step: Int, stepsPerEpoch: Int, globalStep: Int, loss: Double,
    innerLoss: Double?, learningRate: Double, imagesPerSecond: Double, eta: Double,
    probeAccuracy: Double? = nil, epochProbeAccuracy: Double? = nil
  ) {
    (self.epoch, self.epochs, self.step, self.stepsPerEpoch) = (epoch, epochs, step, stepsPerEpoch)
    (self.globalStep, self.loss, self.innerLoss) = (globalStep, loss, innerLoss)
    (self.learningRate, self.imagesPerSecond, self.eta) = (learningRate, imagesPerSecond, eta)
    (self.probeAccuracy, self.epochProbeAccuracy) = (probeAccuracy, epochProbeAccuracy)
  }
}
