import GraphIR

/// How a program is split over the ranks of a data-parallel run: every rank runs the same
/// entry on its own shard of the global batch, and the DSL writes the collectives the global
/// objective needs (`Collective`).
///
/// With `ranks` > 1: InfoNCE takes each rank's anchors against the keys of every rank
/// (`infoNCE`), every `gradient` a builder records is summed over the ranks (the parameters are
/// replicated, so the gradient of the global objective is the sum of the ranks' gradients), and
/// BatchNorm reads a `sync_bn` input that picks statistics over the global batch (1) or over
/// the rank's shard (0; the running statistics then move by the global mean and the mean of
/// the ranks' variances, so every rank keeps the same state).
public struct DataParallel: Hashable, Sendable {
  /// The number of ranks, P.
  public var ranks: Int

  public init(ranks: Int) {
    self.ranks = ranks
  }
}

extension Tensor {
  /// The sum of this value over the ranks (the value itself with one rank).
  public func allReduce() -> Tensor {
    let ranks = builder.ranks
    return ranks == 1
      ? self : builder.append(.collective(Collective(.allReduce, ranks: ranks)), [self])
  }

  /// Every rank's value concatenated along `axis` (the value itself with one rank); with
  /// `rotate`, starting with this rank's own.
  public func allGather(axis: Int = 0, rotate: Bool = false) -> Tensor {
    let ranks = builder.ranks
    guard ranks > 1 else { return self }
    return builder.append(
      .collective(Collective(.allGather, ranks: ranks, axis: axis, rotate: rotate)), [self])
  }

  /// This rank's block along `axis` of the sum over the ranks (the value itself with one rank).
  public func reduceScatter(axis: Int = 0, rotate: Bool = false) -> Tensor {
    let ranks = builder.ranks
    guard ranks > 1 else { return self }
    return builder.append(
      .collective(Collective(.reduceScatter, ranks: ranks, axis: axis, rotate: rotate)), [self])
  }
}

extension GraphBuilder {
  /// The number of ranks the entry is built for (1 unless the program is data-parallel).
  public var ranks: Int { program.dataParallel?.ranks ?? 1 }
}
