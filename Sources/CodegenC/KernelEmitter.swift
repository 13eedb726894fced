import GraphCompiler
import GraphIR

/// Emits one fused kernel as a static C function: one `restrict` pointer per buffer, named by
/// position, and one loop nest (or library call) per stored value. The same computation in
/// another entry (or at another inner step) prints the same text, so it is emitted once.
struct KernelEmitter {
  let graph: Graph
  let members: [NodeID]
  let names: BufferNames
  /// Whether the kernel takes a scratch range of the arena (`scratch`, and `scratch_bytes` for
  /// channels-last convolutions, whose range is what the memory plan left free).
  let hasScratch: Bool
  /// Whether the kernel takes the batch size `n` (its text depends on it).
  var takesBatch = false
  /// In-place stores of the entry (value -> the operand whose buffer it takes).
  var inPlace: [NodeID: NodeID] = [:]
  /// Parallelise loops over at least this many elements.
  static let parallelThreshold = 32768

  /// The pragma of a loop run in parallel because it covers `total` elements. The condition
  /// is printed so that, where `total` depends on the batch size, the generic kernel decides at
  /// run time (`KernelLibrary` drops it where the count turned out fixed).
  /// With `simd` the condition names `parallel`: unqualified, it would also apply to `simd`,
  /// and clang would leave the single-thread loop scalar.
  static func parallelFor(_ total: Int, collapse: Bool = false, simd: Bool = false) -> String {
    "#pragma omp parallel for\(simd ? " simd" : "")\(collapse ? " collapse(2)" : "")"
      + " if(\(simd ? "parallel: " : "")\(total) >= \(parallelThreshold))"
  }

  /// `constants`: the C names of the program's constant arrays the kernel may read.
  init(
    graph: Graph, members: [NodeID], constants: [NodeID: String], inPlace: [NodeID: NodeID]
  ) {
    self.graph = graph
    self.members = members
    hasScratch = members.contains {
      PlanMemory.isChannelsLastConvolution(graph[$0])
        || PlanMemory.scratchBytes(graph[$0], graph) > 0
    }
    self.inPlace = inPlace
    names = BufferNames(
      inputs: Self.inputs(of: members, in: graph), outputs: members, constants: constants)
  }

  /// Expressions are evaluated in double and rounded once when stored, so a fused chain is as
  /// accurate as the float64 interpreter followed by one rounding (and bitwise equal to it in
  /// the kernel checks, except through libm, BLAS and sums whose double additions `omp simd`
  /// reorders).
  var expressions: ExpressionEmitter {
    ExpressionEmitter(graph: graph, names: names, inDouble: true)
  }

  /// Buffers the kernel reads but does not write, in node order (static constants excluded).
  var inputs: [NodeID] { Self.inputs(of: members, in: graph) }

  static func inputs(of members: [NodeID], in graph: Graph) -> [NodeID] {
    var result = Set<NodeID>()
    for id in members { result.formUnion(graph.storedInputs(of: id)) }
    return result.subtracting(members).filter { graph[$0].op.fusionRole != .constant }.sorted()
  }

  /// The parameter list: the batch size if used, read-only inputs, the stored values, then
  /// scratch. Buffers shared by an in-place update are not `restrict`.
  var parameters: [String] {
    let shared = Set(inPlace.filter { members.contains($0.key) }.flatMap { [$0.key, $0.value] })
    func qualifier(_ id: NodeID) -> String { shared.contains(id) ? "*" : "*restrict " }
    var result = takesBatch ? ["int64_t n"] : []
    result += inputs.map { id in
      "const \(BufferNames.elementType(graph[id].type)) \(qualifier(id))\(names.buffer(id)!)"
    }
    result += members.map { "float \(qualifier($0))\(names.buffer($0)!)" }
    if hasScratch { result.append("float *restrict scratch") }
    if takesSpareBytes { result.append("int64_t scratch_bytes") }
    return result
  }

  /// The number of pointer parameters (buffers and scratch).
  var buffers: Int { inputs.count + members.count + (hasScratch ? 1 : 0) }

  /// Whether the scratch is a spare range whose size is an argument (channels-last
  /// convolutions).
  var takesSpareBytes: Bool {
    members.contains { PlanMemory.isChannelsLastConvolution(graph[$0]) }
  }

  /// The op that names the kernel: its library call or reduction, else its last member.
  var mnemonic: String {
    let main =
      members.last {
        graph[$0].op.fusionRole == .library || graph[$0].op.fusionRole == .reduction
      } ?? members.last!
    return CSyntax.identifier(graph[main].op.mnemonic)
  }

  /// One line of provenance: the ops it computes and the source line they come from.
  var provenance: String {
    var ops: [String] = []
    for id in members where !ops.contains(graph[id].op.mnemonic) {
      ops.append(graph[id].op.mnemonic)
    }
    let location = members.compactMap { graph[$0].location }.first.map { " (\($0))" } ?? ""
    return ops.joined(separator: ", ") + " -> \(graph[members.last!].type)" + location
  }

  /// The function, named `name`.
  func emit(named name: String, into code: inout CodePrinter) {
    code.block("static void \(name)(", wrapping: parameters) { code in
      for nest in LoopNest.group(members, graph: graph, inPlace: inPlace) {
        switch nest.kind {
        case .single: emitMember(nest.members[0], into: &code)
        case .loops(let shape, let axes):
          emitNest(nest, shape: shape, axes: axes, into: &code)
        }
      }
    }
  }

  /// A library call or a scalar store: one of its own.
  private func emitMember(_ id: NodeID, into code: inout CodePrinter) {
    switch graph[id].op.fusionRole {
    case .library:
      LibraryCall(graph: graph, names: names, hasScratch: hasScratch).emit(id, into: &code)
    default:
      let shape = graph[id].type.shape
      code.line(
        "\(names.buffer(id)!)[0] = (float)\(expressions.definition(id, at: shape.map { _ in "0" }));"
      )
    }
  }
}
