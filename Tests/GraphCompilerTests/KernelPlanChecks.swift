// Test support for the back half of the pass list: fusing and scheduling textual IR, checking
// that a scheduled graph keeps its invariants, checking a memory plan against liveness computed
// here independently of `PlanMemory`, and a tiny conv + BatchNorm + ReLU + matmul training
// program in the shape of R1.

import GraphCompiler
import GraphIR
import Testing

/// Parses `text`, runs FuseKernels and (optionally) ScheduleKernels, verifying after each pass.
func fuseAndSchedule(_ text: String, schedule: Bool = true) throws -> Graph {
  let passes: [any GraphPass] = schedule ? [FuseKernels(), ScheduleKernels()] : [FuseKernels()]
  return try Pipeline(passes, verifyEachPass: true).run(try Parser.parseGraph(text))
}

/// Prints a graph without locations, as the Before/Expected tests compare it.
func printed(_ graph: Graph) -> String { Printer(includeLocations: false).print(graph) }

/// The ways a scheduled graph breaks the schedule's guarantees, described; empty when none:
/// kernels numbered 0..<count in graph order with each kernel's stored nodes contiguous among
/// the stored nodes, state updates after every stored node, and every other node after the
/// work of the kernels before its first use.
func scheduleViolations(_ graph: Graph) -> [String] {
  var problems: [String] = []
  var current = -1
  var lastStored = -1
  for id in graph.ids {
    guard let kernel = graph[id].kernel else { continue }
    lastStored = id.index
    if kernel == current { continue }
    if kernel != current + 1 { problems.append("\(id) starts kernel \(kernel) after \(current)") }
    current = kernel
  }
  for id in graph.ids where graph[id].op.fusionRole == .statement && id.index < lastStored {
    problems.append("state update \(id) comes before stored node %\(lastStored)")
  }
  // A node no kernel stores sits just before its first use: no other kernel's work between.
  let users = graph.users()
  for id in graph.ids where graph[id].kernel == nil {
    guard let first = users[id.index].first else { continue }
    let target = graph.nodes[first.index...].first { $0.kernel != nil }?.kernel
    for between in graph.ids[(id.index + 1)..<first.index] {
      if let kernel = graph[between].kernel, kernel != target {
        problems.append("\(id) is placed before \(between) of kernel \(kernel), far from \(first)")
      }
    }
  }
  return problems
}

/// A region of the arena and the value (or scratch) that owns it; values computed in place
/// over one another share a buffer (`chain`: the first value of the chain).
private struct Region {
  var name: String
  var range: Range<Int>
  var chain: NodeID?
}

/// Pairs of regions that are live at the same kernel (or at the end) and overlap, described.
/// A stored value is live from its kernel to the last kernel whose expressions read it (found
/// here by walking operands through inlined nodes); outputs and assign operands to the end (a
/// loop's carried values and what it reads from before it, through its last kernel); a
/// kernel's scratch only in that kernel; leaf outputs at the end. A value computed in place
/// over an operand may share the operand's buffer if the operand is an elementwise loop's
/// operand of the same size, not an output or assign operand, and no stored node after the
/// value reads it. Also reports stored values without an offset and regions past `arenaBytes`.
func overlappingRegions(_ graph: Graph, _ plan: MemoryPlan) -> [String] {
  var problems: [String] = []
  var kernelCount = 0
  var lastUse: [NodeID: Int] = [:]
  var readers: [NodeID: [NodeID]] = [:]
  for id in graph.ids {
    guard let kernel = graph[id].kernel else { continue }
    kernelCount = max(kernelCount, kernel + 1)
    lastUse[id] = max(lastUse[id] ?? kernel, kernel)
    var stack = graph[id].operands
    var seen = Set<NodeID>()
    while let next = stack.popLast() {
      guard seen.insert(next).inserted else { continue }
      if graph[next].kernel != nil {
        lastUse[next] = max(lastUse[next] ?? kernel, kernel)
        readers[next, default: []].append(id)
      } else {
        stack.append(contentsOf: graph[next].operands)
      }
    }
  }
  // A loop (`GraphLoop`) may run again: what it reads from before it and its carried values
  // live through its last kernel; the carried values need not live longer.
  if let loop = graph.loopKernelRange() {
    for id in graph.ids where graph[id].kernel.map(loop.contains) ?? false {
      for input in graph.storedInputs(of: id)
      where graph[input].kernel.map({ $0 < loop.lowerBound }) ?? false {
        lastUse[input] = max(lastUse[input]!, loop.upperBound - 1)
      }
    }
    for output in graph.outputs where output.name.hasPrefix("loop.") {
      lastUse[output.node] = max(lastUse[output.node]!, loop.upperBound - 1)
    }
  }
  var live = Array(repeating: [Region](), count: kernelCount + 1)
  var pinned = Set(graph.outputs.filter { !$0.name.hasPrefix("loop.") }.map(\.node))
  for node in graph.nodes where node.op.fusionRole == .statement {
    pinned.formUnion(node.operands)
  }
  for (value, operand) in plan.inPlace {
    let late = readers[operand, default: []].filter { $0 > value }
    if pinned.contains(operand) || !graph[value].op.isElementwise || !late.isEmpty
      || graph[value].type.elementCount != graph[operand].type.elementCount
    {
      problems.append("\(value) cannot be computed in place over \(operand)")
    }
  }
  func chain(_ id: NodeID) -> NodeID { plan.inPlace[id].map(chain) ?? id }
  for id in graph.ids {
    let bytes = graph[id].type.elementCount * 4
    let isLeafOutput = graph[id].kernel == nil && graph.outputs.contains { $0.node == id }
    guard graph[id].kernel != nil || isLeafOutput, plan.stateStores[id] == nil else { continue }
    guard let offset = plan.offsets[id] else {
      problems.append("\(id) has no offset")
      continue
    }
    if offset + bytes > plan.arenaBytes { problems.append("\(id) ends past the arena") }
    let first = graph[id].kernel ?? kernelCount
    let last = pinned.contains(id) ? kernelCount : lastUse[id]!
    for time in first...last {
      live[time].append(Region(name: "\(id)", range: offset..<offset + bytes, chain: chain(id)))
    }
  }
  for (kernel, scratch) in plan.scratch {
    if scratch.offset + scratch.bytes > plan.arenaBytes {
      problems.append("scratch of kernel \(kernel) ends past the arena")
    }
    let range = scratch.offset..<scratch.offset + scratch.bytes
    live[kernel].append(Region(name: "scratch(\(kernel))", range: range, chain: nil))
  }
  for (time, regions) in live.enumerated() {
    for (i, a) in regions.enumerated() {
      for b in regions[(i + 1)...]
      where a.range.overlaps(b.range) && (a.chain == nil || a.chain != b.chain) {
        problems.append("at \(time): \(a.name) \(a.range) overlaps \(b.name) \(b.range)")
      }
    }
  }
  return problems
}

/// A small program in the shape of R1: conv, BatchNorm (batch statistics, a learned scale and a
/// running mean), ReLU, a second conv, global average pooling, a linear layer and a squared
/// loss, trained by SGD with momentum.
let tinyResNetProgram = """
  program "tiny-r1"
  variable "conv1.w" : f32[4,1,3,3] parameter normal(0.3, 1)
  variable "bn.gamma" : f32[1,4,1,1] parameter constant(1.0)
  variable "conv2.w" : f32[4,4,3,3] parameter normal(0.2, 2)
  variable "fc.w" : f32[4,3] parameter normal(0.5, 3)
  variable "bn.mean" : f32[1,4,1,1] state zeros

  entry "step" {
    %0 = input() {name="x"} : f32[2,1,6,6]
    %1 = variable() {var="conv1.w"} : f32[4,1,3,3]
    %2 = conv2d(%0, %1) {stride=1, padding=1} : f32[2,4,6,6]
    %3 = reduce_mean(%2) {axes=[0,2,3]} : f32[1,4,1,1]
    %4 = broadcast(%3) {shape=[2,4,6,6]} : f32[2,4,6,6]
    %5 = sub(%2, %4) : f32[2,4,6,6]
    %6 = mul(%5, %5) : f32[2,4,6,6]
    %7 = reduce_mean(%6) {axes=[0,2,3]} : f32[1,4,1,1]
    %8 = constant() {splat=1e-05} : f32[1,4,1,1]
    %9 = add(%7, %8) : f32[1,4,1,1]
    %10 = rsqrt(%9) : f32[1,4,1,1]
    %11 = variable() {var="bn.gamma"} : f32[1,4,1,1]
    %12 = mul(%10, %11) : f32[1,4,1,1]
    %13 = broadcast(%12) {shape=[2,4,6,6]} : f32[2,4,6,6]
    %14 = mul(%5, %13) : f32[2,4,6,6]
    %15 = relu(%14) : f32[2,4,6,6]
    %16 = variable() {var="conv2.w"} : f32[4,4,3,3]
    %17 = conv2d(%15, %16) {stride=1, padding=1} : f32[2,4,6,6]
    %18 = relu(%17) : f32[2,4,6,6]
    %19 = reduce_mean(%18) {axes=[2,3]} : f32[2,4,1,1]
    %20 = reshape(%19) {shape=[2,4]} : f32[2,4]
    %21 = variable() {var="fc.w"} : f32[4,3]
    %22 = matmul(%20, %21) {transpose_a=false, transpose_b=false} : f32[2,3]
    %23 = mul(%22, %22) : f32[2,3]
    %24 = reduce_sum(%23) {axes=[0,1]} : f32[1,1]
    %25 = reshape(%24) {shape=[]} : f32[]
    %26 = input() {name="lr"} : f32[]
    %27 = gradient(%25, %1) : f32[4,1,3,3]
    %28 = gradient(%25, %11) : f32[1,4,1,1]
    %29 = gradient(%25, %16) : f32[4,4,3,3]
    %30 = gradient(%25, %21) : f32[4,3]
    %31 = sgd_update(%27, %26) {var="conv1.w", momentum=0.9, weight_decay=0.0005} : f32[4,1,3,3]
    %32 = sgd_update(%28, %26) {var="bn.gamma", momentum=0.9, weight_decay=0.0} : f32[1,4,1,1]
    %33 = sgd_update(%29, %26) {var="conv2.w", momentum=0.9, weight_decay=0.0005} : f32[4,4,3,3]
    %34 = sgd_update(%30, %26) {var="fc.w", momentum=0.9, weight_decay=0.0005} : f32[4,3]
    %35 = variable() {var="bn.mean"} : f32[1,4,1,1]
    %36 = constant() {splat=0.9} : f32[1,4,1,1]
    %37 = mul(%35, %36) : f32[1,4,1,1]
    %38 = constant() {splat=0.1} : f32[1,4,1,1]
    %39 = mul(%3, %38) : f32[1,4,1,1]
    %40 = add(%37, %39) : f32[1,4,1,1]
    %41 = assign(%40) {var="bn.mean"} : f32[1,4,1,1]
    output "loss" = %25
  }
  """

/// The tiny program lowered, fused, scheduled and planned (convolutions channels-last, or NCHW).
func plannedTinyResNet(channelsLast: Bool = true) throws -> PlannedProgram {
  try KernelPipeline.run(
    try Parser.parseProgram(tinyResNetProgram), batch: 2, channelsLast: channelsLast)
}
