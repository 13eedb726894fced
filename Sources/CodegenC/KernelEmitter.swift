import GraphCompiler
import GraphIR

/// Emits one fused kernel as a static C function: a comment with shapes and source nodes, one
/// `restrict` pointer per buffer, and one loop nest (or library call) per stored value.
struct KernelEmitter {
  let graph: Graph
  let names: BufferNames
  let members: [NodeID]
  let name: String
  let hasScratch: Bool
  /// In-place stores of the entry (value -> the operand whose buffer it takes).
  var inPlace: [NodeID: NodeID] = [:]
  /// Parallelise loops over at least this many elements.
  static let parallelThreshold = 32768

  /// Expressions are evaluated in double and rounded once when stored, so a fused chain is as
  /// accurate as the float64 interpreter followed by one rounding (and bitwise equal to it in
  /// the kernel checks, except through libm and BLAS).
  var expressions: ExpressionEmitter {
    ExpressionEmitter(graph: graph, names: names, inDouble: true)
  }

  /// Buffers the kernel reads but does not write, in node order (static constants excluded).
  var inputs: [NodeID] {
    var result = Set<NodeID>()
    for id in members { result.formUnion(graph.storedInputs(of: id)) }
    return result.subtracting(members).filter { graph[$0].op.fusionRole != .constant }.sorted()
  }

  /// The parameter list: read-only inputs, then the stored values, then scratch. Buffers
  /// shared by an in-place update are not `restrict`.
  var parameters: [String] {
    let shared = Set(inPlace.filter { members.contains($0.key) }.flatMap { [$0.key, $0.value] })
    func qualifier(_ id: NodeID) -> String { shared.contains(id) ? "*" : "*restrict " }
    var result = inputs.map { id in
      "const \(BufferNames.elementType(graph[id].type)) \(qualifier(id))\(names.buffer(id)!)"
    }
    result += members.map { "float \(qualifier($0))\(names.buffer($0)!)" }
    if hasScratch { result.append("float *restrict scratch") }
    return result
  }

  func emit(into code: inout CodePrinter) {
    code.line("/* \(name): " + members.map(describe).joined(separator: "; "))
    if let location = members.compactMap({ graph[$0].location }).first {
      code.line(" * from \(location)")
    }
    code.line(" */")
    code.block("static void \(name)(\(parameters.joined(separator: ", ")))") { code in
      for id in members { emitMember(id, into: &code) }
    }
  }

  private func describe(_ id: NodeID) -> String {
    let node = graph[id]
    let operands = node.operands.map { "\($0) \(graph[$0].type)" }.joined(separator: ", ")
    return "\(id) = \(node.op.mnemonic)(\(operands)) : \(node.type)"
  }

  private func emitMember(_ id: NodeID, into code: inout CodePrinter) {
    switch graph[id].op.fusionRole {
    case .library: LibraryCall(graph: graph, names: names).emit(id, into: &code)
    case .reduction: emitReduction(id, into: &code)
    default: emitElementwise(id, into: &code)
    }
  }

  /// `out[i] = expression(i)` over the value's shape, as one flat loop when every read is at
  /// the same flat index, else one loop per dimension.
  private func emitElementwise(_ id: NodeID, into code: inout CodePrinter) {
    let type = graph[id].type
    let out = names.buffer(id)!
    if type.elementCount == 1 {
      code.line(
        "\(out)[0] = (float)\(expressions.definition(id, at: type.shape.map { _ in "0" }));")
      return
    }
    if expressions.isFlat(id) {
      if type.elementCount >= Self.parallelThreshold { code.line("#pragma omp parallel for") }
      code.block("for (int64_t i = 0; i < \(type.elementCount); i++)") { code in
        code.line("\(out)[i] = (float)\(expressions.definition(id, flatAt: "i"));")
      }
      return
    }
    let view = type.shape.indices.map { type.shape[$0] == 1 ? "0" : "i\($0)" }
    let loops = type.shape.indices.filter { type.shape[$0] > 1 }
    emitLoops(
      loops, shape: type.shape, parallel: type.elementCount >= Self.parallelThreshold, into: &code
    ) {
      code in
      code.line(
        "\(out)[\(ExpressionEmitter.offset(type.shape, view))] = (float)\(expressions.definition(id, at: view));"
      )
    }
  }

  /// Kept dimensions outside (in parallel), reduced dimensions inside, accumulating in double
  /// in a fixed order so results do not depend on the thread count.
  private func emitReduction(_ id: NodeID, into code: inout CodePrinter) {
    guard case .reduce(let op, let axes) = graph[id].op else { return }
    let operand = graph[id].operands[0]
    let shape = graph[operand].type.shape
    let view = shape.indices.map { shape[$0] == 1 ? "0" : "i\($0)" }
    let kept = shape.indices.filter { shape[$0] > 1 && !axes.contains($0) }
    let reduced = shape.indices.filter { shape[$0] > 1 && axes.contains($0) }
    let outView = shape.indices.map { axes.contains($0) ? "0" : view[$0] }
    let out = "\(names.buffer(id)!)[\(ExpressionEmitter.offset(graph[id].type.shape, outView))]"
    let count = axes.reduce(1) { $0 * shape[$1] }
    let body = expressionsValue(operand, view)
    let parallel =
      graph[id].type.elementCount > 1 && graph[operand].type.elementCount >= Self.parallelThreshold
    emitLoops(kept, shape: shape, parallel: parallel, into: &code) { code in
      code.line(op == .max ? "double acc = -INFINITY;" : "double acc = 0.0;")
      emitLoops(reduced, shape: shape, parallel: false, into: &code) { code in
        code.line(op == .max ? "acc = fmax(acc, \(body));" : "acc += \(body);")
      }
      switch op {
      case .sum: code.line("\(out) = (float)acc;")
      case .mean: code.line("\(out) = (float)(acc / \(count).0);")
      case .max: code.line("\(out) = (float)acc;")
      }
    }
  }

  private func expressionsValue(_ id: NodeID, _ view: [String]) -> String {
    expressions.value(id, at: view)
  }

  private func emitLoops(
    _ dims: [Int], shape: [Int], parallel: Bool, into code: inout CodePrinter,
    _ body: (inout CodePrinter) -> Void
  ) {
    guard let first = dims.first else {
      body(&code)
      return
    }
    if parallel {
      let collapse = dims.count > 1 && shape[first] < 16 ? " collapse(2)" : ""
      code.line("#pragma omp parallel for\(collapse)")
    }
    code.block("for (int64_t i\(first) = 0; i\(first) < \(shape[first]); i\(first)++)") { code in
      emitLoops(Array(dims.dropFirst()), shape: shape, parallel: false, into: &code, body)
    }
  }
}
