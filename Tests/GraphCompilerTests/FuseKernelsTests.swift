import GraphCompiler
import GraphIR
import Testing

@Suite struct FuseKernelsTests {
  let pass = FuseKernels()

  @Test func `An elementwise chain with single uses stores only its last op`() throws {
    try expectPass(
      pass,
      """
      %0 = input() {name="x"} : f32[4]
      %1 = input() {name="y"} : f32[4]
      %2 = exp(%0) : f32[4]
      %3 = mul(%2, %1) : f32[4]
      %4 = add(%3, %1) : f32[4]
      output "z" = %4
      """,
      """
      %0 = input() {name="x"} : f32[4]
      %1 = input() {name="y"} : f32[4]
      %2 = exp(%0) : f32[4]
      %3 = mul(%2, %1) : f32[4]
      %4 = add(%3, %1) : f32[4] kernel(0)
      output "z" = %4
      """, changed: true)
  }

  @Test func `A value with two elementwise users is stored in the kernel of its reader`() throws {
    // Over two stored tensors: each user recomputing it would read both instead of one.
    try expectPass(
      pass,
      """
      %0 = input() {name="x"} : f32[4]
      %1 = input() {name="y"} : f32[4]
      %2 = mul(%0, %1) : f32[4]
      %3 = neg(%2) : f32[4]
      %4 = log(%2) : f32[4]
      %5 = add(%3, %4) : f32[4]
      output "z" = %5
      """,
      """
      %0 = input() {name="x"} : f32[4]
      %1 = input() {name="y"} : f32[4]
      %2 = mul(%0, %1) : f32[4] kernel(0)
      %3 = neg(%2) : f32[4]
      %4 = log(%2) : f32[4]
      %5 = add(%3, %4) : f32[4] kernel(0)
      output "z" = %5
      """, changed: true)
  }

  /// A per-column value with a long expression over an all-reduced sum (a data-parallel
  /// BatchNorm statistic) is stored for the large value that reads it; the same expression over
  /// a plain sum stays inlined into its reader.
  @Test(arguments: [true, false])
  func `A small long value over a collective is stored for its large reader`(collective: Bool)
    throws
  {
    let sum = collective ? "all_reduce(%2) {ranks=2}" : "neg(%2)"
    let stored = collective ? " kernel(1)" : ""
    try expectPass(
      pass,
      """
      %0 = input() {name="x"} : f32[16,4]
      %1 = input() {name="scale"} : f32[1,4]
      %2 = reduce_sum(%0) {axes=[0]} : f32[1,4]
      %3 = \(sum) : f32[1,4]
      %4 = mul(%3, %3) : f32[1,4]
      %5 = add(%4, %1) : f32[1,4]
      %6 = sqrt(%5) : f32[1,4]
      %7 = mul(%6, %1) : f32[1,4]
      %8 = exp(%7) : f32[1,4]
      %9 = neg(%8) : f32[1,4]
      %10 = add(%9, %1) : f32[1,4]
      %11 = broadcast(%10) {shape=[16,4]} : f32[16,4]
      %12 = sub(%0, %11) : f32[16,4]
      output "y" = %12
      """,
      """
      %0 = input() {name="x"} : f32[16,4]
      %1 = input() {name="scale"} : f32[1,4]
      %2 = reduce_sum(%0) {axes=[0]} : f32[1,4] kernel(0)
      %3 = \(sum) : f32[1,4]\(collective ? " kernel(1)" : "")
      %4 = mul(%3, %3) : f32[1,4]
      %5 = add(%4, %1) : f32[1,4]
      %6 = sqrt(%5) : f32[1,4]
      %7 = mul(%6, %1) : f32[1,4]
      %8 = exp(%7) : f32[1,4]
      %9 = neg(%8) : f32[1,4]
      %10 = add(%9, %1) : f32[1,4]\(stored)
      %11 = broadcast(%10) {shape=[16,4]} : f32[16,4]
      %12 = sub(%0, %11) : f32[16,4]\(collective ? " kernel(1)" : " kernel(0)")
      output "y" = %12
      """, changed: true)
  }

  static let expWithTwoUsers = """
    %0 = input() {name="x"} : f32[4]
    %1 = exp(%0) : f32[4]
    %2 = neg(%1) : f32[4]
    %3 = log(%1) : f32[4]
    %4 = add(%2, %3) : f32[4]
    output "z" = %4
    """

  @Test func `A short value with two users over one stored tensor is recomputed by each`() throws {
    // Its users read x where they would have read it: storing it would only add a write.
    try expectPass(
      pass, Self.expWithTwoUsers,
      """
      %0 = input() {name="x"} : f32[4]
      %1 = exp(%0) : f32[4]
      %2 = neg(%1) : f32[4]
      %3 = log(%1) : f32[4]
      %4 = add(%2, %3) : f32[4] kernel(0)
      output "z" = %4
      """, changed: true)
    var storing = pass
    storing.maxRecomputedSize = 0
    let (after, _) = try runPass(storing, Self.expWithTwoUsers)
    check(after, "CHECK: %1 = exp(%0) : f32[4] kernel(0)")
  }

  @Test func `A broadcast of a leaf used twice stays an inlined view`() throws {
    try expectPass(
      pass,
      """
      %0 = input() {name="x"} : f32[2,4]
      %1 = input() {name="b"} : f32[1,4]
      %2 = broadcast(%1) {shape=[2,4]} : f32[2,4]
      %3 = mul(%0, %2) : f32[2,4]
      %4 = add(%3, %2) : f32[2,4]
      output "z" = %4
      """,
      """
      %0 = input() {name="x"} : f32[2,4]
      %1 = input() {name="b"} : f32[1,4]
      %2 = broadcast(%1) {shape=[2,4]} : f32[2,4]
      %3 = mul(%0, %2) : f32[2,4]
      %4 = add(%3, %2) : f32[2,4] kernel(0)
      output "z" = %4
      """, changed: true)
  }

  @Test func `A reshape of a stored value used twice stays an inlined view`() throws {
    try expectPass(
      pass,
      """
      %0 = input() {name="x"} : f32[2,4]
      %1 = exp(%0) : f32[2,4]
      %2 = reshape(%1) {shape=[8]} : f32[8]
      %3 = neg(%2) : f32[8]
      %4 = add(%3, %2) : f32[8]
      output "e" = %1
      output "z" = %4
      """,
      """
      %0 = input() {name="x"} : f32[2,4]
      %1 = exp(%0) : f32[2,4] kernel(0)
      %2 = reshape(%1) {shape=[8]} : f32[8]
      %3 = neg(%2) : f32[8]
      %4 = add(%3, %2) : f32[8] kernel(0)
      output "e" = %1
      output "z" = %4
      """, changed: true)
  }

  @Test func `A broadcast of a short inlined value used twice is recomputed by its users`() throws {
    try expectPass(
      pass,
      """
      %0 = input() {name="x"} : f32[1,4]
      %1 = exp(%0) : f32[1,4]
      %2 = broadcast(%1) {shape=[2,4]} : f32[2,4]
      %3 = neg(%2) : f32[2,4]
      %4 = add(%3, %2) : f32[2,4]
      output "z" = %4
      """,
      """
      %0 = input() {name="x"} : f32[1,4]
      %1 = exp(%0) : f32[1,4]
      %2 = broadcast(%1) {shape=[2,4]} : f32[2,4]
      %3 = neg(%2) : f32[2,4]
      %4 = add(%3, %2) : f32[2,4] kernel(0)
      output "z" = %4
      """, changed: true)
  }

  @Test func `A reduction takes its elementwise operand as a prologue and is stored`() throws {
    try expectPass(
      pass,
      """
      %0 = input() {name="x"} : f32[2,4]
      %1 = exp(%0) : f32[2,4]
      %2 = reduce_sum(%1) {axes=[1]} : f32[2,1]
      output "s" = %2
      """,
      """
      %0 = input() {name="x"} : f32[2,4]
      %1 = exp(%0) : f32[2,4]
      %2 = reduce_sum(%1) {axes=[1]} : f32[2,1] kernel(0)
      output "s" = %2
      """, changed: true)
  }

  @Test func `A matmul operand that is not a buffer is stored in a kernel of its own`() throws {
    try expectPass(
      pass,
      """
      %0 = input() {name="a"} : f32[2,3]
      %1 = input() {name="b"} : f32[3,4]
      %2 = exp(%0) : f32[2,3]
      %3 = matmul(%2, %1) {transpose_a=false, transpose_b=false} : f32[2,4]
      output "c" = %3
      """,
      """
      %0 = input() {name="a"} : f32[2,3]
      %1 = input() {name="b"} : f32[3,4]
      %2 = exp(%0) : f32[2,3] kernel(0)
      %3 = matmul(%2, %1) {transpose_a=false, transpose_b=false} : f32[2,4] kernel(1)
      output "c" = %3
      """, changed: true)
  }

  @Test func `A 2-D transpose or a reshape of a buffer reaches a matmul as a free view`() throws {
    let graph = try Parser.parseGraph(
      """
      %0 = input() {name="a"} : f32[3,2]
      %1 = transpose(%0) {perm=[1,0]} : f32[2,3]
      %2 = input() {name="b"} : f32[12]
      %3 = reshape(%2) {shape=[3,4]} : f32[3,4]
      %4 = exp(%1) : f32[2,3]
      %5 = transpose(%4) {perm=[1,0]} : f32[3,2]
      %6 = matmul(%1, %3) {transpose_a=false, transpose_b=false} : f32[2,4]
      %7 = matmul(%5, %6) {transpose_a=false, transpose_b=false} : f32[3,4]
      output "e" = %4
      output "c" = %7
      """)
    let fused = try pass.run(graph).graph
    try Verifier().verify(fused)
    func source(_ index: Int) -> (Int, Bool)? {
      fused.bufferSource(NodeID(index)).map { ($0.owner.index, $0.transposed) }
    }
    #expect(source(1)! == (0, true))
    #expect(source(3)! == (2, false))
    #expect(source(5)! == (4, true))
    #expect(fused.ids.filter { fused[$0].kernel != nil } == [4, 6, 7].map(NodeID.init))
  }

  @Test func `Outputs, assign operands and library constants are stored; leaves never are`()
    throws
  {
    try expectPass(
      pass,
      """
      %0 = input() {name="x"} : f32[2,3]
      %1 = constant() {splat=0.5} : f32[3,2]
      %2 = matmul(%0, %1) {transpose_a=false, transpose_b=false} : f32[2,2]
      %3 = variable() {var="w"} : f32[2,2]
      %4 = sub(%3, %2) : f32[2,2]
      %5 = assign(%4) {var="w"} : f32[2,2]
      %6 = exp(%0) : f32[2,3]
      output "x" = %0
      output "e" = %6
      """,
      """
      %0 = input() {name="x"} : f32[2,3]
      %1 = constant() {splat=0.5} : f32[3,2] kernel(0)
      %2 = matmul(%0, %1) {transpose_a=false, transpose_b=false} : f32[2,2] kernel(1)
      %3 = variable() {var="w"} : f32[2,2]
      %4 = sub(%3, %2) : f32[2,2] kernel(1)
      %5 = assign(%4) {var="w"} : f32[2,2]
      %6 = exp(%0) : f32[2,3] kernel(2)
      output "x" = %0
      output "e" = %6
      """, changed: true)
  }

  @Test func `A constant only read by elementwise ops is inlined as a literal`() throws {
    try expectPass(
      pass,
      """
      %0 = input() {name="x"} : f32[4]
      %1 = constant() {splat=2.0} : f32[4]
      %2 = mul(%0, %1) : f32[4]
      %3 = add(%2, %1) : f32[4]
      output "y" = %3
      """,
      """
      %0 = input() {name="x"} : f32[4]
      %1 = constant() {splat=2.0} : f32[4]
      %2 = mul(%0, %1) : f32[4]
      %3 = add(%2, %1) : f32[4] kernel(0)
      output "y" = %3
      """, changed: true)
  }

  @Test func `A graph of leaves only is unchanged`() throws {
    try expectUnchanged(
      pass,
      """
      %0 = input() {name="x"} : f32[4]
      %1 = variable() {var="w"} : f32[4]
      output "x" = %0
      output "w" = %1
      """)
  }
}
