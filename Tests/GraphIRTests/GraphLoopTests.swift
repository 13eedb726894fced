import GraphIR
import Testing

/// `GraphLoop`: which nodes a declared loop repeats, the rules the verifier holds it to, and the
/// graph with its body written out.
@Suite struct GraphLoopTests {
  /// x -> a = 2x (before the loop, loop.in) -> b = a * x, c = b + x (the body, c loop.out) ->
  /// d = c * c (after it).
  static func graph() throws -> (Graph, [NodeID]) {
    var g = Graph()
    let x = try g.append(.input("x"), declared: .f32([3]))
    let two = try g.append(.constant(.splat(2)), declared: .f32([3]))
    let a = try g.append(.binary(.mul), [two, x])
    let b = try g.append(.binary(.mul), [a, x])
    let c = try g.append(.binary(.add), [b, x])
    let d = try g.append(.binary(.mul), [c, c])
    g.outputs = [
      GraphOutput(name: "loop.in.v", node: a), GraphOutput(name: "loop.out.v", node: c),
      GraphOutput(name: "d", node: d),
    ]
    return (g, [x, two, a, b, c, d])
  }

  @Test func theBodyIsWhatTheCarriedValuesNeedFromTheLoopInputs() throws {
    let (g, ids) = try Self.graph()
    let loop = try #require(try g.loop())
    #expect(loop.body == [ids[3], ids[4]])
    #expect(loop.after == [ids[5]])
    #expect(loop.carries.map(\.name) == ["v"])
    #expect(loop.carries.map(\.input) == [ids[2]] && loop.carries.map(\.output) == [ids[4]])
  }

  /// Written out, the body applies v -> v * x + x `times` times to 2x (closed form below).
  @Test(arguments: [0, 1, 2, 3])
  func repeatingTheLoopAppliesTheBodyThatManyTimes(times: Int) throws {
    let (g, _) = try Self.graph()
    let repeated = try g.repeatingLoop(times)
    try Verifier().verify(repeated)
    #expect(repeated.nodes.count == 4 + 2 * times)  // x, 2, a, d and b, c per repetition
    var v = 2.0 * 3
    for _ in 0..<times { v = v * 3 + 3 }
    // Evaluate by hand at x = 3: each node is a product or a sum of earlier ones.
    var values: [Double] = []
    for node in repeated.nodes {
      switch node.op {
      case .input: values.append(3)
      case .constant: values.append(2)
      case .binary(.mul):
        values.append(values[node.operands[0].index] * values[node.operands[1].index])
      case .binary(.add):
        values.append(values[node.operands[0].index] + values[node.operands[1].index])
      default: Issue.record("unexpected \(node.op)")
      }
    }
    #expect(repeated.outputs.map(\.name) == ["d"])
    #expect(try repeated.loop() == nil)
    #expect(values[repeated.output(named: "d")!.index] == v * v)
  }

  @Test func theVerifierRefusesAReadOfTheBodyFromOutsideIt() throws {
    var (g, ids) = try Self.graph()
    let e = try g.append(.binary(.mul), [ids[3], ids[3]])  // reads b, no loop.out value
    g.outputs.append(GraphOutput(name: "e", node: e))
    #expect(throws: IRError.self) { try Verifier().verify(g) }
    #expect(throws: (any Error).self) { _ = try g.loop() }
  }

  @Test func theVerifierRefusesAReadOfACarriedInputAfterTheLoop() throws {
    var (g, ids) = try Self.graph()
    let e = try g.append(.binary(.mul), [ids[2], ids[5]])  // a, which repetitions overwrite
    g.outputs.append(GraphOutput(name: "e", node: e))
    do {
      _ = try g.loop()
      Issue.record("accepted")
    } catch {
      #expect(error.message.contains("loop.in value %2"), "\(error.message)")
    }
  }

  @Test func theVerifierRefusesAnUnpairedOrMistypedCarry() throws {
    var (g, ids) = try Self.graph()
    g.outputs.removeAll { $0.name == "loop.out.v" }
    #expect(throws: IRError.self) { try Verifier().verify(g) }
    (g, ids) = try Self.graph()
    let wide = try g.append(.broadcast([2, 3]), [ids[4]])
    g.outputs[1] = GraphOutput(name: "loop.out.v", node: wide)
    #expect(throws: IRError.self) { try Verifier().verify(g) }
  }
}
