import GraphCompiler
import GraphIR
import GraphInterpreter
import Graphs
import Testing

@Suite struct UseChannelsLastTests {
  let pass = UseChannelsLast()

  @Test func `A convolution, BatchNorm statistics, ReLU and global pooling move to NHWC`()
    throws
  {
    try expectPass(
      pass,
      """
      %0 = input() {name="x"} : f32[2,1,5,5]
      %1 = input() {name="w"} : f32[4,1,3,3]
      %2 = conv2d(%0, %1) {stride=1, padding=1} : f32[2,4,5,5]
      %3 = reduce_mean(%2) {axes=[0,2,3]} : f32[1,4,1,1]
      %4 = reshape(%3) {shape=[4,1,1]} : f32[4,1,1]
      %5 = broadcast(%4) {shape=[2,4,5,5]} : f32[2,4,5,5]
      %6 = sub(%2, %5) : f32[2,4,5,5]
      %7 = relu(%6) : f32[2,4,5,5]
      %8 = reduce_mean(%7) {axes=[2,3]} : f32[2,4,1,1]
      %9 = reshape(%8) {shape=[2,4]} : f32[2,4]
      output "y" = %9
      """,
      """
      %0 = input() {name="x"} : f32[2,1,5,5]
      %1 = input() {name="w"} : f32[4,1,3,3]
      %2 = reshape(%0) {shape=[2,5,5,1]} : f32[2,5,5,1]
      %3 = conv2d(%2, %1) {stride=1, padding=1, channels_last=true} : f32[2,5,5,4]
      %4 = reduce_mean(%3) {axes=[0,1,2]} : f32[1,1,1,4]
      %5 = reshape(%4) {shape=[1,4,1,1]} : f32[1,4,1,1]
      %6 = reshape(%5) {shape=[4,1,1]} : f32[4,1,1]
      %7 = reshape(%6) {shape=[1,4,1,1]} : f32[1,4,1,1]
      %8 = reshape(%7) {shape=[1,1,1,4]} : f32[1,1,1,4]
      %9 = broadcast(%8) {shape=[2,5,5,4]} : f32[2,5,5,4]
      %10 = sub(%3, %9) : f32[2,5,5,4]
      %11 = relu(%10) : f32[2,5,5,4]
      %12 = reduce_mean(%11) {axes=[1,2]} : f32[2,1,1,4]
      %13 = reshape(%12) {shape=[2,4,1,1]} : f32[2,4,1,1]
      %14 = reshape(%13) {shape=[2,4]} : f32[2,4]
      output "y" = %14
      """, changed: true)
  }

  @Test func `An NCHW user of a channels-last value reads it through one transpose`() throws {
    try expectPass(
      pass,
      """
      %0 = input() {name="x"} : f32[1,2,3,3]
      %1 = input() {name="w"} : f32[2,2,1,1]
      %2 = conv2d(%0, %1) {stride=1, padding=0} : f32[1,2,3,3]
      %3 = avg_pool2d(%2) {window=3, stride=3} : f32[1,2,1,1]
      %4 = slice(%2) {start=[0,0,0,0], size=[1,2,1,1]} : f32[1,2,1,1]
      %5 = add(%3, %4) : f32[1,2,1,1]
      output "y" = %5
      """,
      """
      %0 = input() {name="x"} : f32[1,2,3,3]
      %1 = input() {name="w"} : f32[2,2,1,1]
      %2 = transpose(%0) {perm=[0,2,3,1]} : f32[1,3,3,2]
      %3 = conv2d(%2, %1) {stride=1, padding=0, channels_last=true} : f32[1,3,3,2]
      %4 = transpose(%3) {perm=[0,3,1,2]} : f32[1,2,3,3]
      %5 = avg_pool2d(%4) {window=3, stride=3} : f32[1,2,1,1]
      %6 = slice(%4) {start=[0,0,0,0], size=[1,2,1,1]} : f32[1,2,1,1]
      %7 = add(%5, %6) : f32[1,2,1,1]
      output "y" = %7
      """, changed: true)
  }

  @Test func `A graph without NCHW convolutions is left alone`() throws {
    try expectUnchanged(
      pass,
      """
      %0 = input() {name="x"} : f32[1,3,3,2]
      %1 = input() {name="w"} : f32[2,2,1,1]
      %2 = conv2d(%0, %1) {stride=1, padding=0, channels_last=true} : f32[1,3,3,2]
      %3 = relu(%2) : f32[1,3,3,2]
      output "y" = %3
      """)
  }

  @Test func `The tiny ResNet's training step computes the same values in NHWC`() throws {
    let program = try Lowering.run(try Parser.parseProgram(tinyResNetProgram))
    try expectSameResults(program, inputs: ["x": [2, 1, 6, 6], "lr": []])
  }

  @Test func `R2's bilevel step computes the same values in NHWC`() throws {
    try expectSameResults(
      "cifar-resnet18", entry: "bilevel-unrolled.k2.step", views: [4, 3, 32, 32],
      scalars: ["inner_lr", "inner_momentum"])
  }

  @Test func `R1's joint step computes the same values in NHWC`() throws {
    try expectSameResults("fmnist-resnet-small", entry: "joint.step", views: [4, 1, 28, 28])
  }
}

/// One entry of a registered program at batch 2, with its views and scalar inputs (the
/// training scalars every step takes, plus `scalars`).
private func expectSameResults(
  _ name: String, entry: String, views: [Int], scalars: [String] = [],
  sourceLocation: Testing.SourceLocation = #_sourceLocation
) throws {
  let definition = try #require(Programs.named(name))
  var program = try Lowering.run(try definition.program(batch: 2))
  program.entries = program.entries.filter { $0.name == entry }
  let names = ["lr", "temperature", "optimizer", "momentum", "weight_decay"] + scalars
  var inputs = Dictionary(uniqueKeysWithValues: names.map { ($0, [Int]()) })
  inputs["views"] = views
  try expectSameResults(program, inputs: inputs, sourceLocation: sourceLocation)
}

/// Runs every entry of `program` in the interpreter before and after the pass on the same
/// random inputs and initial state, and expects the same outputs and state writes.
private func expectSameResults(
  _ program: Program, inputs shapes: [String: [Int]],
  sourceLocation: Testing.SourceLocation = #_sourceLocation
) throws {
  var random = SplitMix64(seed: 11)
  let inputs = shapes.mapValues { shape in
    let type = TensorType.f32(shape)
    return HostTensor(type, (0..<type.elementCount).map { _ in Double(random.unit()) * 0.5 + 0.25 })
  }
  for entry in program.entries {
    let rewritten = try UseChannelsLast().run(entry.graph)
    #expect(rewritten.changed, sourceLocation: sourceLocation)
    try Verifier().verify(rewritten.graph)
    var before = initialState(for: program)
    var after = before
    let expected = try Interpreter().run(entry.graph, inputs: inputs, state: &before)
    let actual = try Interpreter().run(rewritten.graph, inputs: inputs, state: &after)
    for (name, value) in expected {
      expectClose(actual[name]?.scalars ?? [], value.scalars, name, sourceLocation)
    }
    for (name, value) in before {
      expectClose(after[name]?.scalars ?? [], value.scalars, name, sourceLocation)
    }
  }
}

private func expectClose(
  _ actual: [Double], _ expected: [Double], _ name: String,
  _ sourceLocation: Testing.SourceLocation
) {
  #expect(actual.count == expected.count, "\(name)", sourceLocation: sourceLocation)
  let worst = zip(actual, expected).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
  #expect(worst < 1e-12, "\(name): relative difference \(worst)", sourceLocation: sourceLocation)
}
