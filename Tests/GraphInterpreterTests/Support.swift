import GraphIR
import GraphInterpreter
import Testing

/// Runs a single op on the given operands (fed as inputs "x0", "x1", ...) and returns its
/// result, named "y". Leaf ops take `declared` as their type.
func evaluate(_ op: Op, _ operands: [HostTensor] = [], declared: TensorType? = nil) throws
  -> HostTensor
{
  var graph = Graph()
  var ids: [NodeID] = []
  var inputs: [String: HostTensor] = [:]
  for (index, operand) in operands.enumerated() {
    ids.append(try graph.append(.input("x\(index)"), declared: operand.type))
    inputs["x\(index)"] = operand
  }
  let result = try graph.append(op, ids, declared: declared)
  graph.outputs = [GraphOutput(name: "y", node: result)]
  var state: [String: HostTensor] = [:]
  let outputs = try Interpreter().run(graph, inputs: inputs, state: &state)
  return try #require(outputs["y"])
}

/// Runs a graph in textual IR with no state.
func run(_ text: String, _ inputs: [String: HostTensor] = [:]) throws -> [String: HostTensor] {
  var state: [String: HostTensor] = [:]
  return try Interpreter().run(Parser.parseGraph(text), inputs: inputs, state: &state)
}

/// A float tensor of the given shape.
func f32(_ shape: [Int], _ scalars: [Double]) -> HostTensor {
  HostTensor(.f32(shape), scalars)
}

/// Deterministic pseudo-random test data (an LCG, independent of the code under test).
struct TestRandom {
  var state: UInt64

  init(seed: UInt64) { state = seed }

  /// A value in [-1, 1).
  mutating func next() -> Double {
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return Double(state >> 11) * 0x1p-52 - 1
  }

  mutating func tensor(_ shape: [Int]) -> HostTensor {
    let count = shape.reduce(1, *)
    return f32(shape, (0..<count).map { _ in next() })
  }
}

/// The sum of elementwise products.
func dot(_ a: [Double], _ b: [Double]) -> Double {
  zip(a, b).map { $0 * $1 }.reduce(0, +)
}

/// Whether two arrays agree elementwise to within `tolerance`, relative to their magnitude.
func isClose(_ a: [Double], _ b: [Double], tolerance: Double = 1e-9) -> Bool {
  a.count == b.count
    && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance * max(1, abs($0), abs($1)) }
}
