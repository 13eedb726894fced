import GraphIR

/// A backbone, a projection head and the InfoNCE objective, compiled into one program with an
/// entry point per training mode plus `encode` and `embed` for evaluation and the study.
public struct ContrastiveModel {
  public var name: String
  /// [C, H, W] of one view.
  public var imageShape: [Int]
  public var backbone: Sequential
  public var head: ProjectionHead
  public var temperature: Double
  public var optimizer: OptimizerSpec
  /// The K values of the bilevel entry points (K is static: each K is its own entry).
  public var innerSteps: [Int]
  /// Momentum of the inner head optimizer (0: plain gradient descent); its buffers start at
  /// zero every outer step so the unrolled hypergradient stays well defined.
  public var innerMomentum: Double
  public var seed: UInt64

  public init(
    name: String, imageShape: [Int], backbone: Sequential, head: ProjectionHead,
    temperature: Double = 0.5, optimizer: OptimizerSpec = .sgd, innerSteps: [Int] = [1, 2, 5],
    innerMomentum: Double = 0, seed: UInt64 = 0
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

  /// The program for `batch` images (2 x batch views) per step.
  public func program(batch: Int) throws(IRError) -> Program {
    let builder = ProgramBuilder(name: name, seed: seed)
    // `joint` comes first: it declares every parameter the other entries refer to.
    for mode in [TrainingMode.joint, .none, .fixed] {
      builder.entry(mode.stepEntry(innerSteps: 0), training: true) { b in
        singleLevelStep(b, mode: mode, batch: batch)
      }
    }
    for mode in [TrainingMode.bilevel, .bilevelUnrolled] {
      for k in innerSteps {
        builder.entry(mode.stepEntry(innerSteps: k), training: true) { b in
          bilevelStep(b, innerSteps: k, unrolled: mode == .bilevelUnrolled, batch: batch)
        }
      }
    }
    builder.entry("encode", training: false) { b in
      b.output("features", backbone(b.input("images", .f32([batch] + imageShape))))
    }
    builder.entry("embed", training: false) { b in
      let features = backbone(b.input("images", .f32([batch] + imageShape)))
      b.output("features", features)
      for (i, layer) in head.layerOutputs(features).enumerated() {
        b.output("head.\(i + 1)", layer)
      }
    }
    return try builder.build()
  }

  private func inputs(_ b: GraphBuilder, batch: Int) -> (views: Tensor, lr: Tensor) {
    (b.input("views", .f32([2 * batch] + imageShape)), b.input("lr", .scalar))
  }

  private func singleLevelStep(_ b: GraphBuilder, mode: TrainingMode, batch: Int) {
    let (views, lr) = inputs(b, batch: batch)
    let h = backbone(views)
    let loss = infoNCE(mode == .none ? h : head(h), temperature: temperature)
    b.output("loss", loss)
    var trained = b.program.parameters(under: backbone.name)
    if mode == .joint { trained += b.program.parameters(under: head.name) }
    b.minimize(loss, variables: trained, optimizer: optimizer, learningRate: lr)
  }

  private func bilevelStep(_ b: GraphBuilder, innerSteps k: Int, unrolled: Bool, batch: Int) {
    let (views, lr) = inputs(b, batch: batch)
    let innerRate = b.input("inner_lr", .scalar)
    let h = backbone(views)
    let headVariables = b.program.parameters(under: head.name)
    var phi = Dictionary(
      uniqueKeysWithValues: headVariables.map { ($0.name, b.read($0.name, $0.type)) })
    var velocity: [String: Tensor] = [:]
    b.recordsStateUpdates = false
    for step in 0..<k {
      let innerLoss = infoNCE(b.withParameters(phi) { head(h) }, temperature: temperature)
      if step == 0 { b.output("inner_loss", innerLoss) }
      for variable in headVariables {
        let value = phi[variable.name]!
        var direction = b.gradient(of: innerLoss, withRespectTo: value)
        if innerMomentum != 0 {
          direction = velocity[variable.name].map { $0 * innerMomentum + direction } ?? direction
          velocity[variable.name] = direction
        }
        phi[variable.name] = value - innerRate * direction
      }
    }
    b.recordsStateUpdates = true
    let final = unrolled ? phi : phi.mapValues { $0.stopGradient() }
    let loss = infoNCE(b.withParameters(final) { head(h) }, temperature: temperature)
    b.output("loss", loss)
    b.minimize(
      loss, variables: b.program.parameters(under: backbone.name), optimizer: optimizer,
      learningRate: lr)
    // Warm start: the next outer step begins from the adapted head.
    for variable in headVariables { b.assign(variable.name, phi[variable.name]!) }
  }
}
