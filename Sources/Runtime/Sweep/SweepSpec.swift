import Foundation

/// A `headway sweep` grid, read from a small JSON file:
///
///     {
///       "train": {"program": "fmnist-resnet-small", "epochs": 2, "batch": 128},
///       "study": {"probe": "lbfgs"},
///       "seeds": [0, 1, 2],
///       "baseline": "joint",
///       "configurations": [
///         {"name": "joint", "mode": "joint"},
///         {"name": "bilevel-k2", "mode": "bilevel", "inner-steps": 2}
///       ]
///     }
///
/// Keys are `headway train` (or, under "study", `headway study`) option names without the
/// dashes; a value is a string or number, or a boolean for a flag (`false` writes `--no-KEY`).
/// "train" holds what every cell shares, including the budget: a configuration may not set
/// epochs, batch, limit, program, stop-after, seed, out or resume, so every cell runs the same
/// number of backbone steps. "baseline" (default: the first configuration) is the one every
/// other is compared with, seed by seed.
public struct SweepSpec: Sendable, Equatable {
  public struct Configuration: Sendable, Equatable {
    public var name: String
    /// `headway train` arguments of this configuration, after the shared ones.
    public var arguments: [String]
  }

  public var train: [String]
  public var study: [String]
  public var seeds: [UInt64]
  public var configurations: [Configuration]
  public var baseline: String
  /// Steps between a cell's checkpoints (train's --checkpoint-every, unless "train" sets it).
  public var checkpointEvery: Int

  /// Options a configuration may not change (the budget and what the sweep itself sets), and
  /// options no part of the spec may set.
  static let budget: Set<String> = ["epochs", "batch", "limit", "program"]
  static let reserved: Set<String> = ["stop-after", "seed", "out", "resume"]

  /// Parses the spec at `path`; every problem names the file and the key.
  public init(path: String) throws {
    let file: SpecFile
    do {
      file = try JSONDecoder().decode(SpecFile.self, from: Data(try readWholeFile(path)))
    } catch let error as DecodingError {
      throw TrainingError("\(path): not a sweep spec: \(Self.describe(error))")
    }
    let shared = file.train ?? [:]
    if let bad = shared.keys.sorted().first(where: Self.reserved.contains) {
      throw TrainingError("\(path): \"train\" may not set '\(bad)': the sweep sets it per cell")
    }
    train = Self.arguments(shared)
    study = Self.arguments(file.study ?? [:])
    guard !file.seeds.isEmpty, Set(file.seeds).count == file.seeds.count else {
      throw TrainingError("\(path): \"seeds\" must be a non-empty list of distinct seeds")
    }
    seeds = file.seeds
    guard !file.configurations.isEmpty else {
      throw TrainingError("\(path): \"configurations\" must be a non-empty list")
    }
    configurations = try file.configurations.enumerated().map {
      try Self.configuration($1, $0, path)
    }
    let names = configurations.map(\.name)
    if let twice = names.first(where: { name in names.filter { $0 == name }.count > 1 }) {
      throw TrainingError("\(path): two configurations are named '\(twice)'")
    }
    baseline = file.baseline ?? names[0]
    guard names.contains(baseline) else {
      throw TrainingError("\(path): the baseline '\(baseline)' is not a configuration's name")
    }
    checkpointEvery = shared["checkpoint-every"] == nil ? 50 : 0
  }

  /// The file as JSON holds it.
  struct SpecFile: Decodable {
    var train: [String: OptionValue]?
    var study: [String: OptionValue]?
    var seeds: [UInt64]
    var baseline: String?
    var configurations: [[String: OptionValue]]
  }

  /// An option's value: a flag's boolean, or text for the command line.
  enum OptionValue: Decodable, Equatable {
    case flag(Bool)
    case text(String)

    init(from decoder: any Decoder) throws {
      let c = try decoder.singleValueContainer()
      if let flag = try? c.decode(Bool.self) {
        self = .flag(flag)
      } else if let whole = try? c.decode(Int.self) {
        self = .text(String(whole))
      } else if let number = try? c.decode(Double.self) {
        self = .text(String(number))
      } else {
        self = .text(try c.decode(String.self))
      }
    }
  }

  static func describe(_ error: DecodingError) -> String {
    switch error {
    case .keyNotFound(let key, _): "no \"\(key.stringValue)\""
    case .typeMismatch(_, let context), .valueNotFound(_, let context),
      .dataCorrupted(let context):
      (context.codingPath.map(\.stringValue).joined(separator: ".") + " "
        + context.debugDescription).trimmingCharacters(in: .whitespaces)
    @unknown default: "\(error)"
    }
  }

  static func configuration(_ item: [String: OptionValue], _ index: Int, _ path: String) throws
    -> Configuration
  {
    var options = item
    guard case .text(let name)? = options.removeValue(forKey: "name") else {
      throw TrainingError("\(path): configuration \(index + 1) needs a \"name\"")
    }
    guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "._-".contains($0) })
    else {
      throw TrainingError(
        "\(path): configuration name '\(name)' must be letters, digits, '.', '_' or '-'")
    }
    if let bad = options.keys.sorted().first(where: { budget.contains($0) || reserved.contains($0) }
    ) {
      throw TrainingError(
        "\(path): configuration '\(name)' may not set '\(bad)': every cell has the same budget "
          + "(set it in \"train\")")
    }
    return Configuration(name: name, arguments: arguments(options))
  }

  /// Command-line arguments, in key order: `--key value`, or `--key` / `--no-key` for flags.
  static func arguments(_ options: [String: OptionValue]) -> [String] {
    options.sorted { $0.key < $1.key }.flatMap { key, value -> [String] in
      switch value {
      case .flag(true): ["--\(key)"]
      case .flag(false): ["--no-\(key)"]
      case .text(let text): ["--\(key)", text]
      }
    }
  }
}
