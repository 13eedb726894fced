import ArgumentParser
import CompiledChecks
import GraphCompiler
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

  @Flag(help: "Print every kernel, not only those above the tolerance.")
  var verbose = false

  @Option(help: "OpenMP threads (0: the default).")
  var threads = 0

  @Option(
    help: """
      fp32, or bf16: each kernel alone against its definition on operands rounded as the bf16 \
      convolutions round them (the chain and whole-entry checks are float32's).
      """)
  var precision: Precision = .fp32

  func run() throws {
    let definitions =
      try program.map { name in
        guard let definition = Programs.named(name) else {
          throw ValidationError("unknown program '\(name)'")
        }
        guard definition.ranks == 1 else {
          throw ValidationError(
            "\(name) is one rank's program of a \(definition.ranks)-rank run: its collectives "
              + "need mpirun; its runs are checked against one process by the test suite "
              + "(DistributedTrainingTests) and on the interpreter (DataParallelTests)")
        }
        return [definition]
      } ?? Programs.all.filter { $0.ranks == 1 }
    var failures = 0
    for definition in definitions {
      let size = batch ?? definition.batchSizes.min()!
      let compiled = try CompiledProgram.named(definition.name, batch: size)
      let program = try GenericProgram(definition.program)
      let entries = entry.map { [$0] }
      try precision.check()
      let kernels = try KernelCheck(tolerance: tolerance, precision: precision).run(
        program, compiled, entries: entries)
      print(
        "\(definition.name) batch \(size): \(kernels.count) calls (kernels and optimizer), each run alone "
          + "(\(precision.rawValue))")
      for report in kernels where verbose || !report.passed { print("  \(report)") }
      print("  max rel.err \(kernels.map(\.error).max() ?? 0)")
      failures += kernels.filter { !$0.passed }.count
      guard precision == .fp32 else { continue }
      let outcome = try SelfCheck(tolerance: tolerance).run(
        program, compiled, entries: entries, threads: threads)
      print("\(definition.name) batch \(size): \(outcome.chain.count) calls in order")
      for step in outcome.chain where verbose || !step.passed { print("  \(step)") }
      print("  max rel.err \(outcome.chain.map(\.error).max() ?? 0)")
      for flip in outcome.flips { print("  flip: \(flip)") }
      print(
        "\(definition.name) batch \(size): whole entry points, \(outcome.reports.count) tensors")
      for report in outcome.reports { print("  \(report)") }
      failures += outcome.failures
    }
    if failures > 0 {
      print("\(failures) tensors differ by more than \(tolerance)")
      throw ExitCode.failure
    }
  }
}
