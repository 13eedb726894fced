import ArgumentParser
import Foundation
import Runtime

/// `headway sweep SPEC --out DIR`: a grid of training configurations times seeds, each trained,
/// then studied, and the results gathered.
struct Sweep: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Train and study a grid of configurations x seeds at one budget; gather results.",
    discussion: """
      SPEC is a JSON file: {"train": {shared train options, including the budget: epochs, \
      batch, limit}, "study": {study options}, "seeds": [0, 1, 2], "baseline": "joint", \
      "configurations": [{"name": "joint", "mode": "joint"}, {"name": "bilevel-k2", "mode": \
      "bilevel", "inner-steps": 2}, ...]}. Keys are option names without the dashes; true/false \
      give a flag or its --no- form. A configuration may not change the budget, so every cell \
      runs the same number of backbone steps (each step's wall time is recorded for an \
      equal-time view). Each cell is `headway train` into DIR/cells/NAME/seed-S (checkpoints \
      every 50 steps unless the spec sets checkpoint-every), then `headway study` there (its \
      first row, the backbone output, is what `headway eval` reports). Resumable: a finished \
      cell is skipped and a killed one resumes from its checkpoint, to the same results. \
      Writes DIR/results.md, DIR/results.json and the plots accuracy.svg, spectra.svg and \
      curves.svg.
      """)

  @Argument(help: "The sweep's spec (JSON).")
  var spec: String

  @Option(help: "Directory of the cells and the results.")
  var out: String

  @Flag(help: "Only gather the results of the cells that are finished.")
  var gatherOnly = false

  @Flag(help: "Train every cell but study none (a later run without it studies them).")
  var trainOnly = false

  func run() throws {
    let grid = try SweepSpec(path: spec)
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    let lock = try DirectoryLock(directory: out, holder: "headway sweep")
    defer { withExtendedLifetime(lock) {} }
    try validate(grid)
    guard !(gatherOnly && trainOnly) else {
      throw ValidationError("--gather-only and --train-only exclude each other")
    }
    // Seed by seed, so a sweep stopped part way has every configuration at its first seeds.
    let cells = grid.seeds.flatMap { seed in grid.configurations.map { ($0, seed) } }
    var finished: [SweepCell] = []
    for (index, (configuration, seed)) in cells.enumerated() {
      let directory = cellDirectory(configuration.name, seed)
      let label = "[\(index + 1)/\(cells.count)] \(configuration.name) seed \(seed)"
      if !gatherOnly {
        try runCell(grid, configuration, seed, directory, label: label, study: !trainOnly)
      }
      if FileManager.default.fileExists(atPath: directory + "/study.json") {
        finished.append(
          try SweepCell(configuration: configuration.name, seed: seed, directory: directory))
      }
    }
    try gather(grid, finished, expected: cells.count)
  }

  func cellDirectory(_ name: String, _ seed: UInt64) -> String {
    "\(out)/cells/\(name)/seed-\(seed)"
  }

  /// Every cell's train arguments parse before anything runs, so a typo costs no training.
  func validate(_ grid: SweepSpec) throws {
    for configuration in grid.configurations {
      let arguments = trainArguments(grid, configuration, seed: grid.seeds[0], "/nonexistent")
      do {
        _ = try Train.parseAsRoot(Array(arguments.dropFirst()))
      } catch {
        throw ValidationError(
          "\(spec): configuration '\(configuration.name)': "
            + Train.message(for: error).replacingOccurrences(of: "\n", with: " "))
      }
    }
    do { _ = try Study.parseAsRoot(["/nonexistent"] + grid.study) } catch {
      throw ValidationError("\(spec): \"study\": " + Study.message(for: error))
    }
  }

  func trainArguments(
    _ grid: SweepSpec, _ configuration: SweepSpec.Configuration, seed: UInt64, _ directory: String
  ) -> [String] {
    ["train"] + grid.train + configuration.arguments + ["--seed", String(seed), "--out", directory]
      + (grid.checkpointEvery > 0 ? ["--checkpoint-every", String(grid.checkpointEvery)] : [])
  }

  /// Trains the cell unless `train.done` says it has, resuming from its checkpoint if one is
  /// there, then (with `study`) studies it unless `study.json` is there.
  func runCell(
    _ grid: SweepSpec, _ configuration: SweepSpec.Configuration, _ seed: UInt64,
    _ directory: String, label: String, study: Bool
  ) throws {
    let manager = FileManager.default
    try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let log = directory + "/sweep.log"
    if !manager.fileExists(atPath: directory + "/train.done") {
      var arguments = trainArguments(grid, configuration, seed: seed, directory)
      let resuming = manager.fileExists(atPath: directory + "/checkpoint.safetensors")
      if resuming { arguments.append("--resume") }
      print("\(label): training" + (resuming ? " (resuming from its checkpoint)" : ""))
      try runHeadway(arguments, log: log, what: "\(label): train")
      try Data("done\n".utf8).write(to: URL(fileURLWithPath: directory + "/train.done"))
    }
    if study, !manager.fileExists(atPath: directory + "/study.json") {
      print("\(label): study")
      let started = Date()
      try runHeadway(["study", directory] + grid.study, log: log, what: "\(label): study")
      try String(Date().timeIntervalSince(started)).write(
        toFile: directory + "/study.seconds", atomically: true, encoding: .utf8)
    }
  }

  /// Runs this executable with `arguments`, its output appended to `log`; the child stops when
  /// this process does (`ParentProcess`).
  func runHeadway(_ arguments: [String], log: String, what: String) throws {
    if !FileManager.default.fileExists(atPath: log) {
      _ = FileManager.default.createFile(atPath: log, contents: nil)
    }
    guard let handle = FileHandle(forWritingAtPath: log) else {
      throw ValidationError("cannot write \(log)")
    }
    defer { try? handle.close() }
    handle.seekToEndOfFile()
    handle.write(Data(("$ headway " + arguments.joined(separator: " ") + "\n").utf8))
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
    process.arguments = arguments
    process.environment = ParentProcess.childEnvironment()
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
    process.waitUntilExit()
    guard process.terminationReason == .exit, process.terminationStatus == 0 else {
      let how =
        process.terminationReason == .exit
        ? "exit status \(process.terminationStatus)" : "signal \(process.terminationStatus)"
      throw ValidationError("\(what) failed (\(how)); see \(log); run the sweep again to resume")
    }
  }

  /// "CPU (family F model M), 12 cells; ..." over the cells' training machines; a cell resumed on
  /// another machine counts under each.
  func machineCounts(_ cells: [SweepCell]) -> String {
    var counts: [(String, Int)] = []
    for machine in cells.flatMap(\.machines) {
      if let i = counts.firstIndex(where: { $0.0 == machine }) {
        counts[i].1 += 1
      } else {
        counts.append((machine, 1))
      }
    }
    return counts.map { "\($0.0), \($0.1) cell\($0.1 == 1 ? "" : "s")" }
      .joined(separator: "; ")
  }

  /// results.json, results.md and the plots from the finished cells.
  func gather(_ grid: SweepSpec, _ cells: [SweepCell], expected: Int) throws {
    let summary = SweepSummary(spec: grid, cells: cells)
    try Data(try summary.json()).write(
      to: URL(fileURLWithPath: out + "/results.json"), options: .atomic)
    let minutes = { (seconds: Double) in String(format: "%.1f min", seconds / 60) }
    let header = """
      # Sweep results

      `headway sweep \(spec) --out \(out)`: \(cells.count) of \(expected) cells finished, \
      \(grid.seeds.count) seeds per configuration, shared train options \
      `\(grid.train.joined(separator: " "))`. Trained on: \(machineCounts(cells)). \
      Time of the finished cells: training \(minutes(cells.map(\.trainSeconds).reduce(0, +))) \
      (the sum of step times), study \(minutes(cells.compactMap(\.studySeconds).reduce(0, +))).
      """
    try summary.markdown(header: header).write(
      toFile: out + "/results.md", atomically: true, encoding: .utf8)
    try summary.writePlots(to: out)
    print(summary.backboneTable())
    print("\nresults: \(out)/results.md, results.json, accuracy.svg, spectra.svg, curves.svg")
  }
}
