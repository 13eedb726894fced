// Test support: runs a memory plan the way the generated code uses it, kernel by kernel and
// store by store, tracking which value owns every byte of the arena, and reports each read
// that would not see the value its node defined and each store over a value still to be read.
// It uses only the plan's offsets, scratch and in-place pairs and the graph, not `PlanMemory`.

import GraphCompiler
import GraphIR

/// Byte ranges of the arena and who last wrote them: a node index, or `-1 - kernel` for a
/// kernel's scratch.
private struct Owners {
  private var segments: [(range: Range<Int>, owner: Int)] = []

  func owners(of range: Range<Int>) -> Set<Int> {
    Set(segments.filter { $0.range.overlaps(range) }.map(\.owner))
  }

  /// Whether every byte of `range` was last written by `owner`.
  func hold(_ range: Range<Int>, _ owner: Int) -> Bool {
    var covered = range.lowerBound
    for segment in segments where segment.range.overlaps(range) {
      guard segment.owner == owner, segment.range.lowerBound <= covered else { return false }
      covered = max(covered, segment.range.upperBound)
    }
    return covered >= range.upperBound
  }

  mutating func write(_ range: Range<Int>, _ owner: Int) {
    var kept: [(range: Range<Int>, owner: Int)] = []
    for segment in segments {
      if !segment.range.overlaps(range) {
        kept.append(segment)
        continue
      }
      if segment.range.lowerBound < range.lowerBound {
        kept.append((segment.range.lowerBound..<range.lowerBound, segment.owner))
      }
      if segment.range.upperBound > range.upperBound {
        kept.append((range.upperBound..<segment.range.upperBound, segment.owner))
      }
    }
    kept.append((range, owner))
    segments = kept.sorted { $0.range.lowerBound < $1.range.lowerBound }
  }
}

/// The ways running `graph` with `plan` would read a value that is no longer there, described;
/// empty when every read sees what its node defined and every output and assign operand holds
/// its value at the end. A store may overwrite its operand in place only where the plan says
/// so, the store is the operand's last reader and reads it only at its own element. With
/// `loopRepeats`, the graph's loop (`GraphLoop`) runs that many times, as `hw_entry_run_repeating`
/// runs it: its carried values copied from each loop.out buffer to its loop.in buffer between
/// repetitions (with 0, the loop skipped and each loop.in buffer copied to its loop.out buffer).
/// Each repetition's values are values of their own: a read must see the current repetition's.
func dataflowViolations(_ graph: Graph, _ plan: MemoryPlan, loopRepeats: Int? = nil) -> [String] {
  let kernels = graph.kernelMembers()
  let run = LoopRun(graph, kernels.count, loopRepeats)
  func time(_ step: Int, _ position: Int) -> Int { step * 1_000_000 + position }
  // A loop's carried values are needed only by the loop and its carries.
  var pinned = Set(graph.outputs.filter { !$0.name.hasPrefix("loop.") }.map(\.node))
  for node in graph.nodes where node.op.fusionRole == .statement { pinned.formUnion(node.operands) }
  pinned.subtract(plan.stateStores.keys)  // in the state arena, not the activation arena
  var lastRead: [Int: Int] = [:]
  for (step, event) in run.events.enumerated() {
    for (position, input) in run.reads(event, graph, kernels) {
      lastRead[run.owner(input, event)] = time(step, position)
    }
  }
  for id in pinned { lastRead[run.owner(id, nil)] = Int.max }
  func range(_ id: NodeID) -> Range<Int> {
    plan.offsets[id]!..<plan.offsets[id]! + graph[id].type.elementCount * 4
  }
  func name(_ owner: Int) -> String { owner < 0 ? "scratch(\(-1 - owner))" : run.name(owner) }
  var owners = Owners()
  var problems: [String] = []
  var replaced: [String: String] = [:]  // variables overwritten by a state store, and where
  for (step, event) in run.events.enumerated() {
    let place = run.place(step, event)
    if case .kernel(let kernel, _) = event, let scratch = plan.scratch[kernel] {
      let bytes = scratch.offset..<scratch.offset + scratch.bytes
      for owner in owners.owners(of: bytes)
      where owner >= 0 && lastRead[owner] ?? -1 >= time(step, 0) {
        problems.append("scratch(\(kernel)) overwrites \(name(owner)), still to be read")
      }
      for id in kernels[kernel] where plan.stateStores[id] == nil && range(id).overlaps(bytes) {
        problems.append("\(id) overlaps scratch(\(kernel)) in its own kernel")
      }
      owners.write(bytes, -1 - kernel)
    }
    let reads = run.reads(event, graph, kernels)
    for (position, id) in run.stores(event, kernels).enumerated() {
      problems += readsOfReplacedState(id, graph, plan, replaced)
      for (at, input) in reads where at == position && plan.stateStores[input] == nil {
        let owner = run.owner(input, event)
        if !owners.hold(range(input), owner) {
          let found = owners.owners(of: range(input)).sorted().map(name).joined(separator: " ")
          problems.append(
            "\(run.name(run.owner(id, event))) (\(place)) reads \(name(owner)), but its bytes hold \(found)"
          )
        }
      }
      if let variable = plan.stateStores[id] {
        replaced[variable] = place
        continue
      }
      let now = time(step, position)
      let stored = run.owner(id, event)
      for owner in owners.owners(of: range(id)) where owner >= 0 && owner != stored {
        let last = lastRead[owner] ?? -1
        let inPlace =
          plan.inPlace[id].map { run.owner($0, event) } == owner && last == now
          && graph.readsOnlyAtOwnIndex(id, plan.inPlace[id]!)
        if last >= now && !inPlace {
          problems.append("\(id) (\(place)) overwrites \(name(owner)), still to be read")
        }
      }
      owners.write(range(id), stored)
    }
  }
  for id in pinned.sorted()
  where graph[id].kernel != nil && !owners.hold(range(id), run.owner(id, nil)) {
    problems.append("\(id) does not hold its value at the end")
  }
  return problems
}

/// The reads of a variable that a state store (`MemoryPlan.stateStores`) has already replaced
/// (the store itself may read the variable at its own element, before it writes it).
private func readsOfReplacedState(
  _ id: NodeID, _ graph: Graph, _ plan: MemoryPlan, _ replaced: [String: String]
) -> [String] {
  graph.storedInputs(of: id).compactMap { input in
    guard case .variable(let name) = graph[input].op, let place = replaced[name] else { return nil }
    return "\(id) reads variable \(name), which \(place) replaced"
  }
    + (plan.stateStores[id].flatMap { name in
      graph.storedInputs(of: id).contains { input in
        graph[input].op == .variable(name) && !graph.readsOnlyAtOwnIndex(id, input)
      } ? ["\(id) replaces variable \(name) but reads it beyond its own element"] : nil
    } ?? [])
}

/// The kernels in the order a run executes them, the loop repeated, and which instance of a
/// value (which repetition's) each event reads and writes.
private struct LoopRun {
  enum Event {
    /// A kernel, in a repetition of the loop (nil: before or after it).
    case kernel(Int, repetition: Int?)
    /// The carried values copied into repetition `into` (reversed: loop.in to loop.out when
    /// the loop runs 0 times).
    case carry(into: Int, reversed: Bool)
  }

  var events: [Event] = []
  let loop: GraphLoop?
  let carriedInputs: Set<NodeID>
  let carriedOutputs: Set<NodeID>
  /// The repetition whose loop.out values the code after the loop reads (0 when it ran none).
  let last: Int

  init(_ graph: Graph, _ count: Int, _ repeats: Int?) {
    guard let repeats, let range = graph.loopKernelRange(), let loop = (try? graph.loop()) ?? nil
    else {
      events = (0..<count).map { .kernel($0, repetition: nil) }
      (self.loop, carriedInputs, carriedOutputs, last) = (nil, [], [], 0)
      return
    }
    events = (0..<range.lowerBound).map { .kernel($0, repetition: nil) }
    for repetition in 0..<repeats {
      if repetition > 0 { events.append(.carry(into: repetition, reversed: false)) }
      events += range.map { .kernel($0, repetition: repetition) }
    }
    if repeats == 0 { events.append(.carry(into: 0, reversed: true)) }
    events += (range.upperBound..<count).map { .kernel($0, repetition: nil) }
    self.loop = loop
    carriedInputs = Set(loop.carries.map(\.input))
    carriedOutputs = Set(loop.carries.map(\.output))
    last = max(repeats - 1, 0)
  }

  /// The owner key of the instance of `id` that `event` reads or writes (nil: at the end).
  func owner(_ id: NodeID, _ event: Event?) -> Int {
    guard let loop else { return id.index * 4096 }
    var instance = 0
    switch event {
    case .kernel(_, let repetition?) where loop.body.contains(id) || carriedInputs.contains(id):
      instance = repetition
    case .carry(let into, let reversed):
      instance = reversed ? 0 : (carriedInputs.contains(id) ? into : into - 1)
    case nil where carriedInputs.contains(id) || carriedOutputs.contains(id),
      .kernel(_, nil)
    where carriedOutputs.contains(id):
      instance = last
    default:
      break
    }
    return id.index * 4096 + instance
  }

  func name(_ owner: Int) -> String {
    let (index, instance) = owner.quotientAndRemainder(dividingBy: 4096)
    return loop == nil || instance == 0 ? "%\(index)" : "%\(index)#\(instance)"
  }

  func place(_ step: Int, _ event: Event) -> String {
    switch event {
    case .kernel(let kernel, let repetition):
      repetition.map { "kernel \(kernel), repetition \($0)" } ?? "kernel \(kernel)"
    case .carry(let into, _): "carry into repetition \(into)"
    }
  }

  /// The values an event stores, in order.
  func stores(_ event: Event, _ kernels: [[NodeID]]) -> [NodeID] {
    switch event {
    case .kernel(let kernel, _): kernels[kernel]
    case .carry(_, let reversed):
      loop!.carries.map { reversed ? $0.output : $0.input }
    }
  }

  /// The stored values an event reads, each with the position of the store that reads it.
  func reads(_ event: Event, _ graph: Graph, _ kernels: [[NodeID]]) -> [(Int, NodeID)] {
    switch event {
    case .kernel(let kernel, _):
      kernels[kernel].enumerated().flatMap { position, id in
        graph.storedInputs(of: id).filter { graph[$0].kernel != nil }.map { (position, $0) }
      }
    case .carry(_, let reversed):
      loop!.carries.enumerated().map { ($0, reversed ? $1.input : $1.output) }
    }
  }
}
