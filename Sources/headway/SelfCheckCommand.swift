import ArgumentParser
import GraphDSL
import Graphs
import Runtime

/// `headway selfcheck [PROGRAM]`: compiled code against the reference interpreter.
struct SelfCheckCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "selfcheck",
    abstract:
      "Run every compiled entry point and the interpreter on the same random inputs and state.",
    discussion: """
      Prints the largest difference per output and per updated variable, relative to the \\
      largest magnitude of the interpreter's value; exits non-zero if any exceeds the tolerance.
      """)

  @Argument(help: "Program to check (default: every program in graphs/).")
  var program: String?

  @Option(help: "Batch size (default: the smallest the program lists).")
  var batch: Int?

  @Option(help: "Check only this entry point.")
  var entry: String?

  @Option(help: "Largest accepted relative error.")
  var tolerance = 1e-4

  @Option(help: "OpenMP threads (0: the default).")
  var threads = 0

  func run() throws {
    let definitions =
      try program.map { name in
        guard let definition = Programs.named(name) else {
          throw ValidationError("unknown program '\(name)'")
        }
        return [definition]
      } ?? Programs.all
    var failures = 0
    for definition in definitions {
      let size = batch ?? definition.batchSizes.min()!
      let compiled = try CompiledProgram.named(definition.name, batch: size)
      let check = SelfCheck(tolerance: tolerance)
      let reports = try check.run(
        try definition.program(batch: size), compiled, entries: entry.map { [$0] }, threads: threads
      )
      print("\(definition.name) batch \(size): \(reports.count) tensors compared")
      for report in reports {
        print("  \(report)")
        if !report.passed { failures += 1 }
      }
    }
    if failures > 0 {
      print("\(failures) tensors differ by more than \(tolerance)")
      throw ExitCode.failure
    }
  }
}
