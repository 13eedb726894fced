import GraphCompiler
import GraphDSL
import GraphIR
import GraphInterpreter
import Testing

/// The data-parallel programs on simulated ranks (`Interpreter.run(_:ranks:states:)`) against
/// the one-process program on the whole batch: the oracle is the DSL's own single-process
/// program, which has no collective at all.
@Suite struct DataParallelTests {
  static let images = 4
  static let scalars: [String: Double] = [
    "lr": 0.1, "temperature": 0.5, "optimizer": 1, "momentum": 0.9, "weight_decay": 1e-4,
    "inner_lr": 0.3, "inner_momentum": 0.9,
  ]

  /// A tiny ResNet with BatchNorm in the backbone and the head.
  static func model() -> ContrastiveModel {
    let backbone = Sequential(
      "backbone",
      [
        Sequential("stem", [Conv2DLayer("conv", 1, 4, kernel: 3), BatchNorm("bn", 4), ReLU()]),
        BasicBlock("block1", 4, 8, stride: 2),
        GlobalAveragePool(),
      ])
    return ContrastiveModel(
      name: "tiny", imageShape: [1, 8, 8], backbone: backbone,
      head: ProjectionHead("head", widths: [8, 16, 8]), innerSteps: [2])
  }

  /// One step of `entry` on the whole batch and on `ranks` ranks each given its shard (rank r:
  /// images r*n ..< (r+1)*n of both views); returns the largest difference per tensor, relative
  /// to the tensor's largest magnitude, and the loss of both.
  static func compare(entry: String, ranks: Int, syncBatchNorm: Double) throws
    -> (state: [String: Double], loss: (single: Double, ranks: Double))
  {
    let single = try Lowering.run(try model().program(batch: images))
    let parallel = try Lowering.run(
      try model().program(batch: images / ranks, dataParallel: DataParallel(ranks: ranks)))
    let one = try #require(single.entry(named: entry)).graph.repeatingLoop(1)
    let each = try #require(parallel.entry(named: entry)).graph.repeatingLoop(1)
    #expect(parallel.variables == single.variables)

    var random = SplitMix64(seed: 21)
    let viewShape = [1, 8, 8]
    let perView = viewShape.reduce(1, *)
    let views = (0..<(2 * images * perView)).map { _ in Double(random.unit()) }
    var inputs = scalars.mapValues { HostTensor(.scalar, [$0]) }
    inputs["views"] = HostTensor(.f32([2 * images] + viewShape), views)
    var state = initialState(for: single)
    let expected = try Interpreter().run(one, inputs: inputs, state: &state)

    let n = images / ranks
    let shards = (0..<ranks).map { rank in
      var shard = inputs
      let rows = [0, images].flatMap { view in (view + rank * n)..<(view + rank * n + n) }
      shard["views"] = HostTensor(
        .f32([2 * n] + viewShape),
        rows.flatMap { views[($0 * perView)..<(($0 + 1) * perView)] })
      shard[ProgramNames.syncBatchNorm] = HostTensor(.scalar, [syncBatchNorm])
      return shard
    }
    var states = Array(repeating: initialState(for: parallel), count: ranks)
    let actual = try Interpreter().run(each, ranks: shards, states: &states)
    for rank in 1..<ranks {
      #expect(states[rank] == states[0], "rank \(rank) keeps the state of rank 0")
      #expect(actual[rank]["loss"] == actual[0]["loss"])
    }
    var differences: [String: Double] = [:]
    for (name, tensor) in state {
      let other = try #require(states[0][name])
      let scale = max(tensor.scalars.map(abs).max() ?? 0, 1e-30)
      differences[name] = zip(tensor.scalars, other.scalars).map { abs($0 - $1) }.max()! / scale
    }
    let loss = (expected["loss"]!.scalars[0], actual[0]["loss"]!.scalars[0])
    return (differences, loss)
  }

  /// With `sync_bn`, two ranks with half the batch each take exactly the step of one process
  /// with the whole batch: every variable (parameters, slots, running statistics, the adapted
  /// head) agrees to float64 rounding (the sums run in another order).
  @Test(arguments: ["joint.step", "bilevel.step", "bilevel-unrolled.k2.step"])
  func twoRanksWithSyncBatchNormTakeTheOneProcessStep(entry: String) throws {
    let result = try Self.compare(entry: entry, ranks: 2, syncBatchNorm: 1)
    #expect(abs(result.loss.single - result.loss.ranks) < 1e-12 * abs(result.loss.single))
    let worst = result.state.max { $0.value < $1.value }!
    #expect(worst.value < 1e-11, "\(worst)")
    // The step moved the parameters, so the comparison says something.
    #expect(result.state.count > 20)
  }

  /// Without it each rank normalises by its own shard's statistics: the step differs, most in
  /// what BatchNorm feeds (so the test above can fail).
  @Test func perRankBatchNormIsAnotherStep() throws {
    let result = try Self.compare(entry: "joint.step", ranks: 2, syncBatchNorm: 0)
    #expect(abs(result.loss.single - result.loss.ranks) > 1e-2)
    #expect(result.state["backbone.block1.bn2.bias"]! > 0.1)
    #expect(result.state["backbone.stem.conv.weight.momentum"]! > 0.1)
    // The running variance is the mean of the ranks' unbiased estimates, not the batch's.
    #expect(result.state["backbone.stem.bn.running_var"]! > 1e-6)
  }
}
