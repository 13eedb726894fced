import GraphIR

// Plan memory: places every stored value and every kernel's scratch in one activation arena.
// Requires: a fused, scheduled graph (kernels numbered in execution order).
// Guarantees: two regions that are live in the same kernel never overlap; a value lives from
// its kernel to the last kernel that reads it (outputs and state-update operands to the end, a
// loop's carried values to the loop's end); a value a loop (`GraphLoop`) reads from before it
// lives through the loop's last kernel and is never overwritten in place by it; a state update
// nothing reads the old value after is stored into the state arena instead (`stateStores`);
// offsets are 64-byte aligned. Placement is best-fit over a free list, in kernel order, except
// that a value kept to the end (an output, a gradient the optimizer reads) takes the top of the
// highest free range that fits, so that it does not split the ranges freed around it. A
// channels-last convolution's kernel gets the largest range of the arena nothing uses while it
// runs as its scratch (oneDNN's blocked copies and scratchpad go there when they fit), so the
// arena stays the peak.

/// Where each stored value of one entry point lives in the activation arena.
public struct MemoryPlan: Sendable {
  /// Byte offset of each stored value, and of each output that is a leaf (copied at the end).
  public var offsets: [NodeID: Int] = [:]
  /// Byte offset and size of each kernel's scratch: the im2col matrices of NCHW convolutions,
  /// or, for channels-last ones, the largest range free during the kernel (see `spare`).
  public var scratch: [Int: (offset: Int, bytes: Int)] = [:]
  /// Size of the arena: the peak of live bytes, after alignment and fragmentation.
  public var arenaBytes = 0
  /// What the arena would need without reuse: every stored value and scratch added up.
  public var unplannedBytes = 0
  /// Values computed in place over an operand that dies with them: value -> operand. Both
  /// share one buffer; the kernel reads element i of the operand before writing element i.
  public var inPlace: [NodeID: NodeID] = [:]
  /// State updates stored straight into the state arena by the kernel that computes them:
  /// value -> the variable it replaces. Every other reader of the variable has run by then
  /// (earlier kernels, or earlier members of its kernel), and the value reads the variable only
  /// at its own element, so the parallel-update semantics hold without the copy at the end.
  public var stateStores: [NodeID: String] = [:]
  /// Every placed value in the order it was placed, with the kernel that stores it and the
  /// last kernel that reads it (the kernel count for leaf outputs and values kept to the end):
  /// what the run-time planner (`hw_entry_plan`) replays at any batch size.
  public var placements: [(id: NodeID, first: Int, last: Int)] = []
}

/// Plans the activation arena of a scheduled graph.
public struct PlanMemory: Sendable {
  public static let alignment = 64
  /// Images a convolution processes at once (HW_CONV_CHUNK in headway_kernels.h).
  public static let convolutionChunk = 16

  public init() {}

  /// `inPlace`: the in-place stores to make (those of the same graph at another batch size,
  /// so that kernels generic in the batch size see the same aliasing), else the planner finds
  /// them.
  public func plan(_ graph: Graph, inPlace given: [NodeID: NodeID]? = nil) -> MemoryPlan {
    let kernels = graph.kernelMembers()
    let end = kernels.count
    var lastUse: [NodeID: Int] = [:]
    for (kernel, members) in kernels.enumerated() {
      for id in members {
        lastUse[id] = max(lastUse[id] ?? kernel, kernel)
        for input in graph.storedInputs(of: id) where graph[input].kernel != nil {
          lastUse[input] = max(lastUse[input] ?? kernel, kernel)
        }
      }
    }
    for id in graph.requiredStores(loopCarries: false) { lastUse[id] = end }
    let loop = graph.loopKernelRange()
    if let loop { Self.keepThroughLoop(loop, graph, kernels, &lastUse) }
    let readers = Self.readers(graph, kernels)
    var plan = MemoryPlan()
    plan.stateStores = Self.stateStores(graph, kernels, readers: readers, loop: loop)
    var arena = FreeList()
    var regions: [Region] = []
    var dying: [Int: [NodeID]] = [:]
    let pinned = graph.requiredStores()
    for (kernel, members) in kernels.enumerated() {
      for (position, id) in members.enumerated() where plan.stateStores[id] == nil {
        let bytes = graph[id].type.elementCount * 4
        plan.unplannedBytes += Self.aligned(bytes)
        dying[lastUse[id]!, default: []].append(id)
        let reusable =
          given.map { $0[id] }
          ?? graph.storedInputs(of: id).first { operand in
            graph[operand].kernel != nil && !pinned.contains(operand)
              && !(loop.map { $0.contains(kernel) && !$0.contains(graph[operand].kernel!) } ?? false)
              && graph[operand].type.elementCount == graph[id].type.elementCount
              && !plan.inPlace.values.contains(operand)
              && readers[operand, default: []].allSatisfy { reader in
                reader == id || graph[reader].kernel! < kernel
                  || (graph[reader].kernel! == kernel && members.firstIndex(of: reader)! < position)
              }
              && graph.readsOnlyAtOwnIndex(id, operand)
          }
        if let operand = reusable {
          plan.offsets[id] = plan.offsets[operand]
          plan.inPlace[id] = operand
          dying[lastUse[operand]!]?.removeAll { $0 == operand }
        } else {
          plan.offsets[id] = arena.allocate(bytes, fromTop: lastUse[id] == end)
        }
        regions.append(Region(plan.offsets[id]!, bytes, kernel...lastUse[id]!))
        plan.placements.append((id, kernel, lastUse[id]!))
      }
      let scratchBytes = members.reduce(0) { $0 + Self.scratchBytes(graph[$1], graph) }
      if scratchBytes > 0 {
        let offset = arena.allocate(scratchBytes)
        plan.scratch[kernel] = (offset, scratchBytes)
        regions.append(Region(offset, scratchBytes, kernel...kernel))
        plan.unplannedBytes += Self.aligned(scratchBytes)
        arena.free(offset, scratchBytes)
      }
      for id in dying[kernel] ?? [] {
        arena.free(plan.offsets[id]!, graph[id].type.elementCount * 4)
      }
    }
    for output in graph.outputs where graph[output.node].kernel == nil {
      let bytes = graph[output.node].type.elementCount * 4
      plan.offsets[output.node] = arena.allocate(bytes)
      regions.append(Region(plan.offsets[output.node]!, bytes, end...end))
      plan.placements.append((output.node, end, end))
      plan.unplannedBytes += Self.aligned(bytes)
    }
    plan.arenaBytes = arena.peak
    for (kernel, members) in kernels.enumerated()
    where members.contains(where: { Self.isChannelsLastConvolution(graph[$0]) }) {
      plan.scratch[kernel] = Self.spare(in: regions, kernel: kernel, arenaBytes: plan.arenaBytes)
    }
    return plan
  }

  /// A value a loop's kernels read from before the loop lives until its last kernel, so every
  /// repetition finds it; so do the carried values, copied between repetitions.
  static func keepThroughLoop(
    _ loop: Range<Int>, _ graph: Graph, _ kernels: [[NodeID]], _ lastUse: inout [NodeID: Int]
  ) {
    for output in graph.outputs where output.name.hasPrefix("loop.") {
      lastUse[output.node] = max(lastUse[output.node]!, loop.upperBound - 1)
    }
    for kernel in loop {
      for id in kernels[kernel] {
        for input in graph.storedInputs(of: id) {
          guard let producer = graph[input].kernel, producer < loop.lowerBound else { continue }
          lastUse[input] = max(lastUse[input]!, loop.upperBound - 1)
        }
      }
    }
  }

  /// The stored values that read each stored value (through inlined ops).
  static func readers(_ graph: Graph, _ kernels: [[NodeID]]) -> [NodeID: [NodeID]] {
    var result: [NodeID: [NodeID]] = [:]
    for members in kernels {
      for id in members {
        for input in graph.storedInputs(of: id) { result[input, default: []].append(id) }
      }
    }
    return result
  }

  static func aligned(_ bytes: Int) -> Int { (bytes + alignment - 1) / alignment * alignment }

  /// Scratch a node's library call needs: one im2col matrix per image of a chunk (none for a
  /// channels-last convolution).
  public static func scratchBytes(_ node: Node, _ graph: Graph) -> Int {
    let (x, y): ([Int], [Int])
    let filter: [Int]
    switch node.op {
    case .conv2d(let c) where c.channelsLast, .conv2dInputGrad(let c, _) where c.channelsLast,
      .conv2dFilterGrad(let c, _) where c.channelsLast:
      return 0  // oneDNN alone, in its own workspace
    case .conv2d:
      (x, filter, y) = (
        graph[node.operands[0]].type.shape, graph[node.operands[1]].type.shape, node.type.shape
      )
    case .conv2dInputGrad(_, let inputShape):
      (x, filter, y) = (
        inputShape, graph[node.operands[1]].type.shape, graph[node.operands[0]].type.shape
      )
    case .conv2dFilterGrad(_, let filterShape):
      (x, filter, y) = (
        graph[node.operands[0]].type.shape, filterShape, graph[node.operands[1]].type.shape
      )
    default:
      return 0
    }
    let images = min(x[0], convolutionChunk)
    return images * x[1] * filter[2] * filter[3] * y[2] * y[3] * 4
  }
}

/// Best-fit allocation over a sorted list of free ranges, growing the arena when none fits.
struct FreeList {
  private var free: [(offset: Int, size: Int)] = []
  private(set) var peak = 0

  /// Best fit: the smallest free range that fits, its low end. `fromTop`: the highest free
  /// range that fits, its high end, for a value that lives to the end of the entry (a gradient
  /// read by the optimizer), so that it does not split the ranges the values dying before it
  /// leave for the convolutions' spare ranges.
  mutating func allocate(_ bytes: Int, fromTop: Bool = false) -> Int {
    let size = PlanMemory.aligned(max(bytes, 1))
    if fromTop, let index = free.lastIndex(where: { $0.size >= size }) {
      free[index].size -= size
      let offset = free[index].offset + free[index].size
      if free[index].size == 0 { free.remove(at: index) }
      return offset
    }
    var best: Int?
    for (index, range) in free.enumerated() where range.size >= size {
      if best == nil || range.size < free[best!].size { best = index }
    }
    if let best {
      let offset = free[best].offset
      free[best].offset += size
      free[best].size -= size
      if free[best].size == 0 { free.remove(at: best) }
      return offset
    }
    // Grow: extend a free range touching the end, or start at the end.
    if let last = free.last, last.offset + last.size == peak {
      free.removeLast()
      peak = last.offset + size
      return last.offset
    }
    let offset = peak
    peak += size
    return offset
  }

  mutating func free(_ offset: Int, _ bytes: Int) {
    let size = PlanMemory.aligned(max(bytes, 1))
    var index = free.firstIndex { $0.offset > offset } ?? free.count
    free.insert((offset, size), at: index)
    if index + 1 < free.count, free[index].offset + free[index].size == free[index + 1].offset {
      free[index].size += free[index + 1].size
      free.remove(at: index + 1)
    }
    if index > 0, free[index - 1].offset + free[index - 1].size == free[index].offset {
      free[index - 1].size += free[index].size
      free.remove(at: index)
      index -= 1
    }
  }
}
