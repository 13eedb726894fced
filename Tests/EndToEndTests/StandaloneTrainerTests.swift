import Foundation
import Testing

let headwaycExecutable = URL(fileURLWithPath: headwayExecutable).deletingLastPathComponent()
  .appendingPathComponent("headwayc").path

/// `headwayc emit --trainer`: the standalone C trainer, built with `make`, trains R1 on
/// Fashion-MNIST to the same checkpoint bytes as `headway train --no-online-probe` with the
/// same options, and each resumes the other's checkpoint to the same bytes. (The oracle is the
/// Swift runtime's trainer, which the rest of the suite checks.)
@Suite(
  .enabled(
    if: headwayExecutableAndDataExist
      && FileManager.default.isExecutableFile(atPath: headwaycExecutable)))
struct StandaloneTrainerTests {
  static let runs: [[String]] = [
    // bilevel at K = 3 (its loop run twice), with a carried velocity.
    ["--mode", "bilevel", "--inner-steps", "3", "--inner-momentum", "0.9", "--seed", "3"],
    // LARS, warm-up, two epochs, checkpoints in between, another crop scale and temperature.
    [
      "--optimizer", "lars", "--lr", "0.2", "--warmup-epochs", "0.5", "--epochs", "2",
      "--checkpoint-every", "3", "--temperature", "0.2", "--crop-min-scale", "0.3",
    ],
    ["--mode", "bilevel-unrolled", "--inner-steps", "2", "--optimizer", "adamw"],
  ]

  @Test func theEmittedTrainerWritesTheCheckpointsOfHeadwayTrain() throws {
    let directory = NSTemporaryDirectory() + "headway-trainer-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let build = directory + "/trainer"
    try Self.expectSuccess(
      headwaycExecutable, ["emit", "fmnist-resnet-small", "--trainer", "-o", build])
    try Self.expectSuccess("/usr/bin/make", ["-s", "-j2", "-C", build])
    let trainer = build + "/train"
    for (index, options) in Self.runs.enumerated() {
      let common = ["--batch", "8", "--limit", "40", "--threads", "2"] + options
      let (c, swift) = ("\(directory)/c\(index)", "\(directory)/swift\(index)")
      try Self.expectSuccess(trainer, common + ["--out", c])
      try Self.expectSuccess(
        headwayExecutable, ["train"] + common + ["--no-online-probe", "--out", swift])
      let expected = try Self.checkpoint(swift)
      #expect(try Self.checkpoint(c) == expected, "\(options)")
      // Each resumes the other's checkpoint from step 2.
      let (cResumed, swiftResumed) = ("\(directory)/cr\(index)", "\(directory)/sr\(index)")
      try Self.expectSuccess(
        headwayExecutable,
        ["train"] + common + ["--no-online-probe", "--stop-after", "2", "--out", cResumed])
      try Self.expectSuccess(trainer, common + ["--out", cResumed, "--resume"])
      try Self.expectSuccess(trainer, common + ["--stop-after", "2", "--out", swiftResumed])
      try Self.expectSuccess(
        headwayExecutable,
        ["train"] + common + ["--no-online-probe", "--out", swiftResumed, "--resume"])
      #expect(try Self.checkpoint(cResumed) == expected, "C resumed \(options)")
      #expect(try Self.checkpoint(swiftResumed) == expected, "headway resumed \(options)")
    }
    // Bad input is refused with the reason, and leaves no checkpoint behind.
    let refused = try runProcess(trainer, ["--out", directory + "/bad", "--batch", "0"])
    #expect(refused.status == 1 && refused.output.contains("batch"), "\(refused.output)")
    let unlisted = try runProcess(
      trainer, ["--out", directory + "/bad", "--mode", "bilevel-unrolled", "--inner-steps", "3"])
    #expect(unlisted.status == 1 && unlisted.output.contains("bilevel-unrolled.k3.step"))
    #expect(!FileManager.default.fileExists(atPath: directory + "/bad/checkpoint.safetensors"))
  }

  static func checkpoint(_ run: String) throws -> Data {
    try Data(contentsOf: URL(fileURLWithPath: run + "/checkpoint.safetensors"))
  }

  static func expectSuccess(_ executable: String, _ arguments: [String]) throws {
    let (status, output) = try runProcess(executable, arguments)
    #expect(status == 0, "\(executable) \(arguments.joined(separator: " ")): \(output)")
  }
}
