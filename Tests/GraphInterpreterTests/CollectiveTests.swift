import GraphCompiler
import GraphIR
import GraphInterpreter
import Testing

/// Collectives on simulated ranks: closed forms, and their gradient rules against central
/// differences of the sum of every rank's loss.
@Suite struct CollectiveTests {
  /// Runs one collective on three ranks; rank q's operand is [2, 2] with elements 10q + i.
  private func collective(_ c: Collective) throws -> [[Double]] {
    var graph = Graph()
    let x = try graph.append(.input("x"), declared: .f32([2, 2]))
    graph.outputs = [GraphOutput(name: "y", node: try graph.append(.collective(c), [x]))]
    let inputs = (0..<3).map { q in ["x": f32([2, 2], (0..<4).map { Double(10 * q + $0) })] }
    var states = Array(repeating: [String: HostTensor](), count: 3)
    return try Interpreter().run(graph, ranks: inputs, states: &states).map { $0["y"]!.scalars }
  }

  @Test func `all_reduce gives every rank the sum`() throws {
    let y = try collective(Collective(.allReduce, ranks: 3))
    #expect(y == Array(repeating: [30, 33, 36, 39], count: 3))
  }

  @Test func `all_gather concatenates in rank order, or from the own rank when rotated`() throws {
    let rows = try collective(Collective(.allGather, ranks: 3))
    #expect(rows == Array(repeating: [0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23], count: 3))
    let columns = try collective(Collective(.allGather, ranks: 3, axis: 1, rotate: true))
    #expect(columns[1] == [10, 11, 20, 21, 0, 1, 12, 13, 22, 23, 2, 3])
    #expect(columns[2] == [20, 21, 0, 1, 10, 11, 22, 23, 2, 3, 12, 13])
  }

  @Test func `reduce_scatter gives each rank its block of the sum`() throws {
    // Over the ranks' [6, 1] operands (rank q: 10q + i), rank r gets rows 2r and 2r + 1 summed.
    var graph = Graph()
    let x = try graph.append(.input("x"), declared: .f32([6, 1]))
    let plain = try graph.append(.collective(Collective(.reduceScatter, ranks: 3)), [x])
    let rotated = try graph.append(
      .collective(Collective(.reduceScatter, ranks: 3, rotate: true)), [x])
    graph.outputs = [
      GraphOutput(name: "plain", node: plain), GraphOutput(name: "rotated", node: rotated),
    ]
    let inputs = (0..<3).map { q in ["x": f32([6, 1], (0..<6).map { Double(10 * q + $0) })] }
    var states = Array(repeating: [String: HostTensor](), count: 3)
    let y = try Interpreter().run(graph, ranks: inputs, states: &states)
    for r in 0..<3 {
      #expect(y[r]["plain"]!.scalars == [Double(30 + 6 * r), Double(33 + 6 * r)])
      // Rotated: rank q's block k belongs to rank (q + k) mod 3, so rank r adds block
      // (r - q) mod 3 of each rank q.
      let expected = (0..<2).map { i in
        (0..<3).map { q in Double(10 * q + 2 * ((r - q + 3) % 3) + i) }.reduce(0, +)
      }
      #expect(y[r]["rotated"]!.scalars == expected)
    }
  }

  @Test func `A collective over more ranks than simulated is an error`() {
    #expect(throws: InterpreterError.self) {
      try collective(Collective(.allReduce, ranks: 2))
    }
  }

  /// Every collective on the way from a rank's input to its loss; the reverse-mode gradient
  /// of each rank (the derivative of the sum of all ranks' losses with respect to the rank's
  /// input) against central differences of that sum.
  @Test func `The gradient rules differentiate the sum of the ranks' losses`() throws {
    let text = """
      %0 = input() {name="x"} : f32[2,3]
      %1 = input() {name="c"} : f32[6,3]
      %2 = all_gather(%0) {axis=0, ranks=3, rotate=true} : f32[6,3]
      %3 = mul(%2, %2) : f32[6,3]
      %4 = mul(%3, %1) : f32[6,3]
      %5 = reduce_scatter(%4) {axis=0, ranks=3, rotate=false} : f32[2,3]
      %6 = all_reduce(%5) {ranks=3} : f32[2,3]
      %7 = exp(%6) : f32[2,3]
      %8 = mul(%7, %0) : f32[2,3]
      %9 = reduce_sum(%8) {axes=[0, 1]} : f32[1,1]
      %10 = reshape(%9) {shape=[]} : f32[]
      %11 = gradient(%10, %0) : f32[2,3]
      output "loss" = %10
      output "grad" = %11
      """
    let graph = try Parser.parseGraph(text)
    let lowered = try Lowering.run(
      Program(name: "p", variables: [], entries: [EntryPoint(name: "f", graph: graph)]))
    let differentiated = try #require(lowered.entry(named: "f")).graph
    var random = TestRandom(seed: 5)
    var inputs = (0..<3).map { _ in
      ["x": random.tensor([2, 3]), "c": f32([6, 3], (0..<18).map { _ in 0.3 * random.next() })]
    }
    func total(_ inputs: [[String: HostTensor]]) throws -> Double {
      var states = Array(repeating: [String: HostTensor](), count: 3)
      return try Interpreter().run(differentiated, ranks: inputs, states: &states)
        .map { $0["loss"]!.scalars[0] }.reduce(0, +)
    }
    var states = Array(repeating: [String: HostTensor](), count: 3)
    let gradients = try Interpreter().run(differentiated, ranks: inputs, states: &states)
      .map { $0["grad"]!.scalars }
    let step = 1e-6
    for rank in 0..<3 {
      for i in 0..<6 {
        let x = inputs[rank]["x"]!.scalars
        var plus = x
        plus[i] += step
        var minus = x
        minus[i] -= step
        inputs[rank]["x"] = f32([2, 3], plus)
        let up = try total(inputs)
        inputs[rank]["x"] = f32([2, 3], minus)
        let down = try total(inputs)
        inputs[rank]["x"] = f32([2, 3], x)
        let numeric = (up - down) / (2 * step)
        let exact = gradients[rank][i]
        #expect(abs(numeric - exact) <= 1e-6 * max(1, abs(exact)), "rank \(rank) x[\(i)]")
      }
    }
  }
}
