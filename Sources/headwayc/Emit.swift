import ArgumentParser
import CodegenC
import Foundation
import GraphCompiler
import GraphDSL
import Graphs

/// `headwayc emit PROGRAM -o DIR [--batch N]`: writes the C of one program (every batch size
/// it lists, or one of them).
struct Emit: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract:
      "Write the generated C and header of one program (all its batch sizes) to a directory.")

  @Argument(help: "Program name, as `headwayc list` prints it.")
  var program: String

  @Option(name: .shortAndLong, help: "Output directory.")
  var output: String

  @Option(help: "Only this batch size (one the program lists).")
  var batch: Int?

  func run() throws {
    guard let definition = Programs.named(program) else {
      throw ValidationError(
        "unknown program '\(program)'; programs: \(Programs.all.map(\.name).joined(separator: ", "))"
      )
    }
    if let batch, !definition.batchSizes.contains(batch) {
      let sizes = definition.batchSizes.map(String.init).joined(separator: ", ")
      throw ValidationError("\(program) is built for batch sizes \(sizes), not \(batch)")
    }
    var (generic, planned) = try plan(definition)
    planned = planned.filter { batch == nil || $0.batch == batch }
    let base = CSyntax.fileBase(definition.file)
    let accessors = planned.map { ($0.program.name, $0.batch) }
    try writeIfChanged(
      ProgramEmitter.translationUnit([(generic, planned)], source: definition.file),
      to: "\(output)/\(base).graph.c")
    try writeIfChanged(ProgramEmitter.header(accessors), to: "\(output)/HeadwayPrograms.h")
    try writeIfChanged(ProgramEmitter.registry(accessors), to: "\(output)/programs.registry.c")
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
    var byFile: [String: [(GenericProgram, [PlannedProgram])]] = [:]
    for definition in Programs.all {
      byFile[CSyntax.fileBase(definition.file), default: []].append(try plan(definition))
    }
    var accessors: [(String, Int)] = []
    for source in sources {
      let base = CSyntax.fileBase(source)
      let planned = byFile[base] ?? []
      accessors += planned.flatMap { $0.1.map { ($0.program.name, $0.batch) } }
      try writeIfChanged(
        ProgramEmitter.translationUnit(planned, source: "graphs/\(base).swift"),
        to: "\(output)/\(base).graph.c")
    }
    try writeIfChanged(
      ProgramEmitter.header(accessors), to: "\(includeDirectory)/HeadwayPrograms.h")
    try writeIfChanged(ProgramEmitter.registry(accessors), to: "\(output)/programs.registry.c")
  }
}

/// A definition compiled generic in the batch size, and instantiated at every batch size it
/// lists.
func plan(_ definition: ProgramDefinition) throws -> (GenericProgram, [PlannedProgram]) {
  let generic = try GenericProgram(definition.anyBatch)
  return (generic, try definition.batchSizes.map { try generic.instantiated(batch: $0) })
}

/// Writes `text` unless the file already holds it (so unchanged C is not recompiled).
func writeIfChanged(_ text: String, to path: String) throws {
  let url = URL(fileURLWithPath: path)
  try FileManager.default.createDirectory(
    at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
  if let existing = try? String(contentsOf: url, encoding: .utf8), existing == text { return }
  try text.write(to: url, atomically: true, encoding: .utf8)
}
