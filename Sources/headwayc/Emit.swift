import ArgumentParser
import Foundation
import GraphsToC

/// `headwayc emit PROGRAM -o DIR`: writes the C of one program (generic in the batch size);
/// with `--trainer`, a standalone C trainer around it.
struct Emit: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Write the generated C and header of one program to a directory.")

  @Argument(help: "Program name, as `headwayc list` prints it.")
  var program: String

  @Option(name: .shortAndLong, help: "Output directory.")
  var output: String

  @Flag(
    help: """
      Also write a standalone trainer (C, `make` builds ./train): the kernel support C, \
      Fashion-MNIST loading, augmentations, schedule, checkpoints and resume, as `headway train`.
      """)
  var trainer = false

  func run() throws {
    guard trainer else { return try GraphsToC.emit(program, output: output) }
    // The sources are copied from the checkout this headwayc was built from.
    let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent().path
    try GraphsToC.emitTrainer(program, output: output, repository: repository)
    print("wrote a trainer for \(program) to \(output): run `make -C \(output)`")
  }
}

/// `headwayc emit-all`: what the build plugin runs (through `compile-graphs`). Two C files per
/// graphs/ source file, the header and the registry; files whose content did not change are
/// left alone.
struct EmitAll: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "emit-all",
    abstract: "Write the C of every program in graphs/ (what the build plugin does).")

  @Option(help: "The graphs/ source files, two C files are written for each (by base name).")
  var sources: [String] = []

  @Option(name: .shortAndLong, help: "Output directory: the C files and the registry.")
  var output: String

  @Option(help: "Directory for HeadwayPrograms.h.")
  var includeDirectory: String

  func run() throws {
    try GraphsToC.emitAll(sources: sources, output: output, include: includeDirectory)
  }
}
