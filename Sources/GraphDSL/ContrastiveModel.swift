import GraphIR

/// A backbone, a projection head and the InfoNCE objective, compiled into one program with an
/// entry point per training mode plus `encode` and `embed` for evaluation and the study.
public struct ContrastiveModel {
  public var name: String
  /// [C, H, W] of one view.
  public var imageShape: [Int]
  public var backbone: Sequential
  public var head: ProjectionHead
  /// The InfoNCE temperature; nil: a `temperature` input of every training entry.
  public var temperature: Double?
  /// The outer optimizer; `.runtime` (the default) makes it, its momentum and its weight
  /// decay inputs of every training entry.
  public var optimizer: OptimizerSpec
  /// The K values of the `bilevel-unrolled` entry points (each K its own entry). `bilevel`'s K
  /// is a run-time value: its one entry, `bilevel.step`, repeats its inner step (`GraphLoop`).
  public var innerSteps: [Int]
  /// K values that also get a `bilevel.k<K>.step` entry with the inner steps written out: the
  /// oracle `bilevel.step` is checked against; none by default.
  public var writtenOutBilevelSteps: [Int] = []
  /// Momentum of the inner head optimizer (0: plain gradient descent); nil: an
  /// `inner_momentum` input of the bilevel entries. Its buffers start at zero every outer step
  /// so the unrolled hypergradient stays well defined.
  public var innerMomentum: Double?
  public var seed: UInt64

  public init(
    name: String, imageShape: [Int], backbone: Sequential, head: ProjectionHead,
    temperature: Double? = nil, optimizer: OptimizerSpec = .runtime,
    innerSteps: [Int] = [1, 2, 5], innerMomentum: Double? = nil, seed: UInt64 = 0
  ) {
    self.name = name
    self.imageShape = imageShape
    self.backbone = backbone
    self.head = head
    self.temperature = temperature
    self.optimizer = optimizer
    self.innerSteps = innerSteps
    self.innerMomentum = innerMomentum
    self.seed = seed
  }

  /// The program for `batch` images (2 x batch views) per step; with `dataParallel`, one
  /// rank's program, named `<name>.p<P>`, `batch` being the rank's share of the global batch
  /// (the outputs `loss` and `inner_loss` are the global batch's, the same on every rank), with
  /// the training entries and `encode` (the study's `embed` runs in one process).
  public func program(batch: Int, dataParallel: DataParallel? = nil) throws(IRError) -> Program {
    let builder = ProgramBuilder(
      name: dataParallel.map { "\(name).p\($0.ranks)" } ?? name, seed: seed,
      dataParallel: dataParallel)
    // `joint` comes first: it declares every parameter the other entries refer to.
    for mode in [TrainingMode.joint, .none, .fixed] {
      builder.entry(mode.stepEntry(innerSteps: 0), training: true) { b in
        singleLevelStep(b, mode: mode, batch: batch)
      }
    }
    builder.entry(TrainingMode.bilevel.stepEntry(innerSteps: 2), training: true) { b in
      bilevelStep(b, innerSteps: 2, unrolled: false, loop: true, batch: batch)
    }
    for k in innerSteps {
      builder.entry(TrainingMode.bilevelUnrolled.stepEntry(innerSteps: k), training: true) { b in
        bilevelStep(b, innerSteps: k, unrolled: true, batch: batch)
      }
    }
    for k in writtenOutBilevelSteps {
      builder.entry("\(TrainingMode.bilevel.rawValue).k\(k).step", training: true) { b in
        bilevelStep(b, innerSteps: k, unrolled: false, batch: batch)
      }
    }
    builder.entry(ProgramNames.encode, training: false) { b in
      let images = b.input(ProgramNames.images, .f32([batch] + imageShape))
      b.output(ProgramNames.features, backbone(images))
    }
    if dataParallel != nil { return try builder.build() }
    builder.entry(ProgramNames.embed, training: false) { b in
      let features = backbone(b.input(ProgramNames.images, .f32([batch] + imageShape)))
      b.output(ProgramNames.features, features)
      for (i, layer) in head.layerOutputs(features).enumerated() {
        b.output("\(ProgramNames.head).\(i + 1)", layer)
      }
    }
    return try builder.build()
  }

  /// The inputs of a training entry: views, learning rate, and the temperature and optimizer
  /// scalars this model leaves to run time.
  private struct StepInputs {
    var views: Tensor
    var lr: Tensor
    var temperature: Tensor?
    var optimizer: OptimizerInputs?
  }

  private func inputs(_ b: GraphBuilder, batch: Int) -> StepInputs {
    StepInputs(
      views: b.input(ProgramNames.views, .f32([2 * batch] + imageShape)),
      lr: b.input("lr", .scalar),
      temperature: temperature == nil ? b.input("temperature", .scalar) : nil,
      optimizer: optimizer.kind == .runtime ? b.optimizerInputs() : nil)
  }

  private func contrastiveLoss(_ z: Tensor, _ inputs: StepInputs) -> Tensor {
    if let temperature { return infoNCE(z, temperature: temperature) }
    return infoNCE(z, temperature: inputs.temperature!)
  }

  private func singleLevelStep(_ b: GraphBuilder, mode: TrainingMode, batch: Int) {
    let step = inputs(b, batch: batch)
    let h = backbone(step.views)
    b.output(ProgramNames.features, h)
    let z = mode == .none ? h * b.input(ProgramNames.subvectorMask, .f32([h.shape[1]])) : head(h)
    let loss = contrastiveLoss(z, step)
    b.output(ProgramNames.loss, loss.allReduce())
    var trained = b.program.parameters(under: backbone.name)
    if mode == .joint { trained += b.program.parameters(under: head.name) }
    b.minimize(
      loss, variables: trained, optimizer: optimizer, learningRate: step.lr,
      inputs: step.optimizer)
  }

  /// `loop`: the second of the `k` = 2 inner steps is the entry's loop, which the runtime runs
  /// K - 1 times (`GraphLoop`): its head and velocity carry from one inner step to the next.
  private func bilevelStep(
    _ b: GraphBuilder, innerSteps k: Int, unrolled: Bool, loop: Bool = false, batch: Int
  ) {
    let step = inputs(b, batch: batch)
    let innerRate = b.input("inner_lr", .scalar)
    let innerMu = innerMomentum.map { b.constant($0) } ?? b.input("inner_momentum", .scalar)
    let h = backbone(step.views)
    b.output(ProgramNames.features, h)
    let headVariables = b.program.parameters(under: head.name)
    var phi = Dictionary(
      uniqueKeysWithValues: headVariables.map { ($0.name, b.read($0.name, $0.type)) })
    var velocity: [String: Tensor] = [:]
    b.recordsStateUpdates = false
    for inner in 0..<k {
      let innerLoss = contrastiveLoss(b.withParameters(phi) { head(h) }, step)
      if inner == 0 { b.output(ProgramNames.innerLoss, innerLoss.allReduce()) }
      for variable in headVariables {
        let value = phi[variable.name]!
        var direction = b.gradient(of: innerLoss, withRespectTo: value)
        if innerMomentum != 0 {
          direction = velocity[variable.name].map { $0 * innerMu + direction } ?? direction
          velocity[variable.name] = direction
        }
        phi[variable.name] = value - innerRate * direction
      }
      if loop {
        carry(b, phi, velocity, as: inner == 0 ? ProgramNames.loopInput : ProgramNames.loopOutput)
      }
    }
    b.recordsStateUpdates = true
    let final = unrolled ? phi : phi.mapValues { $0.stopGradient() }
    let loss = contrastiveLoss(b.withParameters(final) { head(h) }, step)
    b.output(ProgramNames.loss, loss.allReduce())
    b.minimize(
      loss, variables: b.program.parameters(under: backbone.name), optimizer: optimizer,
      learningRate: step.lr, inputs: step.optimizer)
    // Warm start: the next outer step begins from the adapted head.
    for variable in headVariables { b.assign(variable.name, phi[variable.name]!) }
  }

  /// Outputs the head and its velocity as a loop's carried values, named by variable.
  private func carry(
    _ b: GraphBuilder, _ phi: [String: Tensor], _ velocity: [String: Tensor], as prefix: String
  ) {
    for name in phi.keys.sorted() { b.output(prefix + name, phi[name]!) }
    for name in velocity.keys.sorted() { b.output(prefix + name + ".velocity", velocity[name]!) }
  }
}
