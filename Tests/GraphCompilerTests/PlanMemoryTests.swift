import GraphCompiler
import GraphIR
import Testing

@Suite struct PlanMemoryTests {
  /// Four matrix products in a chain, 256 bytes each: A, B, C, D.
  static let chain = """
    %0 = input() {name="x"} : f32[8,8]
    %1 = variable() {var="w"} : f32[8,8]
    %2 = matmul(%0, %1) {transpose_a=false, transpose_b=false} : f32[8,8]
    %3 = matmul(%2, %1) {transpose_a=false, transpose_b=false} : f32[8,8]
    %4 = matmul(%3, %1) {transpose_a=false, transpose_b=false} : f32[8,8]
    %5 = matmul(%4, %1) {transpose_a=false, transpose_b=false} : f32[8,8]
    output "d" = %5
    """

  @Test func `A value freed after its last use is reused by a later one`() throws {
    let graph = try fuseAndSchedule(Self.chain)
    let plan = PlanMemory().plan(graph)
    // A lives in kernels 0-1, B in 1-2, C in 2-3, D to the end: C takes A's place, D B's.
    #expect(plan.offsets[NodeID(2)] == 0)
    #expect(plan.offsets[NodeID(3)] == 256)
    #expect(plan.offsets[NodeID(4)] == 0)
    #expect(plan.offsets[NodeID(5)] == 256)
    #expect(plan.arenaBytes == 512)
    #expect(plan.unplannedBytes == 1024)
    #expect(overlappingRegions(graph, plan) == [])
  }

  @Test func `Offsets are 64-byte aligned for sizes that are not`() throws {
    let graph = try fuseAndSchedule(
      """
      %0 = input() {name="x"} : f32[3,5]
      %1 = variable() {var="w"} : f32[5,3]
      %2 = matmul(%0, %1) {transpose_a=false, transpose_b=false} : f32[3,3]
      %3 = matmul(%2, %2) {transpose_a=false, transpose_b=false} : f32[3,3]
      %4 = reduce_sum(%3) {axes=[1]} : f32[3,1]
      %5 = matmul(%0, %0) {transpose_a=true, transpose_b=false} : f32[5,5]
      output "a" = %2
      output "s" = %4
      output "t" = %5
      output "x" = %0
      """)
    let plan = PlanMemory().plan(graph)
    #expect(plan.offsets.count == 5)
    #expect(plan.offsets.values.allSatisfy { $0 % PlanMemory.alignment == 0 })
    // 36 + 36 + 12 + 100 + 60 bytes, each rounded up to a multiple of 64; the leaf output,
    // placed last, reuses the slot of %3, which dies in its own kernel.
    #expect(plan.unplannedBytes == 64 + 64 + 64 + 128 + 64)
    #expect(plan.arenaBytes == 64 + 64 + 64 + 128)
    #expect(plan.offsets[NodeID(0)] == plan.offsets[NodeID(3)])
    #expect(overlappingRegions(graph, plan) == [])
  }

  @Test func `A convolution's scratch is counted and freed after its kernel`() throws {
    let graph = try fuseAndSchedule(
      """
      %0 = input() {name="x"} : f32[2,3,8,8]
      %1 = variable() {var="w"} : f32[4,3,3,3]
      %2 = conv2d(%0, %1) {stride=1, padding=1} : f32[2,4,8,8]
      %3 = reshape(%2) {shape=[8,64]} : f32[8,64]
      %4 = variable() {var="v"} : f32[64,64]
      %5 = matmul(%3, %4) {transpose_a=false, transpose_b=false} : f32[8,64]
      output "y" = %5
      """)
    let plan = PlanMemory().plan(graph)
    let scratch = 2 * 3 * 3 * 3 * 8 * 8 * 4  // min(n, 16) * c * kh * kw * oh * ow * 4
    #expect(plan.scratch[0]?.bytes == scratch)
    #expect(plan.scratch[0]?.offset == 2048)
    #expect(plan.scratch[1] == nil)
    // The product (2 KiB), an output kept to the end, takes the top of the freed scratch, so
    // that the range below stays whole.
    #expect(plan.offsets[NodeID(5)] == 2048 + scratch - 2048)
    #expect(plan.arenaBytes == 2048 + scratch)
    #expect(plan.unplannedBytes == 2048 + scratch + 2048)
    #expect(overlappingRegions(graph, plan) == [])
  }

  @Test func `A channels-last convolution gets the largest range free during its kernel`() throws {
    let graph = try fuseAndSchedule(
      """
      %0 = input() {name="x"} : f32[2,8,8,3]
      %1 = variable() {var="w"} : f32[4,3,3,3]
      %2 = conv2d(%0, %1) {stride=1, padding=1, channels_last=true} : f32[2,8,8,4]
      %3 = reshape(%2) {shape=[8,64]} : f32[8,64]
      %4 = variable() {var="v"} : f32[64,256]
      %5 = matmul(%3, %4) {transpose_a=false, transpose_b=false} : f32[8,256]
      output "y" = %5
      """)
    let plan = PlanMemory().plan(graph)
    // The convolution's output (2 KiB) is live in its kernel; the product's 8 KiB after it are
    // not yet: they are the spare, and the arena does not grow for it.
    #expect(plan.offsets[NodeID(2)] == 0)
    #expect(plan.scratch[0]?.offset == 2048)
    #expect(plan.scratch[0]?.bytes == 8192)
    #expect(plan.scratch[1] == nil)
    #expect(plan.arenaBytes == 2048 + 8192)
    #expect(plan.unplannedBytes == 2048 + 8192)
    #expect(overlappingRegions(graph, plan) == [])
  }

  @Test func `Convolution scratch covers at most one chunk of images`() throws {
    let graph = try Parser.parseGraph(
      """
      %0 = input() {name="x"} : f32[20,3,8,8]
      %1 = variable() {var="w"} : f32[4,3,3,3]
      %2 = conv2d(%0, %1) {stride=2, padding=1} : f32[20,4,4,4]
      %3 = conv2d_input_grad(%2, %1) {stride=2, padding=1, input=[20,3,8,8]} : f32[20,3,8,8]
      %4 = conv2d_filter_grad(%0, %2) {stride=2, padding=1, filter=[4,3,3,3]} : f32[4,3,3,3]
      %5 = exp(%0) : f32[20,3,8,8]
      """)
    try Verifier().verify(graph)
    let expected = PlanMemory.convolutionChunk * 3 * 3 * 3 * 4 * 4 * 4
    for index in 2...4 {
      #expect(PlanMemory.scratchBytes(graph[NodeID(index)], graph) == expected, "%\(index)")
    }
    #expect(PlanMemory.scratchBytes(graph[NodeID(5)], graph) == 0)
  }

  /// w' = w - x w: once no kernel reads w any more, its kernel stores w' into w's place.
  static let update = """
    %0 = input() {name="x"} : f32[8,8]
    %1 = variable() {var="w"} : f32[8,8]
    %2 = matmul(%0, %1) {transpose_a=false, transpose_b=false} : f32[8,8]
    %3 = sub(%1, %2) : f32[8,8]
    %4 = assign(%3) {var="w"} : f32[8,8]
    %5 = matmul(%2, %0) {transpose_a=false, transpose_b=false} : f32[8,8]
    output "a" = %5
    """

  @Test func `A state update nothing reads the old value after is stored in the state arena`()
    throws
  {
    let graph = try fuseAndSchedule(Self.update)
    let plan = PlanMemory().plan(graph)
    let value = try #require(graph.ids.first { graph[$0].op == .binary(.sub) })
    #expect(plan.stateStores == [value: "w"])
    #expect(plan.offsets[value] == nil)
    #expect(dataflowViolations(graph, plan).isEmpty)
    // A later kernel reading w keeps the new value in the arena until the copy at the end.
    let later = try fuseAndSchedule(
      Self.update.replacingOccurrences(of: "matmul(%2, %0)", with: "matmul(%2, %1)"))
    #expect(PlanMemory().plan(later).stateStores.isEmpty)
    // The checker sees a state store that a later kernel still reads the variable after.
    var wrong = PlanMemory().plan(later)
    let laterValue = try #require(later.ids.first { later[$0].op == .binary(.sub) })
    wrong.stateStores[laterValue] = "w"
    #expect(dataflowViolations(later, wrong).contains { $0.contains("reads variable w") })
  }

  @Test func `Outputs and assign operands stay alive to the end`() throws {
    let graph = try fuseAndSchedule(
      """
      %0 = input() {name="x"} : f32[8,8]
      %1 = variable() {var="w"} : f32[8,8]
      %2 = matmul(%0, %1) {transpose_a=false, transpose_b=false} : f32[8,8]
      %3 = sub(%1, %2) : f32[8,8]
      %4 = assign(%3) {var="w"} : f32[8,8]
      %5 = matmul(%2, %1) {transpose_a=false, transpose_b=false} : f32[8,8]
      %6 = matmul(%5, %0) {transpose_a=false, transpose_b=false} : f32[8,8]
      %7 = matmul(%6, %0) {transpose_a=false, transpose_b=false} : f32[8,8]
      %8 = matmul(%7, %0) {transpose_a=false, transpose_b=false} : f32[8,8]
      output "a" = %5
      output "d" = %8
      """)
    check(
      printed(graph),
      """
      CHECK: %3 = sub(%1, %2) : f32[8,8] kernel(0)
      CHECK-NEXT: %4 = matmul(%2, %1) {transpose_a=false, transpose_b=false} : f32[8,8] kernel(1)
      CHECK: %7 = matmul(%6, %0) {transpose_a=false, transpose_b=false} : f32[8,8] kernel(4)
      CHECK-NEXT: %8 = assign(%3) {var="w"} : f32[8,8]
      """)
    let plan = PlanMemory().plan(graph)
    #expect(overlappingRegions(graph, plan) == [])
    // A (%2) dies after kernel 1; the assigned value (%3: w is read after it, so it is copied
    // at the end) and the output (%4) never do.
    let pinned = [NodeID(3), NodeID(4)]
    for late in [5, 6, 7].map(NodeID.init) {
      let range = plan.offsets[late]!..<plan.offsets[late]! + 256
      for value in pinned {
        let pinnedRange = plan.offsets[value]!..<plan.offsets[value]! + 256
        #expect(!range.overlaps(pinnedRange), "\(late) overlaps \(value)")
      }
    }
    #expect(plan.offsets[NodeID(5)] == plan.offsets[NodeID(2)])
    #expect(plan.arenaBytes == 4 * 256)
  }

  @Test func `The overlap checker reports two live values at one offset`() throws {
    let graph = try fuseAndSchedule(Self.chain)
    var plan = PlanMemory().plan(graph)
    plan.offsets[NodeID(3)] = plan.offsets[NodeID(2)]
    #expect(overlappingRegions(graph, plan).contains("at 1: %2 0..<256 overlaps %3 0..<256"))
    plan.inPlace[NodeID(3)] = NodeID(2)
    #expect(overlappingRegions(graph, plan).contains("%3 cannot be computed in place over %2"))
  }

  @Test func `The dataflow checker reports a store over a value still to be read`() throws {
    let graph = try fuseAndSchedule(Self.chain)
    var plan = PlanMemory().plan(graph)
    #expect(dataflowViolations(graph, plan) == [])
    plan.offsets[NodeID(3)] = plan.offsets[NodeID(2)]
    // %4 reuses %2's old place, now %3's, and so overwrites %3 too.
    #expect(
      dataflowViolations(graph, plan) == [
        "%3 (kernel 1) overwrites %2, still to be read",
        "%4 (kernel 2) overwrites %3, still to be read",
      ])
  }

  @Test func `An elementwise value may take the buffer of an operand that dies with it`() throws {
    let graph = try fuseAndSchedule(
      """
      %0 = input() {name="x"} : f32[8,8]
      %1 = variable() {var="w"} : f32[8,8]
      %2 = matmul(%0, %1) {transpose_a=false, transpose_b=false} : f32[8,8]
      %3 = relu(%2) : f32[8,8]
      %4 = matmul(%3, %1) {transpose_a=false, transpose_b=false} : f32[8,8]
      output "y" = %4
      """)
    let plan = PlanMemory().plan(graph)
    #expect(overlappingRegions(graph, plan) == [])
    if plan.inPlace[NodeID(3)] == NodeID(2) {
      #expect(plan.offsets[NodeID(3)] == plan.offsets[NodeID(2)])
      #expect(plan.arenaBytes == 2 * 256)
    } else {
      #expect(plan.arenaBytes == 3 * 256)
    }
  }

  @Test func `Scheduled branches keep live values apart`() throws {
    let graph = try fuseAndSchedule(ScheduleKernelsTests.branches)
    #expect(overlappingRegions(graph, PlanMemory().plan(graph)) == [])
  }

  /// NCHW convolutions need im2col scratch (forward, filter and input gradients); channels-last
  /// ones need none, and get the range free during their kernel (inside the arena) instead.
  @Test(arguments: [false, true])
  func `Every entry of the tiny R1 program has a sound, aligned, reusing plan`(
    channelsLast: Bool
  ) throws {
    let planned = try plannedTinyResNet(channelsLast: channelsLast)
    for entry in planned.entries {
      #expect(overlappingRegions(entry.graph, entry.memory) == [], "\(entry.name)")
      #expect(entry.memory.offsets.values.allSatisfy { $0 % 64 == 0 }, "\(entry.name)")
      #expect(entry.memory.scratch.values.allSatisfy { $0.offset % 64 == 0 }, "\(entry.name)")
      #expect(entry.memory.arenaBytes < entry.memory.unplannedBytes, "\(entry.name)")
      let kernels = entry.graph.kernelMembers()
      let convolutions = kernels.indices.filter { kernel in
        kernels[kernel].contains { PlanMemory.scratchBytes(entry.graph[$0], entry.graph) > 0 }
      }
      let channelsLastConvolutions = kernels.indices.filter { kernel in
        kernels[kernel].contains { PlanMemory.isChannelsLastConvolution(entry.graph[$0]) }
      }
      #expect(
        Set(entry.memory.scratch.keys).subtracting(convolutions)
          .isSubset(of: channelsLastConvolutions), "\(entry.name)")
      #expect(
        entry.memory.scratch.values.allSatisfy { $0.offset + $0.bytes <= entry.memory.arenaBytes })
      if channelsLast {
        #expect(convolutions.isEmpty, "\(entry.name)")
        #expect(
          channelsLastConvolutions.contains { entry.memory.scratch[$0] != nil },
          "a spare range in \(entry.name)")
      } else {
        #expect(convolutions.count >= 3, "conv, filter and input gradients in \(entry.name)")
      }
    }
  }
}
