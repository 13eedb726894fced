// Test support: run one pass over textual IR, and match printed IR against FileCheck-style
// directives.

import GraphCompiler
import GraphIR
import Testing

/// Parses and verifies `before`, runs `pass`, verifies the result and returns it printed
/// without locations, with the pass's changed flag.
func runPass(_ pass: some GraphPass, _ before: String) throws -> (String, Bool) {
  let graph = try Parser.parseGraph(before)
  try Verifier().verify(graph)
  let result = try pass.run(graph)
  try Verifier().verify(result.graph)
  return (Printer(includeLocations: false).print(result.graph), result.changed)
}

/// Runs `pass` on `before` and expects exactly `expected` (compared line by line, ignoring
/// indentation and blank lines) and the given changed flag.
func expectPass(
  _ pass: some GraphPass, _ before: String, _ expected: String, changed: Bool,
  sourceLocation: Testing.SourceLocation = #_sourceLocation
) throws {
  let (after, didChange) = try runPass(pass, before)
  #expect(didChange == changed, "changed flag", sourceLocation: sourceLocation)
  #expect(normalized(after) == normalized(expected), "\(after)", sourceLocation: sourceLocation)
}

/// Expects a pass to leave `text` exactly as it is and to report no change.
func expectUnchanged(
  _ pass: some GraphPass, _ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation
) throws {
  try expectPass(pass, text, text, changed: false, sourceLocation: sourceLocation)
}

private func normalized(_ text: String) -> [String] {
  text.split(separator: "\n").map { $0.trimmingSpaces }.filter { !$0.isEmpty }
}

extension Substring {
  fileprivate var trimmingSpaces: String {
    String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
  }
}

/// Matches `text` against directives, one per line:
/// - `CHECK: s`: a later line contains `s`;
/// - `CHECK-NEXT: s`: the line right after the previous match contains `s`;
/// - `CHECK-NOT: s`: no line between the previous match and the next one (or the end)
///   contains `s`.
/// Failures are recorded with the whole text.
func check(
  _ text: String, _ directives: String, sourceLocation: Testing.SourceLocation = #_sourceLocation
) {
  if let failure = checkFailure(text, directives) {
    Issue.record("\(failure)\n--- IR ---\n\(text)", sourceLocation: sourceLocation)
  }
}

/// The first directive that does not hold, described; nil when all hold.
func checkFailure(_ text: String, _ directives: String) -> String? {
  let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
  var position = 0
  var forbidden: [String] = []
  func firstForbidden(in range: Range<Int>) -> String? {
    for pattern in forbidden {
      if let line = range.first(where: { lines[$0].contains(pattern) }) {
        return "CHECK-NOT: \(pattern) matched line \(line + 1): \(lines[line])"
      }
    }
    return nil
  }
  for directive in directives.split(separator: "\n").map({ $0.trimmingSpaces }) {
    guard !directive.isEmpty else { continue }
    guard let (kind, pattern) = parseDirective(directive) else {
      return "malformed directive: \(directive)"
    }
    if kind == "CHECK-NOT" {
      forbidden.append(pattern)
      continue
    }
    let candidates =
      kind == "CHECK-NEXT" ? position..<min(position + 1, lines.count) : position..<lines.count
    guard let match = candidates.first(where: { lines[$0].contains(pattern) }) else {
      return "\(kind): \(pattern) not found after line \(position)"
    }
    if let failure = firstForbidden(in: position..<match) { return failure }
    forbidden = []
    position = match + 1
  }
  return firstForbidden(in: position..<lines.count)
}

private func parseDirective(_ directive: String) -> (String, String)? {
  for kind in ["CHECK-NEXT", "CHECK-NOT", "CHECK"] where directive.hasPrefix(kind + ":") {
    return (kind, directive.dropFirst(kind.count + 1).trimmingSpaces)
  }
  return nil
}

@Suite struct IRCheckTests {
  let text = """
    %0 = input() {name="x"} : f32[2]
    %1 = exp(%0) : f32[2]
    %2 = neg(%1) : f32[2]
    output "y" = %2
    """

  @Test func `CHECK and CHECK-NEXT match lines in order`() {
    #expect(checkFailure(text, "CHECK: input(\nCHECK-NEXT: exp(%0)\nCHECK: output") == nil)
  }

  @Test func `CHECK-NEXT fails when the match is not on the next line`() {
    #expect(checkFailure(text, "CHECK: input(\nCHECK-NEXT: neg(") != nil)
  }

  @Test func `CHECK fails when the pattern only occurs before the previous match`() {
    #expect(checkFailure(text, "CHECK: neg(\nCHECK: exp(") != nil)
  }

  @Test func `CHECK-NOT fails when the pattern occurs between matches or after the last`() {
    #expect(checkFailure(text, "CHECK: input(\nCHECK-NOT: exp(\nCHECK: neg(") != nil)
    #expect(checkFailure(text, "CHECK: exp(\nCHECK-NOT: neg(") != nil)
    #expect(checkFailure(text, "CHECK-NOT: log(\nCHECK: output") == nil)
  }
}
