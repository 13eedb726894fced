import Foundation
import Runtime
import Testing

/// `mpirun -np 2 headway train --distributed` against one process at the same global batch:
/// 5 steps per mode with the same seed and views, compared per tensor group with the
/// difference that reordering alone causes (one process with 1 and with 2 threads).
@Suite(.enabled(if: headwayExecutableAndDataExist), .serialized)
struct DistributedTrainingTests {
  static let mpirun = "/usr/bin/mpirun"

  /// The options every run shares (with a fixed convolution algorithm in the environment, so
  /// no timing-dependent choice): 5 steps of 16 images, at a learning rate where 5 steps
  /// neither leave the reordering difference at zero in some group nor amplify it to the size
  /// of the values (at 0.3 the runs of 1 and 2 threads differ by 10% of the largest parameter).
  static func options(mode: String) -> [String] {
    [
      "train", "--mode", mode, "--inner-steps", "2", "--batch", "16", "--limit", "80",
      "--knn-every", "0", "--no-online-probe", "--seed", "3", "--lr", "0.03",
    ]
  }

  static var environment: [String: String] {
    var environment = ProcessInfo.processInfo.environment
    environment["HEADWAY_CONV"] = "onednn"
    environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
    environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
    environment["OMP_NUM_THREADS"] = "1"
    return environment
  }

  /// Runs `executable` with the suite's environment; returns the run's checkpoint.
  static func train(_ executable: String, _ arguments: [String], out: String) throws
    -> Checkpoint
  {
    let run = try runProcess(executable, arguments + ["--out", out], environment: environment)
    try #require(run.status == 0, "\(arguments): \(run.output.suffix(2000))")
    return try SafeTensors.read(path: out + "/checkpoint.safetensors")
  }

  /// The group of a tensor: its first two path components and whether it is a parameter, a
  /// running statistic or an optimizer slot.
  static func group(_ name: String) -> String {
    let parts = name.split(separator: ".")
    let kind =
      ["momentum", "adam_m", "adam_v", "adam_step"].contains(String(parts.last!))
      ? "slot" : parts.last!.hasPrefix("running") ? "statistic" : "parameter"
    return parts.prefix(2).joined(separator: ".") + " " + kind
  }

  /// Per group: the largest difference over its tensors, relative to its largest magnitude.
  static func differences(_ a: Checkpoint, _ b: Checkpoint) -> [String: Double] {
    let other = Dictionary(b.tensors.map { ($0.name, $0.values) }) { x, _ in x }
    var largest: [String: (difference: Double, magnitude: Double)] = [:]
    for tensor in a.tensors where !tensor.name.hasPrefix("online_probe") {
      let values = other[tensor.name] ?? []
      let g = group(tensor.name)
      var entry = largest[g] ?? (0, 0)
      for (x, y) in zip(tensor.values, values) {
        entry.difference = max(entry.difference, Double(abs(x - y)))
        entry.magnitude = max(entry.magnitude, Double(abs(x)))
      }
      largest[g] = entry
    }
    return largest.mapValues { $0.magnitude > 0 ? $0.difference / $0.magnitude : $0.difference }
  }

  @Test(arguments: ["joint", "bilevel", "bilevel-unrolled"])
  func twoRanksWithSyncBatchNormTrainAsOneProcess(mode: String) throws {
    try #require(
      FileManager.default.isExecutableFile(atPath: Self.mpirun),
      "mpirun is missing: tools/setup installs openmpi-bin and libopenmpi-dev")
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("headway-distributed-\(mode)-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let base = Self.options(mode: mode)
    let one = try Self.train(headwayExecutable, base + ["--threads", "1"], out: directory + "/t1")
    let two = try Self.train(headwayExecutable, base + ["--threads", "2"], out: directory + "/t2")
    let mpi = ["-np", "2", "--bind-to", "none", headwayExecutable]
    let distributed = base + ["--threads", "1", "--distributed"]
    let synced = try Self.train(
      Self.mpirun, mpi + distributed + ["--sync-bn"], out: directory + "/p2-sync")
    let local = try Self.train(Self.mpirun, mpi + distributed, out: directory + "/p2")

    let reordering = Self.differences(one, two)
    let withSync = Self.differences(one, synced)
    let perRank = Self.differences(one, local)
    print("\(mode): group, 1 vs 2 threads, 2 ranks --sync-bn, 2 ranks per-rank BatchNorm")
    for g in reordering.keys.sorted() {
      print(
        "  \(g): \(format(reordering[g]!)) \(format(withSync[g]!)) \(format(perRank[g]!))")
    }
    // Slots (velocities) are differences of gradients: compared in the table, not here.
    let compared = reordering.keys.filter { !$0.hasSuffix("slot") }
    for g in compared {
      #expect(withSync[g]! <= 2 * reordering[g]!, "\(mode) \(g)")
    }
    // Per-rank BatchNorm is visibly another run, most in what BatchNorm computes itself.
    for g in compared where g.hasPrefix("backbone.") && g.hasSuffix("statistic") {
      #expect(perRank[g]! > 10 * reordering[g]!, "\(mode) \(g) with per-rank BatchNorm")
    }
  }

  /// The C collectives on 1 to 4 processes (`tools/collective-check`) against their closed
  /// forms, plain and rotated: the training runs above use two ranks, where a rotation by one
  /// looks the same either way; and a collective compiled for another rank count stops the run.
  @Test func theCollectivesMatchTheirClosedFormsOnOneToFourRanks() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent().path
    let binary = FileManager.default.temporaryDirectory
      .appendingPathComponent("headway-collective-check-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: binary) }
    let build = try runProcess(
      "/usr/bin/env",
      [
        "clang", "-O1", "-Wall", "-Wextra", "-Werror", "-I\(root)/Sources/CKernelSupport/include",
        "\(root)/tools/collective-check/check.c", "\(root)/Sources/CKernelSupport/collective.c",
        "-o", binary,
      ])
    try #require(build.status == 0, "\(build.output)")
    for ranks in 1...4 {
      let run = try runProcess(
        Self.mpirun, ["-np", "\(ranks)", "--oversubscribe", "--bind-to", "none", binary],
        environment: Self.environment)
      #expect(run.status == 0 && run.output.contains("ok: \(ranks) ranks"), "\(run.output)")
    }
    let mismatch = try runProcess(
      Self.mpirun, ["-np", "2", "--bind-to", "none", binary, "mismatch"],
      environment: Self.environment)
    #expect(mismatch.status != 0)
    #expect(mismatch.output.contains("all_reduce over 3 ranks, but this process is one of 2"))
  }

  /// Two ranks stopped after 2 of 5 steps and resumed end on the checkpoint bytes of an
  /// uninterrupted two-rank run; a resume with another BatchNorm choice is refused.
  @Test func aDistributedRunResumesBitForBit() throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("headway-distributed-resume-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let run =
      ["-np", "2", "--bind-to", "none", headwayExecutable] + Self.options(mode: "bilevel")
      + ["--threads", "1", "--distributed", "--sync-bn"]
    let whole = try Self.train(Self.mpirun, run, out: directory + "/whole")
    _ = try Self.train(Self.mpirun, run + ["--stop-after", "2"], out: directory + "/parts")
    let resumed = try Self.train(Self.mpirun, run + ["--resume"], out: directory + "/parts")
    #expect(resumed == whole)
    let other = try runProcess(
      Self.mpirun, run.filter { $0 != "--sync-bn" } + ["--resume", "--out", directory + "/parts"],
      environment: Self.environment)
    #expect(other.status != 0)
    #expect(other.output.contains("sync-bn differ"), "\(other.output.suffix(500))")
  }

  /// A rank killed mid-run ends the run: mpirun stops the other rank and fails, with no hang.
  @Test func aRankThatDiesStopsTheRun() throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("headway-distributed-kill-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: Self.mpirun)
    process.arguments = [
      "-np", "2", "--bind-to", "none", headwayExecutable, "train", "--batch", "16", "--limit",
      "3200", "--knn-every", "0", "--threads", "1", "--distributed", "--out", directory,
    ]
    process.environment = Self.environment
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    // Wait for rank 0's first step record, then kill the other rank.
    let metrics = directory + "/metrics.jsonl"
    let started = Date()
    while !((try? String(contentsOfFile: metrics, encoding: .utf8))?.contains("\"step\"") ?? false)
    {
      try #require(process.isRunning && Date().timeIntervalSince(started) < 120)
      Thread.sleep(forTimeInterval: 0.1)
    }
    let ranks = childProcesses(of: process.processIdentifier)
    try #require(ranks.count == 2, "mpirun's children: \(ranks)")
    kill(ranks[1], SIGKILL)
    let killed = Date()
    while process.isRunning && Date().timeIntervalSince(killed) < 60 {
      Thread.sleep(forTimeInterval: 0.1)
    }
    #expect(!process.isRunning, "the run went on 60 s after a rank died")
    if process.isRunning { process.terminate() }
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(process.terminationStatus != 0)
    #expect(text.contains("exited on signal 9"), "\(text.suffix(800))")
    #expect(childProcesses(of: process.processIdentifier).isEmpty)
  }
}

/// The processes whose parent is `parent`, in the order of their ids (from /proc).
private func childProcesses(of parent: Int32) -> [Int32] {
  let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
  return entries.compactMap(Int32.init).filter { pid in
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
      let close = stat.lastIndex(of: ")")
    else { return false }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    return fields.count > 2 && Int32(fields[1]) == parent
  }.sorted()
}

private func format(_ value: Double) -> String { String(format: "%.1e", value) }
