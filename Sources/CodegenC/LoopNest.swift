import GraphCompiler
import GraphIR

/// A run of consecutive kernel members computed in one loop nest: elementwise stores over the
/// nest's shape and sum/mean reductions of operands of that shape over the nest's axes. One
/// pass over memory instead of one per member: BatchNorm's backward pass (a gradient, two
/// channel sums and the products between them) reads each activation once.
///
/// Members join a nest only when that cannot change what they compute: each reads the values
/// stored earlier in the nest at its own element (never a reduction of the same nest, which is
/// not finished), and a store that overwrites a buffer in place joins only if the earlier
/// members read that buffer at their own element too.
struct LoopNest {
  enum Kind {
    /// A library call or a scalar store.
    case single
    /// Elementwise stores and reductions over `shape`, reducing `axes` (empty: elementwise).
    case loops(shape: [Int], axes: [Int])
  }

  var kind: Kind
  var members: [NodeID]

  /// Splits a kernel's members, in order, into nests.
  static func group(
    _ members: [NodeID], graph: Graph, inPlace: [NodeID: NodeID]
  ) -> [LoopNest] {
    var nests: [LoopNest] = []
    for id in members {
      if var last = nests.popLast() {
        if last.accepts(id, graph: graph, inPlace: inPlace) {
          last.add(id, graph: graph)
          nests.append(last)
          continue
        }
        nests.append(last)
      }
      nests.append(LoopNest(starting: id, graph: graph))
    }
    return nests
  }

  private init(starting id: NodeID, graph: Graph) {
    members = [id]
    let node = graph[id]
    switch node.op {
    case .reduce(_, let axes):
      kind = .loops(shape: graph[node.operands[0]].type.shape, axes: axes.sorted())
    case _ where node.op.isStoredElementwise && node.type.elementCount > 1:
      kind = .loops(shape: node.type.shape, axes: [])
    default:
      kind = .single
    }
  }

  /// A `max` reduction (softmax's stabiliser) keeps its nest to itself: a sequential `fmax`,
  /// not vectorised.
  func containsMax(_ graph: Graph) -> Bool {
    members.contains { if case .reduce(.max, _) = graph[$0].op { true } else { false } }
  }

  /// The reductions of the nest, in order.
  func reductions(_ graph: Graph) -> [NodeID] {
    members.filter { graph[$0].op.fusionRole == .reduction }
  }

  private mutating func add(_ id: NodeID, graph: Graph) {
    members.append(id)
    if case .reduce(_, let axes) = graph[id].op, case .loops(let shape, let current) = kind,
      current.isEmpty
    {
      kind = .loops(shape: shape, axes: axes.sorted())
    }
  }

  private func accepts(_ id: NodeID, graph: Graph, inPlace: [NodeID: NodeID]) -> Bool {
    guard case .loops(let shape, let axes) = kind, !containsMax(graph) else { return false }
    let node = graph[id]
    let newAxes: [Int]
    switch node.op {
    case .reduce(let op, let reduced) where op != .max:
      guard graph[node.operands[0]].type.shape == shape else { return false }
      newAxes = reduced.sorted()
      guard axes.isEmpty || axes == newAxes else { return false }
    case _ where node.op.isStoredElementwise:
      guard node.type.shape == shape else { return false }
      newAxes = axes
    default:
      return false
    }
    let hasElementwise = members.contains { graph[$0].op.isStoredElementwise }
    if (hasElementwise || node.op.isStoredElementwise) && !newAxes.isEmpty {
      guard Self.elementwiseFits(shape: shape, axes: newAxes) else { return false }
    }
    let reductions = Set(reductions(graph))
    for input in graph.storedInputs(of: id) where members.contains(input) {
      guard !reductions.contains(input), graph.readsAtOwnElement(id, input) else { return false }
    }
    if let target = inPlace[id] {
      for earlier in members where graph.storedInputs(of: earlier).contains(target) {
        guard graph.readsAtOwnElement(earlier, target) else { return false }
      }
    }
    return true
  }

  /// Elementwise stores may run in a reduction's loop order when the innermost dimension is
  /// reduced (contiguous runs) and enough output elements are kept to share among threads, or
  /// when it is a column reduction (its loops visit memory in order, shared among threads).
  static func elementwiseFits(shape: [Int], axes: [Int]) -> Bool {
    if ColumnReduction(shape: shape, axes: axes) != nil { return true }
    guard let innermost = shape.indices.last(where: { shape[$0] > 1 }) else { return true }
    let kept = shape.indices.filter { !axes.contains($0) }.reduce(1) { $0 * shape[$1] }
    return axes.contains(innermost) && kept >= 8
  }
}

extension Op {
  /// A value a kernel stores element by element (not a reduction or a library call).
  var isStoredElementwise: Bool { fusionRole == .inlinable || fusionRole == .constant }
}

extension Graph {
  /// Whether stored member `id` (elementwise, or a reduction through its operand) reads stored
  /// value `input` only at the element it is computing.
  func readsAtOwnElement(_ id: NodeID, _ input: NodeID) -> Bool {
    if self[id].op.fusionRole == .reduction {
      let operand = self[id].operands[0]
      return operand == input || readsOnlyAtOwnIndex(operand, input)
    }
    return readsOnlyAtOwnIndex(id, input)
  }
}
