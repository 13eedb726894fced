import GraphIR
import Testing

@Suite struct ParserTests {
  /// The message of the error parsing `text` throws, or nil (recording an issue) if none.
  private func parseError(
    _ text: String, program: Bool = false, sourceLocation: Testing.SourceLocation = #_sourceLocation
  ) -> String? {
    let error = #expect(throws: IRError.self, sourceLocation: sourceLocation) {
      if program { _ = try Parser.parseProgram(text) } else { _ = try Parser.parseGraph(text) }
    }
    return error?.description
  }

  @Test(arguments: [
    (
      "%0 = input() {name=\"x\"} : f32[2]\n\n%1 = frobnicate(%0) : f32[2]", "line 3",
      "unknown op 'frobnicate'"
    ),
    (
      "%0 = input() {name=\"x\"} : f32[2]\n%1 = exp(%7) : f32[2]", "line 2",
      "%7 is used before it is defined"
    ),
    (
      "%0 = input() {name=\"x\"} : f32[2]\n%1 = reduce_sum(%0) : f32[1]", "line 2",
      "needs attribute 'axes'"
    ),
    (
      "%0 = input() {name=\"x\"} : f32[2]\n%1 = pow(%0) {exponent=\"two\"} : f32[2]", "line 2",
      "must be a number"
    ),
    ("%0 = input() {name=\"x\"} : f64[2]", "line 1", "unknown dtype"),
    (
      "%0 = input() {name=\"x\"} : f32[2]\n%1 = input() {name=\"y : f32[2]", "line 2",
      "unterminated string"
    ),
    ("%0 = input() {name=\"x\"} : f32[2]\n%0 = exp(%0) : f32[2]", "line 2", "%0 is defined twice"),
    ("%0 = input() {name=\"x\"} : f32[2]\noutput \"y\" %0", "line 2", "expected '='"),
  ])
  func `Graph parse errors name the line`(text: String, line: String, message: String) {
    let error = parseError(text)
    #expect(error?.contains(line) == true, "\(error ?? "")")
    #expect(error?.contains(message) == true, "\(error ?? "")")
  }

  @Test(arguments: [
    (
      "program \"p\"\nvariable \"w\" : f32[2] weight zeros", "line 2",
      "unknown variable role 'weight'"
    ),
    (
      "program \"p\"\n\nvariable \"w\" : f32[2] parameter gaussian(1.0, 2)", "line 3",
      "unknown initializer 'gaussian'"
    ),
    (
      "program \"p\"\nvariable \"w\" : f32[2] parameter normal(1.0, -2)", "line 2",
      "expected a seed, got -2"
    ),
    (
      "program \"p\"\nentry \"e\" {\n  %0 = input() {name=\"x\"} : f32[2]\n", "line 4",
      "expected '%N =' or 'output'"
    ),
    ("program \"p\"\nbogus", "line 2", "expected 'variable', 'entry' or the end"),
  ])
  func `Program parse errors name the line`(text: String, line: String, message: String) {
    let error = parseError(text, program: true)
    #expect(error?.contains(line) == true, "\(error ?? "")")
    #expect(error?.contains(message) == true, "\(error ?? "")")
  }

  @Test func `Value numbers may be any distinct integers and are renumbered in order`() throws {
    let graph = try Parser.parseGraph(
      """
      %10 = input() {name="x"} : f32[2]
      %3 = exp(%10) : f32[2]  // a comment
      output "y" = %3
      """)
    #expect(graph.nodes.map(\.operands) == [[], [NodeID(0)]])
    #expect(graph.outputs == [GraphOutput(name: "y", node: NodeID(1))])
  }

  @Test func `Types are taken as written so the verifier can report them`() throws {
    let graph = try Parser.parseGraph(
      """
      %0 = input() {name="x"} : f32[2]
      %1 = exp(%0) : f32[3]
      """)
    #expect(graph.nodes[1].type == .f32([3]))
    #expect(throws: IRError.self) { try Verifier().verify(graph) }
  }
}
