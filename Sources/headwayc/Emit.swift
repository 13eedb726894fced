import ArgumentParser
import CodegenC
import Dispatch
import Foundation
import GraphCompiler
import GraphDSL
import Graphs

/// `headwayc emit PROGRAM -o DIR`: writes the C of one program (generic in the batch size).
struct Emit: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Write the generated C and header of one program to a directory.")

  @Argument(help: "Program name, as `headwayc list` prints it.")
  var program: String

  @Option(name: .shortAndLong, help: "Output directory.")
  var output: String

  func run() throws {
    guard let definition = Programs.named(program) else {
      throw ValidationError(
        "unknown program '\(program)'; programs: \(Programs.all.map(\.name).joined(separator: ", "))"
      )
    }
    let generic = try GenericProgram(definition.program)
    let base = CSyntax.fileBase(definition.file)
    let (main, kernels) = try ProgramEmitter.translationUnits([generic], source: definition.file)
    try writeIfChanged(main, to: "\(output)/\(base).graph.c")
    try writeIfChanged(kernels, to: "\(output)/\(base).kernels.c")
    try writeIfChanged(ProgramEmitter.header([program]), to: "\(output)/HeadwayPrograms.h")
    try writeIfChanged(ProgramEmitter.registry([program]), to: "\(output)/programs.registry.c")
  }
}

/// `headwayc emit-all`: what the build plugin runs. One C file per graphs/ source file, the
/// header and the registry; files whose content did not change are left alone.
struct EmitAll: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "emit-all",
    abstract: "Write the C of every program in graphs/ (used by the build plugin).")

  @Option(help: "The graphs/ source files, one C file is written for each (by base name).")
  var sources: [String] = []

  @Option(name: .shortAndLong, help: "Output directory: <Base>.c files and Registry.c.")
  var output: String

  @Option(help: "Directory for HeadwayPrograms.h.")
  var includeDirectory: String

  func run() throws {
    // One file per thread: each is compiled and printed on its own.
    let bases = sources.map(CSyntax.fileBase)
    let texts = ParallelResults<([String], (main: String, kernels: String))>(count: bases.count)
    DispatchQueue.concurrentPerform(iterations: bases.count) { index in
      texts.set(index) {
        let programs = try Programs.all.filter { CSyntax.fileBase($0.file) == bases[index] }.map {
          try GenericProgram($0.program)
        }
        let texts = try ProgramEmitter.translationUnits(
          programs, source: "graphs/\(bases[index]).swift")
        return (programs.map(\.first.program.name), texts)
      }
    }
    var names: [String] = []
    for (index, base) in bases.enumerated() {
      let (programs, text) = try texts.get(index)
      names += programs
      try writeIfChanged(text.main, to: "\(output)/\(base).graph.c")
      try writeIfChanged(text.kernels, to: "\(output)/\(base).kernels.c")
    }
    try writeIfChanged(ProgramEmitter.header(names), to: "\(includeDirectory)/HeadwayPrograms.h")
    try writeIfChanged(ProgramEmitter.registry(names), to: "\(output)/programs.registry.c")
  }
}

/// Writes `text` unless the file already holds it (so unchanged C is not recompiled).
func writeIfChanged(_ text: String, to path: String) throws {
  let url = URL(fileURLWithPath: path)
  try FileManager.default.createDirectory(
    at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
  if let existing = try? String(contentsOf: url, encoding: .utf8), existing == text { return }
  try text.write(to: url, atomically: true, encoding: .utf8)
}
