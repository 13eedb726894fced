import GraphCompiler
import GraphIR
import Testing

@Suite struct ScheduleKernelsTests {
  /// Two independent branches: kernel 0 makes a big value `A` only the last kernel reads;
  /// kernels 1 and 2 make and consume a medium temporary and leave a small row.
  static let branches = """
    %0 = input() {name="x0"} : f32[64,64]
    %1 = variable() {var="w0"} : f32[64,64]
    %2 = matmul(%0, %1) {transpose_a=false, transpose_b=false} : f32[64,64]
    %3 = input() {name="x1"} : f32[32,64]
    %4 = variable() {var="w1"} : f32[64,64]
    %5 = matmul(%3, %4) {transpose_a=false, transpose_b=false} : f32[32,64]
    %6 = matmul(%5, %4) {transpose_a=false, transpose_b=false} : f32[32,64]
    %7 = reduce_sum(%6) {axes=[0]} : f32[1,64]
    %8 = matmul(%7, %2) {transpose_a=false, transpose_b=false} : f32[1,64]
    output "y" = %8
    """

  @Test func `The greedy order runs the short-lived branch before the big long-lived value`()
    throws
  {
    let fused = try fuseAndSchedule(Self.branches, schedule: false)
    check(
      printed(fused),
      """
      CHECK: %2 = matmul(%0, %1) {transpose_a=false, transpose_b=false} : f32[64,64] kernel(0)
      CHECK: %5 = matmul(%3, %4) {transpose_a=false, transpose_b=false} : f32[32,64] kernel(1)
      CHECK: %7 = reduce_sum(%6) {axes=[0]} : f32[1,64] kernel(2)
      CHECK: %8 = matmul(%7, %2) {transpose_a=false, transpose_b=false} : f32[1,64] kernel(3)
      """)
    let result = try ScheduleKernels().run(fused)
    #expect(result.changed)
    try Verifier().verify(result.graph)
    #expect(scheduleViolations(result.graph) == [])
    check(
      printed(result.graph),
      """
      CHECK: %0 = input() {name="x1"} : f32[32,64]
      CHECK-NEXT: %1 = variable() {var="w1"} : f32[64,64]
      CHECK-NEXT: %2 = matmul(%0, %1) {transpose_a=false, transpose_b=false} : f32[32,64] kernel(0)
      CHECK-NEXT: %3 = matmul(%2, %1) {transpose_a=false, transpose_b=false} : f32[32,64] kernel(1)
      CHECK-NEXT: %4 = reduce_sum(%3) {axes=[0]} : f32[1,64] kernel(1)
      CHECK-NEXT: %5 = input() {name="x0"} : f32[64,64]
      CHECK-NEXT: %6 = variable() {var="w0"} : f32[64,64]
      CHECK-NEXT: %7 = matmul(%5, %6) {transpose_a=false, transpose_b=false} : f32[64,64] kernel(2)
      CHECK-NEXT: %8 = matmul(%4, %7) {transpose_a=false, transpose_b=false} : f32[1,64] kernel(3)
      CHECK-NEXT: output "y" = %8
      """)
  }

  @Test func `Scheduling lowers the arena peak of the two branches`() throws {
    let unscheduled = PlanMemory().plan(try fuseAndSchedule(Self.branches, schedule: false))
    let scheduled = PlanMemory().plan(try fuseAndSchedule(Self.branches))
    // Creation order: A (16 KiB) stays alive under T1 and T2 (8 KiB each) and the row.
    #expect(unscheduled.arenaBytes == 16384 + 8192 + 8192 + 256)
    // Scheduled: T1 and T2 die before A takes their place; only the two rows add to A.
    #expect(scheduled.arenaBytes == 16384 + 256 + 256)
    #expect(scheduled.arenaBytes < unscheduled.arenaBytes)
  }

  @Test func `State updates come after every kernel`() throws {
    let text = """
      %0 = variable() {var="w"} : f32[4]
      %1 = input() {name="g"} : f32[4]
      %2 = constant() {splat=0.1} : f32[4]
      %3 = mul(%1, %2) : f32[4]
      %4 = sub(%0, %3) : f32[4]
      %5 = assign(%4) {var="w"} : f32[4]
      %6 = exp(%0) : f32[4]
      output "e" = %6
      """
    let graph = try fuseAndSchedule(text)
    #expect(scheduleViolations(graph) == [])
    check(
      printed(graph),
      """
      CHECK: %0 = variable() {var="w"} : f32[4]
      CHECK-NEXT: %1 = input() {name="g"} : f32[4]
      CHECK-NEXT: %2 = constant() {splat=0.1} : f32[4]
      CHECK-NEXT: %3 = mul(%1, %2) : f32[4]
      CHECK-NEXT: %4 = sub(%0, %3) : f32[4] kernel(0)
      CHECK-NEXT: %5 = exp(%0) : f32[4] kernel(1)
      CHECK-NEXT: %6 = assign(%4) {var="w"} : f32[4]
      CHECK-NEXT: output "e" = %5
      """)
  }

  @Test func `Inlined nodes move to just before their first use`() throws {
    let text = """
      %0 = input() {name="x"} : f32[4]
      %1 = neg(%0) : f32[4]
      %2 = input() {name="y"} : f32[2,2]
      %3 = variable() {var="w"} : f32[2,2]
      %4 = matmul(%2, %3) {transpose_a=false, transpose_b=false} : f32[2,2]
      %5 = reshape(%4) {shape=[4]} : f32[4]
      %6 = add(%5, %1) : f32[4]
      output "z" = %6
      """
    let graph = try fuseAndSchedule(text)
    #expect(scheduleViolations(graph) == [])
    check(
      printed(graph),
      """
      CHECK: %0 = input() {name="y"} : f32[2,2]
      CHECK-NEXT: %1 = variable() {var="w"} : f32[2,2]
      CHECK-NEXT: %2 = matmul(%0, %1) {transpose_a=false, transpose_b=false} : f32[2,2] kernel(0)
      CHECK-NEXT: %3 = reshape(%2) {shape=[4]} : f32[4]
      CHECK-NEXT: %4 = input() {name="x"} : f32[4]
      CHECK-NEXT: %5 = neg(%4) : f32[4]
      CHECK-NEXT: %6 = add(%3, %5) : f32[4] kernel(0)
      """)
  }

  @Test func `The schedule checker reports misplaced nodes`() throws {
    let graph = try Parser.parseGraph(
      """
      %0 = input() {name="x"} : f32[4]
      %1 = neg(%0) : f32[4]
      %2 = exp(%0) : f32[4] kernel(1)
      %3 = assign(%2) {var="w"} : f32[4]
      %4 = add(%1, %2) : f32[4] kernel(0)
      output "y" = %4
      """)
    #expect(
      scheduleViolations(graph) == [
        "%2 starts kernel 1 after -1", "%4 starts kernel 0 after 1",
        "state update %3 comes before stored node %4",
        "%1 is placed before %2 of kernel 1, far from %4",
      ])
  }

  @Test func `A single-kernel graph is unchanged`() throws {
    try expectUnchanged(
      ScheduleKernels(),
      """
      %0 = input() {name="x"} : f32[4]
      %1 = exp(%0) : f32[4] kernel(0)
      %2 = reduce_sum(%1) {axes=[0]} : f32[1] kernel(0)
      %3 = broadcast(%2) {shape=[4]} : f32[4]
      %4 = div(%1, %3) : f32[4] kernel(0)
      output "y" = %4
      """)
  }

  @Test func `A graph without kernels is unchanged`() throws {
    try expectUnchanged(
      ScheduleKernels(),
      """
      %0 = input() {name="x"} : f32[4]
      output "x" = %0
      """)
  }

  @Test func `Every entry of the tiny R1 program is scheduled with contiguous kernels`() throws {
    let planned = try plannedTinyResNet()
    #expect(!planned.entries.isEmpty)
    for entry in planned.entries {
      try Verifier().verify(entry.graph)
      #expect(scheduleViolations(entry.graph) == [], "\(entry.name)")
      #expect(entry.graph.kernelMembers().allSatisfy { !$0.isEmpty }, "\(entry.name)")
    }
  }
}
