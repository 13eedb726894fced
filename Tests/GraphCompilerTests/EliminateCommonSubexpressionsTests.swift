import GraphCompiler
import GraphIR
import Testing

@Suite struct EliminateCommonSubexpressionsTests {
  let pass = EliminateCommonSubexpressions()

  @Test func `Equal ops on equal operands merge, including chains that become equal`() throws {
    try expectPass(
      pass,
      """
      %0 = input() {name="x"} : f32[2,3]
      %1 = exp(%0) : f32[2,3]
      %2 = exp(%0) : f32[2,3]
      %3 = neg(%1) : f32[2,3]
      %4 = neg(%2) : f32[2,3]
      %5 = add(%3, %4) : f32[2,3]
      output "y" = %5
      output "z" = %4
      """,
      """
      %0 = input() {name="x"} : f32[2,3]
      %1 = exp(%0) : f32[2,3]
      %2 = neg(%1) : f32[2,3]
      %3 = add(%2, %2) : f32[2,3]
      output "y" = %3
      output "z" = %2
      """, changed: true)
  }

  @Test func `Identical inputs, variables and constants merge`() throws {
    try expectPass(
      pass,
      """
      %0 = input() {name="x"} : f32[2]
      %1 = input() {name="x"} : f32[2]
      %2 = variable() {var="w"} : f32[2]
      %3 = variable() {var="w"} : f32[2]
      %4 = constant() {splat=1.0} : f32[2]
      %5 = constant() {splat=1.0} : f32[2]
      %6 = select(%0, %2, %4) : f32[2]
      %7 = select(%1, %3, %5) : f32[2]
      output "a" = %6
      output "b" = %7
      """,
      """
      %0 = input() {name="x"} : f32[2]
      %1 = variable() {var="w"} : f32[2]
      %2 = constant() {splat=1.0} : f32[2]
      %3 = select(%0, %1, %2) : f32[2]
      output "a" = %3
      output "b" = %3
      """, changed: true)
  }

  @Test func `Nodes that differ in attributes, operand order or type stay apart`() throws {
    try expectUnchanged(
      pass,
      """
      %0 = input() {name="x"} : f32[2]
      %1 = input() {name="y"} : f32[2]
      %2 = constant() {splat=1.0} : f32[2]
      %3 = constant() {splat=2.0} : f32[2]
      %4 = constant() {splat=1.0} : f32[3]
      %5 = sub(%0, %1) : f32[2]
      %6 = sub(%1, %0) : f32[2]
      %7 = pow(%0) {exponent=2.0} : f32[2]
      %8 = pow(%0) {exponent=3.0} : f32[2]
      output "a" = %5
      output "b" = %6
      output "c" = %7
      output "d" = %8
      """)
  }

  @Test func `Identical assigns and updates are never merged`() throws {
    // Not a valid entry point (each variable is written twice), so run the pass unverified.
    let graph = try Parser.parseGraph(
      """
      %0 = input() {name="x"} : f32[3]
      %1 = constant() {splat=0.1} : f32[]
      %2 = assign(%0) {var="a"} : f32[3]
      %3 = assign(%0) {var="a"} : f32[3]
      %4 = sgd_update(%0, %1) {var="w", momentum=0.9, weight_decay=0.0} : f32[3]
      %5 = sgd_update(%0, %1) {var="w", momentum=0.9, weight_decay=0.0} : f32[3]
      """)
    let result = try pass.run(graph)
    #expect(!result.changed)
    #expect(result.graph == graph)
  }

  @Test func `The first occurrence keeps its location`() throws {
    let graph = try Parser.parseGraph(
      """
      %0 = input() {name="x"} : f32[2] loc("graphs/a.swift":1)
      %1 = exp(%0) : f32[2] loc("graphs/a.swift":2)
      %2 = exp(%0) : f32[2] loc("graphs/a.swift":3)
      output "y" = %2
      """)
    let result = try pass.run(graph)
    #expect(result.graph.nodes.count == 2)
    #expect(
      result.graph.nodes[1].location == GraphIR.SourceLocation(file: "graphs/a.swift", line: 2))
    #expect(result.graph.outputs == [GraphOutput(name: "y", node: NodeID(1))])
  }
}
