import GraphIR
import GraphInterpreter
import Testing

@Suite struct InterpreterTests {
  /// Reads `v`, assigns `v + 1` to it and outputs both the value read and the new value.
  let increment = """
    %0 = variable() {var="v"} : f32[2]
    %1 = constant() {splat=1.0} : f32[2]
    %2 = add(%0, %1) : f32[2]
    %3 = assign(%2) {var="v"} : f32[2]
    output "old" = %0
    output "new" = %2
    """

  /// Catches the error `body` throws, failing the test when it throws none.
  func message(_ body: () throws -> Void) -> String {
    let error = #expect(throws: InterpreterError.self) { try body() }
    return error?.description ?? ""
  }

  @Test func `a textual graph runs on its inputs`() throws {
    let outputs = try run(
      """
      %0 = input() {name="x"} : f32[2,3]
      %1 = exp(%0) : f32[2,3]
      %2 = reduce_sum(%1) {axes=[0,1]} : f32[1,1]
      output "y" = %1
      output "total" = %2
      """, ["x": f32([2, 3], [0, 0, 0, 0, 0, 0])])
    #expect(outputs["y"] == f32([2, 3], [1, 1, 1, 1, 1, 1]))
    #expect(outputs["total"] == f32([1, 1], [6]))
  }

  @Test func `a value read by several later nodes stays available to each`() throws {
    let outputs = try run(
      """
      %0 = input() {name="x"} : f32[2]
      %1 = mul(%0, %0) : f32[2]
      %2 = add(%1, %0) : f32[2]
      %3 = sub(%2, %1) : f32[2]
      output "y" = %3
      output "square" = %1
      """, ["x": f32([2], [3, -4])])
    #expect(outputs["y"] == f32([2], [3, -4]))
    #expect(outputs["square"] == f32([2], [9, 16]))
  }

  @Test func `an entry that assigns a variable still reads its old value`() throws {
    var state = ["v": f32([2], [1, 2])]
    let outputs = try Interpreter().run(
      Parser.parseGraph(increment), inputs: [:], state: &state)
    #expect(outputs["old"] == f32([2], [1, 2]))
    #expect(outputs["new"] == f32([2], [2, 3]))
    #expect(state["v"] == f32([2], [2, 3]))
    _ = try Interpreter().run(Parser.parseGraph(increment), inputs: [:], state: &state)
    #expect(state["v"] == f32([2], [3, 4]))
  }

  @Test func `assignments are applied in parallel so two variables can swap`() throws {
    let swap = try Parser.parseGraph(
      """
      %0 = variable() {var="a"} : f32[]
      %1 = variable() {var="b"} : f32[]
      %2 = assign(%1) {var="a"} : f32[]
      %3 = assign(%0) {var="b"} : f32[]
      """)
    var state = ["a": HostTensor(scalar: 1), "b": HostTensor(scalar: 2)]
    let outputs = try Interpreter().run(swap, inputs: [:], state: &state)
    #expect(outputs.isEmpty)
    #expect(state == ["a": HostTensor(scalar: 2), "b": HostTensor(scalar: 1)])
  }

  @Test func `a missing input is named with its expected type`() throws {
    let text = message { _ = try run("%0 = input() {name=\"x\"} : f32[2,3]\noutput \"y\" = %0") }
    #expect(text.contains("missing input 'x'"))
    #expect(text.contains("f32[2,3]"))
  }

  @Test func `an input of the wrong type is named with expected and actual types`() throws {
    let graph = "%0 = input() {name=\"x\"} : f32[2,3]\noutput \"y\" = %0"
    let text = message { _ = try run(graph, ["x": f32([3, 2], [0, 0, 0, 0, 0, 0])]) }
    #expect(text.contains("input 'x' expected type f32[2,3], got f32[3,2]"))
    let labels = message {
      _ = try run(graph, ["x": HostTensor(.i32([2, 3]), [0, 0, 0, 0, 0, 0])])
    }
    #expect(labels.contains("got i32[2,3]"))
  }

  @Test func `a missing or mistyped variable is named and leaves the state untouched`() throws {
    let graph = try Parser.parseGraph(increment)
    var empty: [String: HostTensor] = [:]
    let missing = message { _ = try Interpreter().run(graph, inputs: [:], state: &empty) }
    #expect(missing.contains("missing variable 'v'"))
    var state = ["v": f32([3], [1, 2, 3])]
    let mistyped = message { _ = try Interpreter().run(graph, inputs: [:], state: &state) }
    #expect(mistyped.contains("variable 'v' expected type f32[2], got f32[3]"))
    #expect(state == ["v": f32([3], [1, 2, 3])])
  }

  @Test func `gradient nodes must be lowered before interpretation`() throws {
    let text = message {
      _ = try run(
        """
        %0 = input() {name="x"} : f32[]
        %1 = mul(%0, %0) : f32[]
        %2 = gradient(%1, %0) : f32[]
        output "dx" = %2
        """, ["x": HostTensor(scalar: 3)])
    }
    #expect(text.contains("gradient"))
    #expect(text.contains("lowered first"))
    #expect(text.contains("DifferentiateGradients"))
  }

  @Test func `an optimizer update without its slots in the state names the missing slot`() throws {
    var graph = Graph()
    let w = try graph.append(.variable("w"), declared: .f32([2]))
    let rate = try graph.append(.constant(.splat(0.1)), declared: .scalar)
    try graph.append(.update(UpdateRule(kind: .sgd, variable: "w")), [w, rate])
    var state = ["w": f32([2], [1, 2])]
    let text = message { _ = try Interpreter().run(graph, inputs: [:], state: &state) }
    #expect(text.contains("'w.momentum'"))
    #expect(text.contains("DeclareOptimizerSlots"))
    #expect(state["w"] == f32([2], [1, 2]))
  }

  @Test func `an optimizer update writes its parameter and slots after every read`() throws {
    var graph = Graph()
    let w = try graph.append(.variable("w"), declared: .f32([2]))
    let rate = try graph.append(.constant(.splat(0.1)), declared: .scalar)
    try graph.append(.update(UpdateRule(kind: .sgd, variable: "w", momentum: 0.5)), [w, rate])
    graph.outputs = [GraphOutput(name: "w", node: w)]
    var state = ["w": f32([2], [1, 2]), "w.momentum": f32([2], [2, 0])]
    let outputs = try Interpreter().run(graph, inputs: [:], state: &state)
    // The gradient is w itself: v' = 0.5 v + w, w' = w - 0.1 v'; the output saw the old w.
    #expect(outputs["w"] == f32([2], [1, 2]))
    #expect(state["w.momentum"] == f32([2], [2, 2]))
    #expect(state["w"] == f32([2], [1 - 0.1 * 2, 2 - 0.1 * 2]))
  }

  @Test func `a node whose declared type disagrees with its shape rule is rejected`() throws {
    let text = message {
      _ = try run(
        """
        %0 = input() {name="x"} : f32[2]
        %1 = reduce_sum(%0) {axes=[0]} : f32[2]
        output "y" = %1
        """, ["x": f32([2], [1, 2])])
    }
    #expect(text.contains("%1 = reduce_sum"))
    #expect(text.contains("does not match inferred f32[1]"))
  }

  @Test func `the initial state materializes every variable initializer`() throws {
    let program = try Parser.parseProgram(
      """
      program "p"
      variable "w" : f32[3,4] parameter normal(0.5, 42)
      variable "b" : f32[4] parameter zeros
      variable "g" : f32[4] parameter constant(1.0)
      variable "u" : f32[5] parameter uniform(0.1, 7)
      """)
    let state = initialState(for: program)
    #expect(state.count == 4)
    #expect(state["w"]?.type == .f32([3, 4]))
    #expect(state["w"]?.scalars == Initializer.normal(std: 0.5, seed: 42).values(count: 12))
    #expect(state["b"] == HostTensor(zeros: .f32([4])))
    #expect(state["g"] == f32([4], [1, 1, 1, 1]))
    #expect(state["u"]?.scalars == Initializer.uniform(bound: 0.1, seed: 7).values(count: 5))
    #expect(Interpreter.initialState(for: program) == state)
  }
}
