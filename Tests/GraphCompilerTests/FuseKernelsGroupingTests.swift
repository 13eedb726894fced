import GraphCompiler
import GraphIR
import Testing

/// How FuseKernels groups stored values into kernels, and its size limits.
@Suite struct FuseKernelsGroupingTests {
  let pass = FuseKernels()

  @Test func `Conv, batch statistics, normalisation and ReLU become one kernel`() throws {
    let (after, changed) = try runPass(pass, Self.convBatchNormReLU)
    #expect(changed)
    check(
      after,
      """
      CHECK: %2 = conv2d(%0, %1) {stride=1, padding=1} : f32[2,2,4,4] kernel(0)
      CHECK-NEXT: %3 = reduce_mean(%2) {axes=[0,2,3]} : f32[1,2,1,1] kernel(0)
      CHECK-NEXT: %4 = broadcast(%3) {shape=[2,2,4,4]} : f32[2,2,4,4]
      CHECK-NEXT: %5 = sub(%2, %4) : f32[2,2,4,4]
      CHECK-NEXT: %6 = mul(%5, %5) : f32[2,2,4,4]
      CHECK-NEXT: %7 = reduce_mean(%6) {axes=[0,2,3]} : f32[1,2,1,1] kernel(0)
      CHECK-NOT: kernel(
      CHECK: %13 = relu(%12) : f32[2,2,4,4] kernel(0)
      CHECK-NOT: kernel(1)
      """)
    // The centred values are recomputed by the variance and the normalisation, not stored.
    #expect(!after.contains("%5 = sub(%2, %4) : f32[2,2,4,4] kernel"))
  }

  static let convBatchNormReLU = """
    %0 = input() {name="x"} : f32[2,1,4,4]
    %1 = variable() {var="w"} : f32[2,1,3,3]
    %2 = conv2d(%0, %1) {stride=1, padding=1} : f32[2,2,4,4]
    %3 = reduce_mean(%2) {axes=[0,2,3]} : f32[1,2,1,1]
    %4 = broadcast(%3) {shape=[2,2,4,4]} : f32[2,2,4,4]
    %5 = sub(%2, %4) : f32[2,2,4,4]
    %6 = mul(%5, %5) : f32[2,2,4,4]
    %7 = reduce_mean(%6) {axes=[0,2,3]} : f32[1,2,1,1]
    %8 = constant() {splat=1e-05} : f32[1,2,1,1]
    %9 = add(%7, %8) : f32[1,2,1,1]
    %10 = rsqrt(%9) : f32[1,2,1,1]
    %11 = broadcast(%10) {shape=[2,2,4,4]} : f32[2,2,4,4]
    %12 = mul(%5, %11) : f32[2,2,4,4]
    %13 = relu(%12) : f32[2,2,4,4]
    output "y" = %13
    """

  @Test func `Fusing an already fused graph changes nothing`() throws {
    let (once, _) = try runPass(pass, Self.convBatchNormReLU)
    try expectUnchanged(pass, once)
  }

  static let outputChain = """
    %0 = input() {name="x"} : f32[4]
    %1 = exp(%0) : f32[4]
    %2 = exp(%1) : f32[4]
    %3 = exp(%2) : f32[4]
    output "a" = %1
    output "b" = %2
    output "c" = %3
    """

  @Test func `The kernel-size cap starts a new kernel`() throws {
    let (uncapped, _) = try runPass(pass, Self.outputChain)
    check(uncapped, "CHECK: %3 = exp(%2) : f32[4] kernel(0)")
    var capped = pass
    capped.maxKernelSize = 2
    let (after, _) = try runPass(capped, Self.outputChain)
    check(
      after,
      """
      CHECK: %1 = exp(%0) : f32[4] kernel(0)
      CHECK-NEXT: %2 = exp(%1) : f32[4] kernel(0)
      CHECK-NEXT: %3 = exp(%2) : f32[4] kernel(1)
      """)
  }

  static let longChain = """
    %0 = input() {name="x"} : f32[4]
    %1 = exp(%0) : f32[4]
    %2 = neg(%1) : f32[4]
    %3 = log(%2) : f32[4]
    %4 = exp(%3) : f32[4]
    %5 = neg(%4) : f32[4]
    %6 = log(%5) : f32[4]
    output "y" = %6
    """

  @Test func `The expression-size cap stores an intermediate of a long chain`() throws {
    let (uncapped, _) = try runPass(pass, Self.longChain)
    check(uncapped, "CHECK-NOT: kernel(\nCHECK: %6 = log(%5) : f32[4] kernel(0)")
    var capped = pass
    capped.maxExpressionSize = 2
    let (after, _) = try runPass(capped, Self.longChain)
    check(
      after,
      """
      CHECK-NOT: kernel(
      CHECK: %3 = log(%2) : f32[4] kernel(0)
      CHECK-NOT: kernel(
      CHECK: %6 = log(%5) : f32[4] kernel(0)
      """)
  }
}
