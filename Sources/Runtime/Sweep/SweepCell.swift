import Foundation

/// One finished cell of a sweep (a configuration at a seed), read from its run directory:
/// the study's measurements of every layer, and from metrics.jsonl its steps, pace and the
/// online probe's learning curve.
public struct SweepCell: Codable, Sendable {
  public var configuration: String
  public var seed: UInt64
  public var steps: Int
  /// The median over steps of the wall time of one step.
  public var secondsPerStep: Double
  /// The sum of every step's wall time.
  public var trainSeconds: Double
  /// The wall time of its `headway study` (from `study.seconds`, which the sweep writes).
  public var studySeconds: Double?
  public var layers: [StudyReport.Layer]
  /// The online probe's accuracy on the training batches, averaged over `curveBins` equal
  /// spans of steps (empty without the probe).
  public var probeCurve: [Double]
  /// The epoch records' kNN accuracy on the fixed test subset, by epoch (where measured).
  public var knnCurve: [Double]
  /// The CPUs its training ran on ("AMD EPYC (family 25 model 1)"), one per start or resume
  /// that found another, in order: a cell resumed on another machine names both.
  public var machines: [String]

  static let curveBins = 20

  /// Reads the cell in `directory` (its `metrics.jsonl` and `study.json`).
  public init(configuration: String, seed: UInt64, directory: String) throws {
    self.configuration = configuration
    self.seed = seed
    layers = try StudyReport(contentsOf: directory + "/study.json").layers
    studySeconds = (try? String(contentsOfFile: directory + "/study.seconds", encoding: .utf8))
      .flatMap { Double($0) }
    let path = directory + "/metrics.jsonl"
    let text = String(decoding: try readWholeFile(path), as: UTF8.self)
    var times: [Double] = []
    var accuracies: [Double] = []
    var knn: [Double] = []
    var batch = 0
    var machines: [String] = []
    for line in text.split(separator: "\n") {
      guard let record = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
      else { throw TrainingError("\(path): a line is not a JSON record") }
      switch record["type"] as? String {
      case "config":
        batch = ((record["config"] as? [String: Any])?["batch"] as? Int) ?? batch
        if let machine = Self.machine(record["machine"]), machines.last != machine {
          machines.append(machine)
        }
      case "step":
        if let rate = record["images_per_s"] as? Double, rate > 0 {
          times.append(Double(batch) / rate)
        }
        if let accuracy = record["probe_accuracy"] as? Double { accuracies.append(accuracy) }
      case "epoch":
        if let accuracy = record["knn_accuracy"] as? Double { knn.append(accuracy) }
      default: break
      }
    }
    guard !times.isEmpty else { throw TrainingError("\(path): no step records") }
    steps = times.count
    secondsPerStep = times.sorted()[times.count / 2]
    trainSeconds = times.reduce(0, +)
    probeCurve = Self.binned(accuracies, bins: Self.curveBins)
    knnCurve = knn
    self.machines = machines
  }

  /// "CPU (family F model M)" from a config record's machine object.
  static func machine(_ object: Any?) -> String? {
    guard let machine = object as? [String: Any], let cpu = machine["cpu"] as? String else {
      return nil
    }
    let family = machine["family"] as? String ?? "?"
    return "\(cpu) (family \(family) model \(machine["model"] as? String ?? "?"))"
  }

  /// The means of `values` over `bins` consecutive spans of nearly equal length.
  static func binned(_ values: [Double], bins: Int) -> [Double] {
    guard !values.isEmpty else { return [] }
    let count = min(bins, values.count)
    return (0..<count).map { bin in
      let span = values[(bin * values.count / count)..<((bin + 1) * values.count / count)]
      return span.reduce(0, +) / Double(span.count)
    }
  }

  /// The layer named `name` (`features`: the backbone output).
  public func layer(_ name: String) -> StudyReport.Layer? { layers.first { $0.name == name } }
}
