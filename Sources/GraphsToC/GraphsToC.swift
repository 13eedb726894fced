import CodegenC
import Dispatch
import Foundation
import GraphCompiler
import Graphs

/// Writes the C of the programs in graphs/: what the build plugin runs (through the small
/// `compile-graphs` tool, which needs neither the interpreter nor the argument parser, so the
/// plugin's own build stays short) and what `headwayc emit` and `emit-all` run.
public enum GraphsToC {
  /// Two C files per graphs/ source file (`<Base>.graph.c`, `<Base>.kernels.c`), compiled one
  /// file per thread, then `programs.registry.c` in `output` and `HeadwayPrograms.h` in
  /// `include`; files whose content did not change are left alone.
  public static func emitAll(sources: [String], output: String, include: String) throws {
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
      try write(text, base: base, to: output)
    }
    try writeIfChanged(ProgramEmitter.header(names), to: "\(include)/HeadwayPrograms.h")
    try writeIfChanged(ProgramEmitter.registry(names), to: "\(output)/programs.registry.c")
  }

  /// The C of one program (its two files, header and registry) in `output`.
  public static func emit(_ name: String, output: String) throws {
    guard let definition = Programs.named(name) else {
      let names = Programs.all.map(\.name).joined(separator: ", ")
      throw GraphsToCError("unknown program '\(name)'; programs: \(names)")
    }
    let generic = try GenericProgram(definition.program)
    let base = CSyntax.fileBase(definition.file)
    try write(
      try ProgramEmitter.translationUnits([generic], source: definition.file), base: base,
      to: output)
    try writeIfChanged(ProgramEmitter.header([name]), to: "\(output)/HeadwayPrograms.h")
    try writeIfChanged(ProgramEmitter.registry([name]), to: "\(output)/programs.registry.c")
  }

  /// The two translation units of one graphs/ file: `<base>.graph.c` and `<base>.kernels.c`.
  static func write(_ units: (main: String, kernels: String), base: String, to output: String)
    throws
  {
    try writeIfChanged(units.main, to: "\(output)/\(base).graph.c")
    try writeIfChanged(units.kernels, to: "\(output)/\(base).kernels.c")
  }

  /// Writes `text` unless the file already holds it (so unchanged C is not recompiled).
  static func writeIfChanged(_ text: String, to path: String) throws {
    let url = URL(fileURLWithPath: path)
    try FileManager.default.createDirectory(
      at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    if let existing = try? String(contentsOf: url, encoding: .utf8), existing == text { return }
    try text.write(to: url, atomically: true, encoding: .utf8)
  }
}

/// A request `GraphsToC` cannot serve.
public struct GraphsToCError: Error, CustomStringConvertible {
  public let description: String
  init(_ description: String) { self.description = description }
}
