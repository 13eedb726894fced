import Foundation
import Runtime
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// `headway sweep` end to end on a tiny generated MNIST-format set: a grid killed (SIGKILL to
/// the sweep, whose training process stops with it) in the middle of a cell, then run again
/// (training only, then studying), gives the results of an uninterrupted grid; a spec that
/// changes the budget is refused.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: headwayExecutable)))
struct SweepCommandTests {
  static func spec(_ data: URL, _ directory: URL) throws -> String {
    let text = """
      {"train": {"dataset": "mnist", "data": "\(data.path)", "batch": 2, "limit": 60,
                 "epochs": 1, "lr": 0.05, "threads": 2, "checkpoint-every": 4},
       "study": {"alignment-images": 16},
       "seeds": [0, 1],
       "configurations": [{"name": "joint", "mode": "joint"},
                          {"name": "bilevel-k1", "mode": "bilevel", "inner-steps": 1}]}
      """
    let path = directory.appendingPathComponent("spec.json").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  /// MNIST-format IDX files of 80 training and 20 test images in `directory`/data.
  static func mnist(in directory: URL) throws -> URL {
    let dir = directory.appendingPathComponent("data")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let big = DatasetCommandTests.bigEndian
    for (prefix, count) in [("train", 80), ("t10k", 20)] {
      let header: [UInt8] = [0, 0, 8, 3] + big(count) + big(28) + big(28)
      let pixels = DatasetCommandTests.bytes(count * 784, seed: 5)
      try DatasetCommandTests.write(header + pixels, dir, "\(prefix)-images-idx3-ubyte")
      let labels = DatasetCommandTests.bytes(count, seed: 6).map { $0 % 10 }
      try DatasetCommandTests.write(
        [0, 0, 8, 1] + big(count) + labels, dir, "\(prefix)-labels-idx1-ubyte")
    }
    return dir
  }

  /// Runs `headway sweep` (Foundation starts it in a process group of its own, and its training
  /// processes each in another); with `cell`, SIGKILLs the sweep's group once that cell's
  /// checkpoint reaches `atStep`, and the training process stops with the sweep. Returns the exit
  /// status.
  static func sweep(
    _ spec: String, _ out: String, _ options: [String] = [], kill cell: String? = nil,
    atStep: Int = 0
  ) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: headwayExecutable)
    process.arguments = ["sweep", spec, "--out", out] + options
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    if let cell {
      let checkpoint = "\(out)/cells/\(cell)/checkpoint.safetensors"
      #expect(getpgid(process.processIdentifier) == process.processIdentifier)
      while process.isRunning {
        if let saved = try? SafeTensors.read(path: checkpoint),
          let step = Int(saved.metadata["step"] ?? ""), step >= atStep
        {
          kill(-process.processIdentifier, SIGKILL)
          break
        }
        usleep(1000)
      }
    }
    process.waitUntilExit()
    return process.terminationStatus
  }

  /// results.json without the wall-time fields, which differ between any two runs.
  static func timeless(_ path: String) throws -> NSDictionary {
    func strip(_ value: Any) -> Any {
      if let object = value as? [String: Any] {
        return object.filter {
          !["seconds_per_step", "train_seconds", "study_seconds"].contains($0.key)
        }
        .mapValues(strip)
      }
      if let array = value as? [Any] { return array.map(strip) }
      return value
    }
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    return strip(try JSONSerialization.jsonObject(with: data)) as! NSDictionary
  }

  @Test func `a sweep killed mid-cell resumes to the results of an uninterrupted one`() throws {
    let base = try DatasetCommandTests.directory("sweep")
    defer { try? FileManager.default.removeItem(at: base) }
    let data = try Self.mnist(in: base)
    let spec = try Self.spec(data, base)
    let (whole, killed) = (base.appendingPathComponent("whole").path, base.path + "/killed")
    #expect(try Self.sweep(spec, whole) == 0)
    _ = try Self.sweep(spec, killed, kill: "joint/seed-1", atStep: 8)
    let cell = killed + "/cells/joint/seed-1"
    let stopped = try SafeTensors.read(path: cell + "/checkpoint.safetensors")
    let step = Int(stopped.metadata["step"] ?? "") ?? 0
    #expect(step >= 8 && step < 30, "killed at step \(step)")
    #expect(!FileManager.default.fileExists(atPath: cell + "/train.done"))
    // Seed by seed: both configurations' first seeds are done, the second bilevel not begun.
    #expect(FileManager.default.fileExists(atPath: killed + "/cells/bilevel-k1/seed-0/study.json"))
    #expect(!FileManager.default.fileExists(atPath: killed + "/cells/bilevel-k1/seed-1"))
    #expect(try Self.sweep(spec, killed, ["--train-only"]) == 0)
    #expect(FileManager.default.fileExists(atPath: killed + "/cells/bilevel-k1/seed-1/train.done"))
    #expect(!FileManager.default.fileExists(atPath: cell + "/study.json"))
    #expect(try Self.sweep(spec, killed) == 0)
    let a = try Self.timeless(whole + "/results.json")
    let b = try Self.timeless(killed + "/results.json")
    #expect(a == b, "results differ")
    #expect((a["configurations"] as? [Any])?.count == 2)
    let resumed = try Data(contentsOf: URL(fileURLWithPath: cell + "/checkpoint.safetensors"))
    let uninterrupted = try Data(
      contentsOf: URL(fileURLWithPath: whole + "/cells/joint/seed-1/checkpoint.safetensors"))
    #expect(resumed == uninterrupted, "the resumed cell's checkpoint differs")
    for file in ["results.md", "accuracy.svg", "spectra.svg", "curves.svg"] {
      #expect(FileManager.default.fileExists(atPath: killed + "/" + file), "\(file)")
    }
  }

  /// The fields of /proc/PID/stat after the command name (state first, then the parent's ID),
  /// or nil once the process is gone.
  static func statFields(_ pid: String) -> [Substring]? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
      let close = stat.lastIndex(of: ")")
    else { return nil }
    return stat[stat.index(after: close)...].split(separator: " ")
  }

  /// The process IDs whose parent is `parent`.
  static func children(of parent: pid_t) -> [pid_t] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry -> pid_t? in
      guard let pid = pid_t(entry), let fields = statFields(entry), fields.count > 2 else {
        return nil
      }
      return pid_t(fields[1]) == parent ? pid : nil
    }
  }

  /// Whether `pid` has ended (gone, or a zombie nobody has reaped yet).
  static func ended(_ pid: pid_t) -> Bool {
    guard let fields = statFields(String(pid)) else { return true }
    return fields.first == "Z"
  }

  @Test func `a sweep and its trainer hold their directories and the trainer stops with the sweep`()
    throws
  {
    let base = try DatasetCommandTests.directory("sweep-orphan")
    defer { try? FileManager.default.removeItem(at: base) }
    let data = try Self.mnist(in: base)
    let spec = base.appendingPathComponent("long.json").path
    // Thousands of steps: minutes of training, unless it stops with the sweep.
    try """
    {"train": {"dataset": "mnist", "data": "\(data.path)", "batch": 2, "limit": 80,
               "epochs": 400, "threads": 1},
     "seeds": [0], "configurations": [{"name": "joint", "mode": "joint"}]}
    """.write(toFile: spec, atomically: true, encoding: .utf8)
    let sweep = Process()
    sweep.executableURL = URL(fileURLWithPath: headwayExecutable)
    sweep.arguments = ["sweep", spec, "--out", base.path + "/out"]
    sweep.standardOutput = FileHandle.nullDevice
    try sweep.run()
    let metrics = base.path + "/out/cells/joint/seed-0/metrics.jsonl"
    var child: pid_t?
    for _ in 0..<6000 where child == nil && sweep.isRunning {
      let logged = (try? String(contentsOfFile: metrics, encoding: .utf8))?.count ?? 0
      if logged > 0 { child = Self.children(of: sweep.processIdentifier).first }
      usleep(10_000)
    }
    let trainer = try #require(child, "the sweep's training process never appeared")
    // While they run, a second sweep over the same directory and a second trainer of the same
    // cell are refused, naming the holder.
    let (second, secondError) = try DatasetCommandTests.headway([
      "sweep", spec, "--out", base.path + "/out",
    ])
    #expect(second != 0)
    #expect(
      secondError.contains("is in use by headway sweep (process \(sweep.processIdentifier))"),
      "\(secondError)")
    let cell = base.path + "/out/cells/joint/seed-0"
    let (resumed, resumedError) = try DatasetCommandTests.headway([
      "train", "--dataset", "mnist", "--data", data.path, "--batch", "2", "--out", cell, "--resume",
    ])
    #expect(resumed != 0)
    #expect(
      resumedError.contains("\(cell) is in use by headway train (process \(trainer))"),
      "\(resumedError)")
    kill(sweep.processIdentifier, SIGKILL)
    sweep.waitUntilExit()
    var waited = 0
    while !Self.ended(trainer) && waited < 200 {
      usleep(50_000)
      waited += 1
    }
    let stopped = Self.ended(trainer)
    if !stopped { kill(trainer, SIGKILL) }
    #expect(stopped, "training process \(trainer) still ran 10 s after its sweep was killed")
  }

  @Test func `a child whose sweep has already stopped does not start`() throws {
    // Process 1 is never the parent of a process this test starts.
    let (status, output) = try DatasetCommandTests.headway(
      ["train", "--help"],
      environment: ProcessInfo.processInfo.environment.merging(
        ["HEADWAY_STOP_WITH_PARENT": "1"], uniquingKeysWith: { $1 }))
    #expect(status == 1)
    #expect(output.contains("its parent process 1 has already stopped"), "\(output)")
  }

  @Test func `a configuration that changes the budget is refused before any training`() throws {
    let base = try DatasetCommandTests.directory("sweep-budget")
    defer { try? FileManager.default.removeItem(at: base) }
    let spec = base.appendingPathComponent("spec.json").path
    try """
    {"train": {"epochs": 1}, "seeds": [0],
     "configurations": [{"name": "joint"}, {"name": "long", "epochs": 3}]}
    """.write(toFile: spec, atomically: true, encoding: .utf8)
    let (status, output) = try DatasetCommandTests.headway([
      "sweep", spec, "--out", base.path + "/out",
    ])
    #expect(status != 0)
    #expect(output.contains("configuration 'long' may not set 'epochs'"), "\(output)")
    #expect(!FileManager.default.fileExists(atPath: base.path + "/out/cells"))
  }

  @Test func `a misspelt option names its configuration before any training`() throws {
    let base = try DatasetCommandTests.directory("sweep-typo")
    defer { try? FileManager.default.removeItem(at: base) }
    let spec = base.appendingPathComponent("spec.json").path
    try """
    {"seeds": [0], "configurations": [{"name": "k2", "inner-stpes": 2}]}
    """.write(toFile: spec, atomically: true, encoding: .utf8)
    let (status, output) = try DatasetCommandTests.headway([
      "sweep", spec, "--out", base.path + "/out",
    ])
    #expect(status != 0)
    #expect(output.contains("configuration 'k2'") && output.contains("inner-stpes"), "\(output)")
  }
}
