import GraphCompiler
import GraphDSL
import GraphIR
import GraphInterpreter
import Testing

/// Builds a one-entry program named "p" whose entry "f" is recorded by `body`, lowers it with
/// the whole pipeline (verifying after each pass) and returns it.
func lowered(training: Bool = false, _ body: (GraphBuilder) -> Void) throws -> Program {
  let builder = ProgramBuilder(name: "p")
  builder.entry("f", training: training, body)
  return try Lowering.run(try builder.build(), verify: true)
}

/// Runs `entry` of `program` on `inputs`, starting from `state` (initial values by default).
func run(
  _ program: Program, entry: String = "f", inputs: [String: HostTensor],
  state: inout [String: HostTensor]
) throws -> [String: HostTensor] {
  let graph = try #require(program.entry(named: entry)).graph
  return try Interpreter().run(graph, inputs: inputs, state: &state)
}

/// Deterministic test data in [-1, 1) (an LCG, independent of the code under test).
struct TestRandom {
  var state: UInt64

  init(seed: UInt64) { state = seed }

  mutating func next() -> Double {
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return Double(state >> 11) * 0x1p-52 - 1
  }

  mutating func values(_ count: Int) -> [Double] { (0..<count).map { _ in next() } }
}
