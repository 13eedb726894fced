import Foundation
import Testing

@testable import Runtime

/// The sweep's spec parser and its statistics, against hand-computed values.
@Suite struct SweepSpecTests {
  static func spec(_ text: String) throws -> SweepSpec {
    let path = FileManager.default.temporaryDirectory
      .appendingPathComponent("headway-spec-\(UUID().uuidString).json").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try SweepSpec(path: path)
  }

  @Test func `options become train arguments in key order, flags as --KEY or --no-KEY`() throws {
    let spec = try Self.spec(
      """
      {"train": {"epochs": 2, "batch": 128, "lr": 0.3, "online-probe": false},
       "seeds": [0, 2], "baseline": "b",
       "configurations": [{"name": "a", "mode": "joint"},
                          {"name": "b", "mode": "bilevel", "inner-steps": 2, "inner-lr": 0.05}]}
      """)
    #expect(spec.train == ["--batch", "128", "--epochs", "2", "--lr", "0.3", "--no-online-probe"])
    #expect(spec.configurations.map(\.name) == ["a", "b"])
    #expect(
      spec.configurations[1].arguments == [
        "--inner-lr", "0.05", "--inner-steps", "2", "--mode", "bilevel",
      ])
    #expect(spec.seeds == [0, 2])
    #expect(spec.baseline == "b")
    #expect(spec.checkpointEvery == 50)
  }

  @Test(arguments: [
    (#"{"seeds": [0], "configurations": [{"name": "a", "batch": 64}]}"#, "may not set 'batch'"),
    (#"{"train": {"seed": 3}, "seeds": [0], "configurations": [{"name": "a"}]}"#, "'seed'"),
    (#"{"seeds": [0, 0], "configurations": [{"name": "a"}]}"#, "distinct"),
    (#"{"seeds": [0], "configurations": [{"name": "a"}, {"name": "a"}]}"#, "two configurations"),
    (#"{"seeds": [0], "configurations": [{"mode": "joint"}]}"#, "needs a \"name\""),
    (#"{"seeds": [0], "configurations": [{"name": "a/b"}]}"#, "must be letters"),
    (#"{"seeds": [0], "baseline": "z", "configurations": [{"name": "a"}]}"#, "baseline 'z'"),
    (#"{"configurations": [{"name": "a"}]}"#, "seeds"),
  ])
  func `a bad spec is refused with what is wrong`(text: String, expected: String) throws {
    let error = #expect(throws: TrainingError.self) { try Self.spec(text) }
    #expect(error?.description.contains(expected) == true, "\(String(describing: error))")
  }

  @Test func `the paired interval is the Student t interval of the differences`() {
    // Differences 1, 2, 3: mean 2, sample std 1, t(0.975, 2) = 4.303.
    let d = PairedDifference([0.01, 0.02, 0.03])
    let half = 4.303 * 0.01 / 3.0.squareRoot()
    #expect(abs(d.mean - 0.02) < 1e-15)
    #expect(abs(d.low! - (0.02 - half)) < 1e-12 && abs(d.high! - (0.02 + half)) < 1e-12)
    #expect(!d.excludesZero)
    #expect(PairedDifference([0.01, 0.011, 0.012]).excludesZero)
    #expect(PairedDifference([0.5]).low == nil)
    let e = SeedEstimate([1, 2, 3, 4])
    #expect(e.mean == 2.5 && abs(e.std! - (5.0 / 3).squareRoot()) < 1e-15)
  }
}
