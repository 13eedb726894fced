import GraphCompiler
import GraphIR
import Testing

@testable import CodegenC

/// How a kernel's members are split into loop nests (one pass over memory each).
@Suite struct LoopNestTests {
  /// The members of the single kernel FuseKernels makes of `text`, grouped into nests. Values
  /// with several users are stored (no recomputation), so each test's stores are its own.
  func nests(_ text: String, inPlace: [NodeID: NodeID] = [:]) throws -> [[NodeID]] {
    var fuse = FuseKernels()
    fuse.maxRecomputedSize = 0
    let graph = try fuse.run(try Parser.parseGraph(text)).graph
    let kernels = graph.kernelMembers()
    try #require(kernels.count == 1)
    return LoopNest.group(kernels[0], graph: graph, inPlace: inPlace).map(\.members)
  }

  /// BatchNorm's backward shape: a stored gradient, then channel sums of it and of its
  /// products, and a scaled copy: one nest.
  static let channelSums = """
    %0 = input() {name="dy"} : f32[2,8,4,4]
    %1 = input() {name="x"} : f32[2,8,4,4]
    %2 = input() {name="w"} : f32[1,8,1,1]
    %3 = relu(%0) : f32[2,8,4,4]
    %4 = reduce_sum(%3) {axes=[0,2,3]} : f32[1,8,1,1]
    %5 = broadcast(%2) {shape=[2,8,4,4]} : f32[2,8,4,4]
    %6 = mul(%3, %5) : f32[2,8,4,4]
    %7 = mul(%3, %1) : f32[2,8,4,4]
    %8 = reduce_sum(%7) {axes=[0,2,3]} : f32[1,8,1,1]
    output "a" = %4
    output "b" = %6
    output "c" = %8
    """

  @Test func `Sums over the same axes and the stores between them share one nest`() throws {
    #expect(try nests(Self.channelSums) == [[NodeID(3), NodeID(4), NodeID(6), NodeID(8)]])
  }

  /// Centring needs the finished mean: the variance starts a second nest.
  @Test func `A value that reads a reduction of the nest starts a new nest`() throws {
    let groups = try nests(convBatchNormReLU)
    #expect(groups.first == [NodeID(2)])  // the convolution, a library call
    #expect(groups[1] == [NodeID(3)])  // the mean
    #expect(groups[2].first == NodeID(5))  // centred values, read per element after the mean
    #expect(groups[2].contains(NodeID(7)))  // the variance of the centred values
    #expect(!groups[2].contains(NodeID(3)))
  }

  /// An in-place store over a buffer an earlier member reads at another element (here
  /// transposed) would overwrite elements before they are read: it gets a nest of its own.
  static let transposedRead = """
    %0 = input() {name="x"} : f32[8,8]
    %1 = exp(%0) : f32[8,8]
    %2 = transpose(%1) {perm=[1,0]} : f32[8,8]
    %3 = add(%2, %0) : f32[8,8]
    %4 = mul(%1, %1) : f32[8,8]
    output "a" = %3
    output "b" = %4
    """

  @Test func `An in-place store joins only if earlier members read its target per element`()
    throws
  {
    #expect(try nests(Self.transposedRead) == [[NodeID(1)], [NodeID(3), NodeID(4)]])
    #expect(
      try nests(Self.transposedRead, inPlace: [NodeID(4): NodeID(1)])
        == [[NodeID(1)], [NodeID(3)], [NodeID(4)]])
  }

  /// The C of the single kernel of `text`, with `inPlace` stores.
  func emitted(_ text: String, inPlace: [NodeID: NodeID]) throws -> String {
    var fuse = FuseKernels()
    fuse.maxRecomputedSize = 0
    let graph = try fuse.run(try Parser.parseGraph(text)).graph
    let kernels = graph.kernelMembers()
    try #require(kernels.count == 1)
    var code = CodePrinter()
    KernelEmitter(graph: graph, members: kernels[0], constants: [:], inPlace: inPlace)
      .emit(named: "k", into: &code)
    return code.text
  }

  /// A scaled sum over channels stored in place over the first product (`%3` over `%2`),
  /// small (one loop per dimension) and large (one flat loop shared among threads).
  static func scaledSum(_ shape: String) -> String {
    """
    %0 = input() {name="x"} : f32[\(shape)]
    %1 = input() {name="s"} : f32[\(shape)]
    %2 = exp(%0) : f32[\(shape)]
    %3 = mul(%2, %1) : f32[\(shape)]
    output "a" = %2
    output "b" = %3
    """
  }

  /// The two pointers of an in-place store are not `restrict`; `omp simd` tells clang the
  /// iterations are independent (each reads the shared buffer at its own element), else its
  /// run-time overlap check sends the shared buffer down the scalar loop.
  @Test func `A nest storing in place is vectorised without an overlap check`() throws {
    let inPlace = [NodeID(3): NodeID(2)]
    let small = try emitted(Self.scaledSum("2,8,4"), inPlace: inPlace)
    #expect(small.contains("#pragma omp simd\n"))
    #expect(small.contains("float *y1"))  // the shared buffer, not restrict
    let large = try emitted(Self.scaledSum("64,32,32"), inPlace: inPlace)
    #expect(large.contains("#pragma omp parallel for simd if(parallel: 65536 >= 32768)"))
    let separate = try emitted(Self.scaledSum("2,8,4"), inPlace: [:])
    #expect(!separate.contains("simd"))
  }

  /// Channel sums over contiguous trailing dimensions are vectorised over both of them; a sum
  /// over the outer dimension of a matrix is not (its elements are a row apart).
  @Test func `omp simd covers the contiguous trailing reduced dimensions`() {
    #expect(KernelEmitter.vectorizedRun(shape: [2, 8, 4, 4], reduced: [0, 2, 3]) == 2)
    #expect(KernelEmitter.vectorizedRun(shape: [2, 8, 1, 4], reduced: [0, 3]) == 1)
    #expect(KernelEmitter.vectorizedRun(shape: [8, 1, 4], reduced: [0, 2]) == 2)
    #expect(KernelEmitter.vectorizedRun(shape: [16, 8], reduced: [0]) == 0)
  }
}

/// A convolution, batch statistics, normalisation and ReLU over 8 channels.
let convBatchNormReLU = """
  %0 = input() {name="x"} : f32[2,1,4,4]
  %1 = variable() {var="w"} : f32[8,1,3,3]
  %2 = conv2d(%0, %1) {stride=1, padding=1} : f32[2,8,4,4]
  %3 = reduce_mean(%2) {axes=[0,2,3]} : f32[1,8,1,1]
  %4 = broadcast(%3) {shape=[2,8,4,4]} : f32[2,8,4,4]
  %5 = sub(%2, %4) : f32[2,8,4,4]
  %6 = mul(%5, %5) : f32[2,8,4,4]
  %7 = reduce_mean(%6) {axes=[0,2,3]} : f32[1,8,1,1]
  %8 = constant() {splat=1e-05} : f32[1,8,1,1]
  %9 = add(%7, %8) : f32[1,8,1,1]
  %10 = rsqrt(%9) : f32[1,8,1,1]
  %11 = broadcast(%10) {shape=[2,8,4,4]} : f32[2,8,4,4]
  %12 = mul(%5, %11) : f32[2,8,4,4]
  %13 = relu(%12) : f32[2,8,4,4]
  output "y" = %13
  """
