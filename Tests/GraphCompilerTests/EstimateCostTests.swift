import GraphCompiler
import GraphIR
import Testing

/// The per-kernel costs of `text` after fusion and scheduling.
private func costs(_ text: String) throws -> [KernelCost] {
  try fuseAndSchedule(text).kernelCosts()
}

@Suite struct EstimateCostTests {
  @Test func `A matrix product costs 2mnk FLOPs whichever operand is transposed`() throws {
    let result = try costs(
      """
      %0 = input() {name="a"} : f32[2,3]
      %1 = input() {name="b"} : f32[3,5]
      %2 = matmul(%0, %1) {transpose_a=false, transpose_b=false} : f32[2,5]
      %3 = input() {name="at"} : f32[3,2]
      %4 = matmul(%3, %1) {transpose_a=true, transpose_b=false} : f32[2,5]
      %5 = input() {name="bt"} : f32[5,3]
      %6 = matmul(%0, %5) {transpose_a=false, transpose_b=true} : f32[2,5]
      output "c" = %2
      output "ct" = %4
      output "cbt" = %6
      """)
    #expect(result.map(\.flops) == [2 * 2 * 5 * 3, 2 * 2 * 5 * 3, 2 * 2 * 5 * 3])
    // Output 40 bytes, A 24 bytes, B 60 bytes.
    #expect(result.map(\.bytes) == [124, 124, 124])
  }

  @Test func `A convolution costs 2 N O OH OW C KH KW FLOPs`() throws {
    let result = try costs(
      """
      %0 = input() {name="x"} : f32[2,3,8,8]
      %1 = variable() {var="w"} : f32[4,3,3,3]
      %2 = conv2d(%0, %1) {stride=2, padding=1} : f32[2,4,4,4]
      output "y" = %2
      """)
    #expect(result.map(\.flops) == [2 * 2 * 4 * 4 * 4 * 3 * 3 * 3])
    #expect(result.map(\.bytes) == [(2 * 4 * 4 * 4 + 2 * 3 * 8 * 8 + 4 * 3 * 3 * 3) * 4])
  }

  @Test func `An inlined chain of three elementwise ops over n elements costs 3n`() throws {
    let result = try costs(
      """
      %0 = input() {name="x"} : f32[6]
      %1 = input() {name="y"} : f32[6]
      %2 = exp(%0) : f32[6]
      %3 = mul(%2, %1) : f32[6]
      %4 = add(%3, %1) : f32[6]
      output "z" = %4
      """)
    #expect(result.map(\.flops) == [3 * 6])
    // x and y read once each (y is used twice), z written once.
    #expect(result.map(\.bytes) == [3 * 6 * 4])
  }

  @Test func `Views inside an expression cost no FLOPs`() throws {
    let result = try costs(
      """
      %0 = input() {name="x"} : f32[2,4]
      %1 = input() {name="b"} : f32[1,4]
      %2 = broadcast(%1) {shape=[2,4]} : f32[2,4]
      %3 = mul(%0, %2) : f32[2,4]
      %4 = reshape(%3) {shape=[8]} : f32[8]
      %5 = neg(%4) : f32[8]
      output "y" = %5
      """)
    #expect(result.map(\.flops) == [2 * 8])
    #expect(result.map(\.bytes) == [(8 + 8 + 4) * 4])
  }

  @Test func `A reduction counts one op per operand element plus its prologue`() throws {
    let result = try costs(
      """
      %0 = input() {name="x"} : f32[2,4]
      %1 = exp(%0) : f32[2,4]
      %2 = reduce_sum(%1) {axes=[1]} : f32[2,1]
      output "s" = %2
      """)
    #expect(result.map(\.flops) == [8 * 2])
    #expect(result.map(\.bytes) == [(8 + 2) * 4])
  }

  @Test func `A reduction over a stored value does not count that value's op again`() throws {
    let result = try costs(
      """
      %0 = input() {name="x"} : f32[2,4]
      %1 = exp(%0) : f32[2,4]
      %2 = reduce_sum(%1) {axes=[1]} : f32[2,1]
      output "e" = %1
      output "s" = %2
      """)
    // exp: 8, the sums: 8.
    #expect(result.map(\.flops) == [8 + 8])
  }

  @Test func `Each stored input is read once per kernel and each stored output written once`()
    throws
  {
    let result = try costs(
      """
      %0 = input() {name="x"} : f32[4]
      %1 = exp(%0) : f32[4]
      %2 = neg(%1) : f32[4]
      %3 = mul(%2, %0) : f32[4]
      %4 = add(%3, %1) : f32[4]
      output "z" = %4
      """)
    // One kernel storing %4; its two users recompute exp (so 5 ops per element), and x is
    // read once for both.
    #expect(result.map(\.flops) == [5 * 4])
    #expect(result.map(\.bytes) == [2 * 16])
  }

  @Test func `The tiny R1 program has one cost per kernel`() throws {
    for entry in try plannedTinyResNet().entries {
      #expect(entry.costs.count == entry.graph.kernelMembers().count, "\(entry.name)")
      #expect(entry.costs.allSatisfy { $0.bytes > 0 }, "\(entry.name)")
    }
  }
}
