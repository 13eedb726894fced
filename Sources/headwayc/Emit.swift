import ArgumentParser
import GraphsToC

/// `headwayc emit PROGRAM -o DIR`: writes the C of one program (generic in the batch size).
struct Emit: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Write the generated C and header of one program to a directory.")

  @Argument(help: "Program name, as `headwayc list` prints it.")
  var program: String

  @Option(name: .shortAndLong, help: "Output directory.")
  var output: String

  func run() throws {
    try GraphsToC.emit(program, output: output)
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
