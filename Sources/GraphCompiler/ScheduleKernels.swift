import GraphIR

// Schedule kernels: orders the kernels of a fused graph to keep peak memory low, then lays the
// nodes out so each kernel's nodes are contiguous, kernels are numbered in execution order,
// and every other node sits just before its first use.
// Requires: `FuseKernels` has run. Guarantees: SSA order; the same kernels (renumbered); state
// updates last.
// Heuristic: among the kernels whose inputs are ready, run the one that frees the most bytes
// net of what it allocates (ties: the earliest). Gradients then feed their optimizer updates
// as soon as they exist instead of piling up until the end of the backward pass. A loop's
// kernels (`GraphLoop`) are kept contiguous, after everything they read from outside.

/// Reorders a fused graph's kernels for a low memory peak.
public struct ScheduleKernels: GraphPass {
  public let name = "schedule-kernels"
  public init() {}

  public func run(_ graph: Graph) throws(IRError) -> PassResult {
    let kernels = graph.kernelMembers()
    guard !kernels.isEmpty else { return PassResult(graph: graph, changed: false) }
    let order = scheduleOrder(graph, kernels, loop: try loopKernels(graph, kernels))
    var layout: [NodeID] = []
    var placed = Set<NodeID>()
    func place(_ id: NodeID) {
      guard !placed.contains(id) else { return }
      for operand in graph[id].operands where graph[operand].kernel == nil { place(operand) }
      placed.insert(id)
      layout.append(id)
    }
    for kernel in order { for id in kernels[kernel] { place(id) } }
    for id in graph.ids where graph[id].op.fusionRole != .statement { place(id) }
    for id in graph.ids { place(id) }
    var renumber: [Int: Int] = [:]
    for (position, kernel) in order.enumerated() { renumber[kernel] = position }
    var result = Graph()
    var mapping: [NodeID: NodeID] = [:]
    for id in layout {
      var node = graph[id]
      node.operands = node.operands.map { mapping[$0]! }
      node.kernel = node.kernel.map { renumber[$0]! }
      mapping[id] = NodeID(result.nodes.count)
      result.nodes.append(node)
    }
    result.outputs = graph.outputs.map { GraphOutput(name: $0.name, node: mapping[$0.node]!) }
    return PassResult(graph: result, changed: result != graph)
  }

  /// Whether each kernel computes a loop's body (`GraphLoop`); an error when one mixes.
  private func loopKernels(_ graph: Graph, _ kernels: [[NodeID]]) throws(IRError) -> [Bool] {
    let body = try graph.loop()?.body ?? []
    return try kernels.enumerated().map { (kernel, members) throws(IRError) in
      let inBody = members.map(body.contains)
      guard Set(inBody).count <= 1 else {
        throw IRError(message: "kernel \(kernel) computes part of the loop and part of the rest")
      }
      return inBody.first ?? false
    }
  }

  private func scheduleOrder(_ graph: Graph, _ kernels: [[NodeID]], loop: [Bool]) -> [Int] {
    let count = kernels.count
    // The stored values each kernel reads from other kernels, and the kernels it waits for.
    var reads = Array(repeating: Set<NodeID>(), count: count)
    var waitsFor = Array(repeating: Set<Int>(), count: count)
    var readerCount: [NodeID: Int] = [:]
    for (kernel, members) in kernels.enumerated() {
      for id in members {
        for input in graph.storedInputs(of: id) {
          guard let producer = graph[input].kernel, producer != kernel else { continue }
          waitsFor[kernel].insert(producer)
          if reads[kernel].insert(input).inserted { readerCount[input, default: 0] += 1 }
        }
      }
    }
    let pinned = graph.requiredStores()
    let allocated = kernels.map { $0.reduce(0) { $0 + graph[$1].type.elementCount } }
    var done = Array(repeating: false, count: count)
    var order: [Int] = []
    // A loop's kernels run as one contiguous run, once everything they read from outside it is
    // done (so the run can be repeated).
    let loopWaits = Set((0..<count).filter { loop[$0] }.flatMap { waitsFor[$0] }).filter {
      !loop[$0]
    }
    let loopSize = loop.filter { $0 }.count
    var loopLeft = loopSize
    func ready(_ kernel: Int) -> Bool {
      guard !done[kernel], waitsFor[kernel].allSatisfy({ done[$0] }) else { return false }
      let inside = loopLeft > 0 && loopLeft < loopSize
      if inside { return loop[kernel] }
      return !loop[kernel] || loopWaits.allSatisfy { done[$0] }
    }
    while order.count < count {
      var best: (kernel: Int, score: Int)?
      for kernel in 0..<count where ready(kernel) {
        var score = -allocated[kernel]
        for value in reads[kernel] where readerCount[value] == 1 && !pinned.contains(value) {
          score += graph[value].type.elementCount
        }
        if best == nil || score > best!.score { best = (kernel, score) }
      }
      let chosen = best!.kernel
      done[chosen] = true
      order.append(chosen)
      if loop[chosen] { loopLeft -= 1 }
      for value in reads[chosen] { readerCount[value]! -= 1 }
    }
    return order
  }
}

extension Graph {
  /// The stored nodes of each kernel, in graph order, indexed by kernel number.
  public func kernelMembers() -> [[NodeID]] {
    var members: [[NodeID]] = []
    for id in ids {
      guard let kernel = self[id].kernel else { continue }
      while members.count <= kernel { members.append([]) }
      members[kernel].append(id)
    }
    return members
  }
}

extension Graph {
  /// The kernels of the graph's loop (`GraphLoop`), contiguous once `ScheduleKernels` has run;
  /// nil when the graph has no loop.
  public func loopKernelRange() -> Range<Int>? {
    guard let body = (try? loop())??.body else { return nil }
    let kernels = body.compactMap { self[$0].kernel }
    guard let first = kernels.min(), let last = kernels.max() else { return nil }
    return first..<(last + 1)
  }
}
