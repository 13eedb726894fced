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
/// so, the store is the operand's last reader and reads it only at its own element.
func dataflowViolations(_ graph: Graph, _ plan: MemoryPlan) -> [String] {
  let kernels = graph.kernelMembers()
  func time(_ kernel: Int, _ position: Int) -> Int { kernel * 1_000_000 + position }
  var pinned = Set(graph.outputs.map(\.node))
  for node in graph.nodes where node.op.fusionRole == .statement { pinned.formUnion(node.operands) }
  var lastRead: [Int: Int] = [:]
  for (kernel, members) in kernels.enumerated() {
    for (position, id) in members.enumerated() {
      for input in graph.storedInputs(of: id) where graph[input].kernel != nil {
        lastRead[input.index] = time(kernel, position)
      }
    }
  }
  for id in pinned { lastRead[id.index] = Int.max }
  func range(_ id: NodeID) -> Range<Int> {
    plan.offsets[id]!..<plan.offsets[id]! + graph[id].type.elementCount * 4
  }
  func name(_ owner: Int) -> String { owner < 0 ? "scratch(\(-1 - owner))" : "%\(owner)" }
  var owners = Owners()
  var problems: [String] = []
  for (kernel, members) in kernels.enumerated() {
    if let scratch = plan.scratch[kernel] {
      let bytes = scratch.offset..<scratch.offset + scratch.bytes
      for owner in owners.owners(of: bytes)
      where owner >= 0 && lastRead[owner] ?? -1 >= time(kernel, 0) {
        problems.append("scratch(\(kernel)) overwrites \(name(owner)), still to be read")
      }
      for id in members where range(id).overlaps(bytes) {
        problems.append("\(id) overlaps scratch(\(kernel)) in its own kernel")
      }
      owners.write(bytes, -1 - kernel)
    }
    for (position, id) in members.enumerated() {
      let now = time(kernel, position)
      for input in graph.storedInputs(of: id) where graph[input].kernel != nil {
        if !owners.hold(range(input), input.index) {
          let found = owners.owners(of: range(input)).sorted().map(name).joined(separator: " ")
          problems.append("\(id) (kernel \(kernel)) reads \(input), but its bytes hold \(found)")
        }
      }
      for owner in owners.owners(of: range(id)) where owner >= 0 && owner != id.index {
        let last = lastRead[owner] ?? -1
        let inPlace =
          plan.inPlace[id]?.index == owner && last == now
          && graph.readsOnlyAtOwnIndex(id, NodeID(owner))
        if last >= now && !inPlace {
          problems.append("\(id) (kernel \(kernel)) overwrites \(name(owner)), still to be read")
        }
      }
      owners.write(range(id), id.index)
    }
  }
  for id in pinned.sorted() where graph[id].kernel != nil && !owners.hold(range(id), id.index) {
    problems.append("\(id) does not hold its value at the end")
  }
  return problems
}
