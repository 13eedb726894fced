import Foundation
import Testing

/// Convolution choices are measured once per machine and shared through the cache file: two
/// processes that start at once on an empty cache make the same choice for every shape (one
/// measures, the other waits for it and reads it), and a later process reads them all.
@Suite(.enabled(if: headwayExecutableAndDataExist))
struct ConvolutionChoiceTests {
  /// `headway bench` on R1 at batch 2 with the cache in `directory`: its JSON line's choices.
  static func start(_ directory: String) throws -> (Process, Pipe) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: headwayExecutable)
    process.arguments = [
      "bench", "--program", "fmnist-resnet-small", "--batch", "2", "--steps", "1", "--warmup", "0",
      "--threads", "2", "--json",
    ]
    var environment = ProcessInfo.processInfo.environment
    environment["HEADWAY_CACHE_DIR"] = directory
    environment.removeValue(forKey: "HEADWAY_CONV")
    process.environment = environment
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    return (process, pipe)
  }

  static func choices(_ run: (Process, Pipe)) throws -> [[String: Any]] {
    let data = run.1.fileHandleForReading.readDataToEndOfFile()
    run.0.waitUntilExit()
    #expect(run.0.terminationStatus == 0)
    let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last {
      $0.hasPrefix("{")
    }
    let record = try #require(
      try JSONSerialization.jsonObject(with: Data((line ?? "").utf8)) as? [String: Any])
    return try #require(record["conv_choices"] as? [[String: Any]])
  }

  static func key(_ choice: [String: Any]) -> String {
    "\(choice["pass"] ?? "") \(choice["shape"] ?? "") \(choice["algorithm"] ?? "")"
  }

  @Test func processesStartingTogetherMakeTheSameChoices() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "headway-choices-\(UUID().uuidString)"
    ).path
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let first = try Self.start(directory)
    let second = try Self.start(directory)
    let a = try Self.choices(first).map(Self.key).sorted()
    let b = try Self.choices(second).map(Self.key).sorted()
    #expect(!a.isEmpty)
    #expect(a == b)
    let later = try Self.choices(try Self.start(directory)).map(Self.key).sorted()
    #expect(later == a)
    let cache = try String(contentsOfFile: directory + "/conv-choices.tsv", encoding: .utf8)
    #expect(cache.split(separator: "\n").count == a.count, "one line per shape and pass")
  }
}
