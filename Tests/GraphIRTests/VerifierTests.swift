import GraphIR
import Testing

@Suite struct VerifierTests {
  /// The description of the error verifying `graph` throws, or nil (recording an issue).
  private func verifyError(
    _ graph: Graph, variables: [String: TensorType]? = nil,
    sourceLocation: Testing.SourceLocation = #_sourceLocation
  ) -> String? {
    let error = #expect(throws: IRError.self, sourceLocation: sourceLocation) {
      try Verifier().verify(graph, variables: variables)
    }
    return error?.description
  }

  private func programError(
    _ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation
  ) throws -> String? {
    let program = try Parser.parseProgram(text)
    let error = #expect(throws: IRError.self, sourceLocation: sourceLocation) {
      try Verifier().verify(program)
    }
    return error?.description
  }

  @Test func `A conv2d whose channels differ names the location and both shapes`() throws {
    let graph = try Parser.parseGraph(
      """
      %0 = input() {name="x"} : f32[2,3,8,8]
      %1 = variable() {var="w"} : f32[16,4,3,3]
      %2 = conv2d(%0, %1) {stride=1, padding=1} : f32[2,16,8,8] loc("graphs/cnn.swift":42)
      """)
    let error = try #require(verifyError(graph))
    for fragment in ["graphs/cnn.swift:42", "f32[2,3,8,8]", "f32[16,4,3,3]", "conv2d", "channels"] {
      #expect(error.contains(fragment), "\(error)")
    }
  }

  @Test func `Collectives over different numbers of ranks in one graph are rejected`() throws {
    let graph = try Parser.parseGraph(
      """
      %0 = input() {name="x"} : f32[4]
      %1 = all_reduce(%0) {ranks=2} : f32[4]
      %2 = all_gather(%1) {axis=0, ranks=4, rotate=false} : f32[16]
      """)
    let error = try #require(verifyError(graph))
    #expect(error.contains("over 4 ranks") && error.contains("%1 is over 2"), "\(error)")
  }

  @Test func `A matmul with mismatched inner sizes names both shapes`() throws {
    let graph = try Parser.parseGraph(
      """
      %0 = input() {name="a"} : f32[2,3]
      %1 = input() {name="b"} : f32[4,5]
      %2 = matmul(%0, %1) {transpose_a=false, transpose_b=false} : f32[2,5]
      """)
    let error = try #require(verifyError(graph))
    for fragment in ["f32[2,3]", "f32[4,5]", "inner sizes differ"] {
      #expect(error.contains(fragment), "\(error)")
    }
  }

  @Test func `An assign to an undeclared variable names the variable`() throws {
    let error = try #require(
      try programError(
        """
        program "p"
        variable "w" : f32[2] parameter zeros
        entry "step" {
          %0 = input() {name="x"} : f32[2]
          %1 = assign(%0) {var="velocity"} : f32[2]
        }
        """))
    #expect(error.contains("'velocity'") && error.contains("not declared"), "\(error)")
    #expect(error.contains("in entry 'step'"), "\(error)")
  }

  @Test func `A variable used with a type other than its declaration is rejected`() throws {
    let error = try #require(
      try programError(
        """
        program "p"
        variable "w" : f32[2] parameter zeros
        entry "e" {
          %0 = variable() {var="w"} : f32[3]
          output "y" = %0
        }
        """))
    #expect(error.contains("declared f32[2] but used as f32[3]"), "\(error)")
  }

  @Test func `An operand used before its definition is rejected`() throws {
    var graph = Graph()
    let x = try graph.append(.input("x"), declared: .f32([2]))
    graph.nodes.append(Node(op: .unary(.exp), operands: [NodeID(2)], type: .f32([2])))
    graph.nodes.append(Node(op: .unary(.neg), operands: [x], type: .f32([2])))
    let error = try #require(verifyError(graph))
    #expect(error.contains("%1: operand %2 is not defined before its use"), "\(error)")
  }

  @Test func `A node using itself is rejected`() throws {
    let graph = Graph(nodes: [Node(op: .unary(.exp), operands: [NodeID(0)], type: .f32([2]))])
    let error = try #require(verifyError(graph))
    #expect(error.contains("not defined before its use"), "\(error)")
  }

  @Test func `Two writes to one variable are rejected`() throws {
    let error = try #require(
      try programError(
        """
        program "p"
        variable "w" : f32[2] parameter zeros
        entry "step" {
          %0 = input() {name="x"} : f32[2]
          %1 = assign(%0) {var="w"} : f32[2]
          %2 = exp(%0) : f32[2]
          %3 = assign(%2) {var="w"} : f32[2] loc("graphs/p.swift":9)
        }
        """))
    #expect(error.contains("'w' is written twice"), "\(error)")
    #expect(error.contains("graphs/p.swift:9"), "\(error)")
  }

  @Test func `Undeclared variables used with two types are rejected`() throws {
    let graph = try Parser.parseGraph(
      """
      %0 = variable() {var="w"} : f32[2]
      %1 = variable() {var="w"} : f32[3]
      """)
    let error = try #require(verifyError(graph))
    #expect(error.contains("'w'") && error.contains("two types"), "\(error)")
  }

  @Test func `Outputs must be unique and not name a state update`() throws {
    let twice = try Parser.parseGraph(
      """
      %0 = input() {name="x"} : f32[2]
      output "y" = %0
      output "y" = %0
      """)
    #expect(verifyError(twice)?.contains("output 'y' is named twice") == true)
    let update = try Parser.parseGraph(
      """
      %0 = input() {name="x"} : f32[2]
      %1 = assign(%0) {var="w"} : f32[2]
      output "y" = %1
      """)
    #expect(verifyError(update)?.contains("refers to a state update") == true)
  }

  @Test func `A valid program is accepted`() throws {
    let program = try Parser.parseProgram(
      """
      program "p"
      variable "w" : f32[3,2] parameter normal(0.1, 7)
      variable "w.momentum" : f32[3,2] slot zeros

      entry "train" {
        %0 = input() {name="x"} : f32[4,3]
        %1 = variable() {var="w"} : f32[3,2]
        %2 = matmul(%0, %1) {transpose_a=false, transpose_b=false} : f32[4,2]
        %3 = reduce_mean(%2) {axes=[0,1]} : f32[1,1]
        %4 = reshape(%3) {shape=[]} : f32[]
        %5 = gradient(%4, %1) : f32[3,2]
        %6 = constant() {splat=0.1} : f32[]
        %7 = sgd_update(%5, %6) {var="w", momentum=0.9, weight_decay=0.0} : f32[3,2]
        output "loss" = %4
      }

      entry "predict" {
        %0 = input() {name="x"} : f32[4,3]
        %1 = variable() {var="w"} : f32[3,2]
        %2 = matmul(%0, %1) {transpose_a=false, transpose_b=false} : f32[4,2]
        output "y" = %2
      }
      """)
    try Verifier().verify(program)
  }
}
