import GraphCompiler
import GraphIR
import Testing

/// Appends an unused constant and always reports a change.
private struct AppendConstant: GraphPass {
  var name: String { "append-constant" }
  func run(_ graph: Graph) throws(IRError) -> PassResult {
    var graph = graph
    try graph.append(.constant(.splat(0)), declared: .scalar)
    return PassResult(graph: graph, changed: true)
  }
}

/// Breaks the graph by giving its last node a wrong type.
private struct CorruptType: GraphPass {
  var name: String { "corrupt-type" }
  func run(_ graph: Graph) throws(IRError) -> PassResult {
    var graph = graph
    graph.nodes[graph.nodes.count - 1].type = .f32([99])
    return PassResult(graph: graph, changed: true)
  }
}

@Suite struct PipelineTests {
  let printer = Printer(includeLocations: false)

  @Test func `Simplification repeats the passes until the graph stops changing`() throws {
    let graph = try Parser.parseGraph(
      """
      %0 = input() {name="x"} : f32[2,3]
      %1 = constant() {splat=1.0} : f32[]
      %2 = constant() {splat=1.0} : f32[]
      %3 = add(%1, %2) : f32[]
      %4 = constant() {splat=0.5} : f32[]
      %5 = mul(%3, %4) : f32[]
      %6 = broadcast(%5) {shape=[2,3]} : f32[2,3]
      %7 = mul(%0, %6) : f32[2,3]
      %8 = exp(%7) : f32[2,3]
      %9 = exp(%0) : f32[2,3]
      %10 = add(%8, %9) : f32[2,3]
      output "y" = %10
      """)
    let result = try Pipeline.simplification.run(graph)
    check(
      printer.print(result),
      """
      CHECK: %0 = input()
      CHECK-NEXT: %1 = exp(%0)
      CHECK-NEXT: %2 = add(%1, %1)
      CHECK-NEXT: output "y" = %2
      CHECK-NOT: constant
      """)
  }

  @Test func `A program is simplified entry by entry and keeps its state updates`() throws {
    let program = try Parser.parseProgram(
      """
      program "p"
      variable "w" : f32[2] parameter zeros

      entry "step" {
        %0 = variable() {var="w"} : f32[2]
        %1 = constant() {splat=0.0} : f32[2]
        %2 = add(%0, %1) : f32[2]
        %3 = assign(%2) {var="w"} : f32[2]
      }

      entry "predict" {
        %0 = variable() {var="w"} : f32[2]
        %1 = neg(%0) : f32[2]
        %2 = neg(%1) : f32[2]
        output "y" = %2
      }
      """)
    let result = try Pipeline.simplification.run(program)
    #expect(result.variables == program.variables)
    check(
      printer.print(result),
      """
      CHECK: entry "step"
      CHECK-NEXT: %0 = variable() {var="w"}
      CHECK-NEXT: %1 = assign(%0) {var="w"}
      CHECK: entry "predict"
      CHECK-NEXT: %0 = variable() {var="w"}
      CHECK-NEXT: output "y" = %0
      """)
  }

  @Test func `Verification after each pass names the pass that broke the graph`() throws {
    let graph = try Parser.parseGraph(
      """
      %0 = input() {name="x"} : f32[2]
      %1 = exp(%0) : f32[2]
      output "y" = %1
      """)
    let error = #expect(throws: IRError.self) {
      try Pipeline([CorruptType()]).run(graph)
    }
    #expect(error?.message.contains("after corrupt-type") == true)
    let unverified = try Pipeline([CorruptType()], verifyEachPass: false).run(graph)
    #expect(unverified.nodes[1].type == .f32([99]))
  }

  @Test func `Program verification checks variables against their declarations`() throws {
    let program = try Parser.parseProgram(
      """
      program "p"
      variable "w" : f32[2] parameter zeros

      entry "step" {
        %0 = input() {name="x"} : f32[3]
        %1 = assign(%0) {var="v"} : f32[3]
      }
      """)
    let error = #expect(throws: IRError.self) {
      try Pipeline.simplification.run(program)
    }
    #expect(error?.message.contains("in entry 'step'") == true)
    #expect(error?.message.contains("'v'") == true)
  }

  @Test func `A pass that always reports a change runs at most max rounds times`() throws {
    let graph = try Parser.parseGraph(#"%0 = input() {name="x"} : f32[2]"#)
    let result = try Pipeline([AppendConstant()], maxRounds: 8).run(graph)
    #expect(result.nodes.count == 9)
    #expect(try Pipeline([AppendConstant()]).run(graph).nodes.count == 2)
  }

  @Test func `The simplification pipeline leaves a simplified graph alone`() throws {
    let text = """
      %0 = input() {name="x"} : f32[2]
      %1 = exp(%0) : f32[2]
      output "y" = %1
      """
    let result = try Pipeline.simplification.run(try Parser.parseGraph(text))
    #expect(printer.print(result) == text)
  }
}
