import ArgumentParser
import GradientCheck
import GraphCompiler
import GraphDSL
import GraphIR
import Graphs

/// The compiler driver: inspects the programs defined in graphs/.
@main
struct Headwayc: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "headwayc",
    abstract: "The Headway compiler driver: list, dump and gradient-check the programs in graphs/.",
    subcommands: [List.self, Dump.self, GradCheck.self, Plan.self, Emit.self, EmitAll.self])
}

/// Options naming one program and the batch size to build it for.
struct ProgramOptions: ParsableArguments {
  @Argument(help: "Program name, as `headwayc list` prints it.")
  var program: String

  @Option(help: "Images per step (default: the smallest size the program lists).")
  var batch: Int?

  func load() throws -> Program {
    let definition = try self.definition()
    return try definition.program(batch: batch ?? definition.batchSizes.min()!)
  }

  func definition() throws -> ProgramDefinition {
    guard let definition = Programs.named(program) else {
      let names = Programs.all.map(\.name).joined(separator: ", ")
      throw ValidationError("unknown program '\(program)'; programs: \(names)")
    }
    return definition
  }
}

struct List: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "List the programs in graphs/ with their batch sizes and entry points.")

  func run() throws {
    for definition in Programs.all {
      let program = try definition.program(batch: definition.batchSizes.min()!)
      print("\(definition.name): \(definition.summary)")
      let sizes = definition.batchSizes.map(String.init).joined(separator: ", ")
      print("  batch sizes checked by the tests: \(sizes) (any size runs)")
      print("  entry points: \(program.entries.map(\.name).joined(separator: ", "))")
    }
  }
}

struct Dump: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Print the textual IR of a program, as written or after a compiler pass.")

  @OptionGroup var options: ProgramOptions

  @Option(help: "Print only this entry point.")
  var entry: String?

  @Option(help: "Stop after this pass: \(Lowering.stageNames.joined(separator: ", ")).")
  var after: String?

  @Flag(help: "Leave out DSL source locations.")
  var noLocations = false

  func run() throws {
    var program = try options.load()
    if let after { program = try Lowering.run(program, stopAfter: after) }
    if let entry {
      guard let found = program.entry(named: entry) else {
        throw ValidationError(
          "no entry '\(entry)'; entries: \(program.entries.map(\.name).joined(separator: ", "))")
      }
      program.entries = [found]
    }
    print(Printer(includeLocations: !noLocations).print(program), terminator: "")
  }
}

struct GradCheck: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gradcheck",
    abstract: "Check every gradient a program uses against forward-mode derivatives in float64.",
    discussion: """
      For each training entry point (every mode, including bilevel-unrolled, whose backbone
      gradient is a second-order hypergradient), compares the reverse-mode gradient of the loss
      along a random direction with the exact directional derivative from forward mode, and
      prints a central difference beside it. Prints the relative error per variable; exits
      non-zero if any exceeds the tolerance.
      """)

  @OptionGroup var options: ProgramOptions

  @Option(help: "Check only this entry point.")
  var entry: String?

  @Option(help: "Largest accepted relative error between reverse and forward mode.")
  var tolerance: Double = 1e-8

  @Flag(help: "Also print a central difference per variable (two loss evaluations more each).")
  var finiteDifferences = false

  @Flag(help: "One joint random direction over all variables per entry: one pass, one line.")
  var combined = false

  func run() throws {
    let program = try options.load()
    let entries = program.entries.filter { candidate in
      entry.map { $0 == candidate.name }
        ?? candidate.graph.nodes.contains {
          if case .update = $0.op { true } else { false }
        }
    }
    guard !entries.isEmpty else { throw ValidationError("no training entry point to check") }
    var failures = 0
    for candidate in entries {
      let check = GradientCheck(
        tolerance: tolerance, finiteDifferences: finiteDifferences, combined: combined)
      let reports = try check.check(program, entry: candidate.name)
      let worst = reports.map(\.relativeError).max() ?? 0
      print("\(candidate.name): \(reports.count) checks, max rel.err \(worst)")
      for report in reports {
        print("  \(report)")
        if !report.passed { failures += 1 }
      }
    }
    if failures > 0 {
      print("\(failures) gradients exceed the tolerance \(tolerance)")
      throw ExitCode.failure
    }
  }
}
