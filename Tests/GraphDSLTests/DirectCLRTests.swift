import GraphCompiler
import GraphDSL
import GraphIR
import GraphInterpreter
import Testing

/// DirectCLR: the `none` step with a subvector mask must be InfoNCE on the first D backbone
/// dimensions. The oracle is a separately built step that slices the backbone output with the
/// IR's `slice` op, run by the float64 interpreter from the same state.
@Suite struct DirectCLRTests {
  static let batch = 3
  static let width = 8

  static var backbone: Sequential {
    Sequential(
      "backbone",
      [
        Sequential("stem", [Conv2DLayer("conv", 1, 4, kernel: 3), BatchNorm("bn", 4), ReLU()]),
        BasicBlock("block1", 4, width, stride: 2),
        GlobalAveragePool(),
      ])
  }

  /// The model's programs: `none.step` takes the mask.
  static func model() throws -> Program {
    let model = ContrastiveModel(
      name: "tiny", imageShape: [1, 8, 8], backbone: backbone,
      head: ProjectionHead("head", widths: [width, 16, 8]), innerSteps: [1])
    return try Lowering.run(try model.program(batch: batch), verify: true)
  }

  /// The oracle: InfoNCE on `slice(h, [0, 0], [2N, d])`, the backbone updated as `none` does.
  static func sliced(_ d: Int) throws -> Program {
    let builder = ProgramBuilder(name: "sliced")
    builder.entry("sliced.step", training: true) { b in
      let views = b.input(ProgramNames.views, .f32([2 * batch, 1, 8, 8]))
      let lr = b.input("lr", .scalar)
      let temperature = b.input("temperature", .scalar)
      let optimizer = b.optimizerInputs()
      let h = backbone(views)
      let loss = infoNCE(h.slice(start: [0, 0], size: [2 * batch, d]), temperature: temperature)
      b.output(ProgramNames.loss, loss)
      b.minimize(
        loss, variables: b.program.parameters(under: "backbone"), optimizer: .runtime,
        learningRate: lr, inputs: optimizer)
    }
    return try Lowering.run(try builder.build(), verify: true)
  }

  static func inputs(mask: [Double]?) -> [String: HostTensor] {
    var random = TestRandom(seed: 11)
    var inputs: [String: HostTensor] = [
      ProgramNames.views: HostTensor(.f32([2 * batch, 1, 8, 8]), random.values(2 * batch * 64)),
      "lr": HostTensor(scalar: 0.05), "temperature": HostTensor(scalar: 0.5),
      "optimizer": HostTensor(scalar: 0), "momentum": HostTensor(scalar: 0.9),
      "weight_decay": HostTensor(scalar: 5e-4),
    ]
    if let mask { inputs[ProgramNames.subvectorMask] = HostTensor(.f32([width]), mask) }
    return inputs
  }

  @Test(arguments: [1, 3, 8])
  func `the masked none step equals InfoNCE on a sliced backbone output`(d: Int) throws {
    let model = try Self.model()
    let initial = Interpreter.initialState(for: model)
    var masked = initial
    let mask = (0..<Self.width).map { $0 < d ? 1.0 : 0 }
    let outputs = try run(
      model, entry: "none.step", inputs: Self.inputs(mask: mask), state: &masked)
    var reference = initial
    let expected = try run(
      try Self.sliced(d), entry: "sliced.step", inputs: Self.inputs(mask: nil), state: &reference)
    let loss = try #require(outputs[ProgramNames.loss]).scalars[0]
    let oracle = try #require(expected[ProgramNames.loss]).scalars[0]
    #expect(abs(loss - oracle) <= 1e-12 * abs(oracle), "loss \(loss) vs \(oracle)")
    var compared = 0
    for (name, value) in reference where name.hasPrefix("backbone.") {
      let mine = try #require(masked[name], "\(name)")
      let worst = zip(mine.scalars, value.scalars).map { abs($0 - $1) }.max() ?? 0
      #expect(worst <= 1e-12, "\(name): differs by \(worst)")
      if value.scalars != initial[name]?.scalars { compared += 1 }
    }
    #expect(compared > 0, "the step changed no backbone variable")
  }

  @Test func `a subvector changes the loss of the all-ones mask (the check can fail)`() throws {
    let model = try Self.model()
    let initial = Interpreter.initialState(for: model)
    var (all, part) = (initial, initial)
    let ones = [Double](repeating: 1, count: Self.width)
    let half = (0..<Self.width).map { $0 < Self.width / 2 ? 1.0 : 0 }
    let full = try run(model, entry: "none.step", inputs: Self.inputs(mask: ones), state: &all)
    let some = try run(model, entry: "none.step", inputs: Self.inputs(mask: half), state: &part)
    let (a, b) = (full[ProgramNames.loss]!.scalars[0], some[ProgramNames.loss]!.scalars[0])
    #expect(abs(a - b) > 1e-6, "\(a) vs \(b)")
  }
}
