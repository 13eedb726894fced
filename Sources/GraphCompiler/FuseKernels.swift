import GraphIR

// Fuse kernels: decides which values are stored and groups the stores into kernels (one C
// function each), by setting `Node.kernel`.
// Requires: a lowered graph (no gradient, update or stop_gradient).
// Guarantees: every value a library call, a state update or an output needs is stored or is
// a free view of a stored buffer; elementwise chains are inlined into the loop of their last
// op, reductions take their operand's expression as a prologue, and each stored elementwise or
// reduction result joins the kernel of the newest kernel it reads (so BatchNorm statistics,
// normalisation and ReLU, or a matrix product and its bias/activation epilogue, become one
// kernel). A short expression with several users over at most one stored tensor of its size is
// recomputed by each user instead of stored. A kernel computes nodes of a loop's body
// (`GraphLoop`) or none. Kernels are numbered in creation order, which is a valid execution
// order.

/// Groups a lowered graph's ops into fused kernels.
public struct FuseKernels: GraphPass {
  public let name = "fuse-kernels"
  /// The most ops inlined into one expression before an intermediate is stored instead.
  public var maxExpressionSize = 48
  /// The most stored values one kernel computes.
  public var maxKernelSize = 8
  /// The most ops of a value with several users that each user recomputes instead of reading.
  public var maxRecomputedSize = 24
  /// The most ops inlined into a small value over a collective's result that values at least 16
  /// times its size read.
  public var maxSmallExpressionSize = 6

  public init() {}

  public func run(_ graph: Graph) throws(IRError) -> PassResult {
    var result = graph
    for id in graph.ids { result.nodes[id.index].kernel = nil }
    let users = graph.users()
    let required = graph.requiredStores()
    var size = Array(repeating: 1, count: graph.nodes.count)
    var kernelOf: [Int?] = Array(repeating: nil, count: graph.nodes.count)
    var kernelSizes: [Int] = []
    // A kernel computes a loop's body or nothing of it, so the body's calls can run again.
    let body = try graph.loop()?.body ?? []
    var kernelInBody: [Bool] = []
    for id in graph.ids {
      let node = graph[id]
      guard shouldStore(id, in: result, users: users, required: required, size: &size) else {
        continue
      }
      let role = node.op.fusionRole
      let producers = result.storedInputs(of: id).compactMap { kernelOf[$0.index] }
      let fusable = role == .inlinable || role == .reduction || role == .constant
      if fusable, let newest = producers.max(), kernelSizes[newest] < maxKernelSize,
        kernelInBody[newest] == body.contains(id)
      {
        kernelOf[id.index] = newest
        kernelSizes[newest] += 1
      } else {
        kernelOf[id.index] = kernelSizes.count
        kernelSizes.append(1)
        kernelInBody.append(body.contains(id))
      }
      result.nodes[id.index].kernel = kernelOf[id.index]
    }
    return PassResult(graph: result, changed: result != graph)
  }

  private func shouldStore(
    _ id: NodeID, in graph: Graph, users: [[NodeID]], required: Set<NodeID>, size: inout [Int]
  ) -> Bool {
    let node = graph[id]
    switch node.op.fusionRole {
    case .leaf, .statement: return false
    case .reduction, .library: return true
    case .constant: return required.contains(id)
    case .inlinable: break
    }
    if required.contains(id) { return true }
    size[id.index] = 1 + node.operands.reduce(0) { $0 + (graph.isStored($1) ? 0 : size[$1.index]) }
    if size[id.index] > maxExpressionSize { return true }
    // A small value with a long expression over a collective's result (a data-parallel
    // BatchNorm's statistics, picked by `sync_bn`) is stored when much larger values read it:
    // each would otherwise carry the whole expression and grow past what its own users may
    // recompute (R1's two-rank step: a 362 MB arena instead of 292). One-process programs
    // keep their per-channel values inlined, in double.
    if size[id.index] > maxSmallExpressionSize,
      users[id.index].contains(where: {
        graph[$0].type.elementCount >= 16 * node.type.elementCount
      }),
      graph.storedInputs(of: id).contains(where: {
        if case .collective = graph[$0].op { true } else { false }
      })
    {
      return true
    }
    let viewOfStored = node.op.isView && node.operands.allSatisfy(graph.isStored)
    for user in users[id.index] where graph[user].op.fusionRole == .library {
      // A library call reads buffers: store unless the value is a free alias of one.
      if graph.bufferSource(id) == nil { return true }
    }
    if users[id.index].count <= 1 || viewOfStored { return false }
    return !isCheapToRecompute(id, in: graph, size: size[id.index])
  }

  /// Whether each user may recompute a value with several users instead of reading it back: a
  /// short expression over at most one stored tensor of its own size (plus small broadcast
  /// operands, such as BatchNorm's per-channel scale). Its users then read that tensor where
  /// they would have read the value, so storing it would only add a write (and a buffer).
  private func isCheapToRecompute(_ id: NodeID, in graph: Graph, size: Int) -> Bool {
    guard size <= maxRecomputedSize else { return false }
    let elements = graph[id].type.elementCount
    let large = graph.storedInputs(of: id).filter { graph[$0].type.elementCount * 16 > elements }
    return large.count <= 1
  }
}

extension Graph {
  /// The users of each node, in order.
  public func users() -> [[NodeID]] {
    var result = Array(repeating: [NodeID](), count: nodes.count)
    for id in ids { for operand in self[id].operands { result[operand.index].append(id) } }
    return result
  }

  /// Values that must be stored whatever fusion decides: outputs and state-update operands (for
  /// an optimizer update, the buffer its gradient is read from: `optimizerGradient`).
  /// `loopCarries: false` leaves out the values only a loop's `loop.*` outputs name: they are
  /// stored but needed only until the loop ends.
  func requiredStores(loopCarries: Bool = true) -> Set<NodeID> {
    let named = loopCarries ? outputs : outputs.filter { !$0.name.hasPrefix("loop.") }
    var result = Set(named.map(\.node))
    for node in nodes where node.op.fusionRole == .statement {
      if case .update = node.op {
        // The optimizer reads a gradient that is a reshape through the buffer reshaped.
        result.formUnion(node.operands.dropFirst())
        result.insert(optimizerGradient(of: node))
      } else {
        result.formUnion(node.operands)
      }
    }
    // Library operands that are constants need a buffer too.
    for node in nodes where node.op.fusionRole == .library {
      for operand in node.operands where self[operand].op.fusionRole == .constant {
        result.insert(operand)
      }
    }
    return result
  }
}
