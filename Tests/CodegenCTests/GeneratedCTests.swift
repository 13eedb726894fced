import Foundation
import GraphCompiler
import GraphIR
import Graphs
import Testing

@testable import CodegenC

/// The C generated for R1 (generic in the batch size), for the entries the snapshot covers.
func generatedR1(entries: [String]) throws -> String {
  try generated("fmnist-resnet-small", entries: entries)
}

/// The C generated for a program of graphs/ (generic in the batch size), for `entries`.
func generated(_ program: String, entries: [String]) throws -> String {
  let definition = try #require(Programs.named(program))
  var generic = try GenericProgram(definition.program)
  generic.keepEntries(entries)
  let (main, kernels) = try ProgramEmitter.translationUnits([generic], source: definition.file)
  return main + kernels
}

let snapshotDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .appendingPathComponent("Snapshots")

@Suite struct GeneratedCTests {
  static let entries = ["joint.step", "bilevel.step", "bilevel-unrolled.k1.step", "encode"]

  /// Golden snapshots: any change to the generated C shows in review. To accept a change, run
  /// `HEADWAY_RECORD_SNAPSHOTS=1 swift test --filter GeneratedCTests` (it fails once, having
  /// written the new snapshot) and review the diff like code. R1's two-rank form shows the
  /// collectives' calls.
  @Test(arguments: [
    ("fmnist-resnet-small", Self.entries), ("fmnist-resnet-small.p2", ["joint.step"]),
  ])
  func generatedCMatchesTheGoldenSnapshot(program: String, entries: [String]) throws {
    let text = try generated(program, entries: entries)
    let file = snapshotDirectory.appendingPathComponent(program + ".c")
    if ProcessInfo.processInfo.environment["HEADWAY_RECORD_SNAPSHOTS"] != nil {
      try text.write(to: file, atomically: true, encoding: .utf8)
      Issue.record("recorded \(file.path); rerun without HEADWAY_RECORD_SNAPSHOTS")
      return
    }
    let golden = try String(contentsOf: file, encoding: .utf8)
    guard text != golden else { return }
    let new = text.split(separator: "\n").map(String.init)
    let old = golden.split(separator: "\n").map(String.init)
    let first =
      (0..<min(new.count, old.count)).first { new[$0] != old[$0] } ?? min(new.count, old.count)
    let expected = first < old.count ? old[first] : "<end>"
    let actual = first < new.count ? new[first] : "<end>"
    let message = "generated C differs from \(file.lastPathComponent) at line \(first + 1):"
    Issue.record("\(message)\n  expected: \(expected)\n  actual:   \(actual)")
  }

  /// No two kernel functions have the same body (the library shares one function among every
  /// call that computes the same thing), and the three entries do share some.
  @Test func eachKernelIsEmittedOnce() throws {
    let text = try generatedR1(entries: Self.entries)
    var bodies: [String: String] = [:]
    for chunk in text.components(separatedBy: "\nstatic void ").dropFirst() {
      guard let open = chunk.firstIndex(of: "(") else { continue }
      let name = String(chunk[..<open])
      guard !name.hasSuffix("_launch") else { continue }
      let body = String(chunk[open...]).components(separatedBy: "\n}\n")[0]
      if let other = bodies[body] { Issue.record("\(name) repeats \(other)") }
      bodies[body] = name
    }
    // Rows of the calls tables: `{kernel, arguments, first argument},`.
    let calls = text.split(separator: "\n").filter {
      $0.hasPrefix("  {") && $0.dropFirst(3).first?.isNumber == true
    }.count
    #expect(bodies.count > 100)
    #expect(
      Double(calls) > 1.9 * Double(bodies.count), "\(calls) calls of \(bodies.count) functions")
  }

  /// No line of the generated C is longer than 120 columns.
  @Test func noLineIsLongerThan120Columns() throws {
    let text = try generatedR1(entries: Self.entries)
    for line in text.split(separator: "\n") where line.count > 120 {
      Issue.record("\(line.count) columns: \(line.prefix(80))...")
    }
  }

  /// Long lines break at spaces outside string literals, with the continuation indented four
  /// more; preprocessor lines are kept whole.
  @Test func longLinesBreakAtSpacesOutsideStrings() {
    let pragma = "#pragma omp parallel for " + String(repeating: "x", count: 30)
    let text = "  y = \"a b c d\" + aaaa + bbbb + cccc;\n" + pragma
    let wrapped = CodePrinter.wrappingLongLines(text, width: 20)
    #expect(wrapped == "  y = \"a b c d\" +\n      aaaa + bbbb +\n      cccc;\n" + pragma)
  }

  /// Inner loops call nothing but libm math (which clang turns into instructions or
  /// vectorized calls); no helper functions per element. Pragmas (`omp simd reduction(...)`)
  /// are not calls.
  @Test func innerLoopsCallOnlyMathFunctions() throws {
    let text = try generatedR1(entries: Self.entries)
    let allowed: Set<String> = [
      "exp", "log", "sqrt", "fmax", "fmin", "fabs", "pow", "for", "switch",
    ]
    var depth = 0
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
      let trimmed = line.trimmingCharacters(in: .whitespaces)
      if trimmed.hasPrefix("for (") { depth += 1 }
      if depth > 0 && !trimmed.hasPrefix("for (") && !trimmed.hasPrefix("#pragma") {
        for call in calls(in: trimmed) where !allowed.contains(call) {
          Issue.record("call to \(call) inside a loop: \(trimmed)")
        }
      }
      if trimmed == "}" && depth > 0 { depth -= 1 }
    }
  }

  /// The generated C compiles with -Wall -Wextra -Werror (syntax and semantic checks only).
  @Test(
    .enabled(
      if: FileManager.default.fileExists(atPath: "/usr/lib/llvm-14/lib/clang/14.0.6/include/omp.h"))
  )
  func generatedCCompilesWithoutWarnings() throws {
    let text = try generatedR1(entries: Self.entries)
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "headway-c-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let source = directory.appendingPathComponent("r1.c")
    try text.write(to: source, atomically: true, encoding: .utf8)
    let include = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("Sources/CKernelSupport/include").path
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [
      "clang", "-fsyntax-only", "-Wall", "-Wextra", "-Werror", "-fopenmp",
      "-I/usr/lib/llvm-14/lib/clang/14.0.6/include", "-I\(include)", source.path,
    ]
    let pipe = Pipe()
    process.standardError = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(process.terminationStatus == 0, "\(output.prefix(2000))")
  }
}

/// Names followed by `(` in a line of C: the functions it calls.
func calls(in line: String) -> [String] {
  var result: [String] = []
  var word = ""
  for character in line {
    if character.isLetter || character.isNumber || character == "_" {
      word.append(character)
    } else {
      if character == "(" && !word.isEmpty && !word.first!.isNumber
        && !["float", "double", "int64_t"].contains(word)
      {
        result.append(word)
      }
      word = ""
    }
  }
  return result
}
