import GraphIR

/// An entry's optimizer updates that the compiled code runs as one call of `hw_optimize`: the
/// rule they share (`UpdateRule.shared`), their scalar operands (learning rate, then a run-time
/// rule's choice, momentum and weight decay) and the updates, in graph order.
public struct OptimizerGroup: Equatable, Sendable {
  public var rule: UpdateRule
  public var scalars: [NodeID]
  public var updates: [NodeID]
}

extension Graph {
  /// The entry's optimizer groups, in the order their first update appears; each is one call,
  /// after the kernels and the copies.
  public func optimizerGroups() -> [OptimizerGroup] {
    var groups: [OptimizerGroup] = []
    for id in ids {
      guard case .update(let rule) = self[id].op else { continue }
      let (shared, scalars) = (rule.shared, Array(self[id].operands.dropFirst()))
      if let index = groups.firstIndex(where: { $0.rule == shared && $0.scalars == scalars }) {
        groups[index].updates.append(id)
      } else {
        groups.append(OptimizerGroup(rule: shared, scalars: scalars, updates: [id]))
      }
    }
    return groups
  }
}

extension Graph {
  /// The value an update's gradient is read from: the gradient, or the value it reshapes (the
  /// same elements in the same order; a BatchNorm scale's gradient is a reshape of a sum),
  /// which then needs no copy of its own.
  public func optimizerGradient(of update: Node) -> NodeID {
    var gradient = update.operands[0]
    while case .reshape = self[gradient].op { gradient = self[gradient].operands[0] }
    return gradient
  }

  /// `optimizerGradient` of the update `id`.
  public func optimizerGradient(of id: NodeID) -> NodeID { optimizerGradient(of: self[id]) }
}
