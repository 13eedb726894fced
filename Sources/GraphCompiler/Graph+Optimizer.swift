import GraphIR

extension Graph {
  /// The entry's optimizer updates grouped as the compiled code runs them: one group per rule
  /// (`UpdateRule.shared`) and set of scalar operands (learning rate, then a run-time rule's
  /// choice, momentum and weight decay), in the order their first update appears. Each group
  /// is one call of `hw_optimize`, after the kernels and the copies.
  public func optimizerGroups() -> [[NodeID]] {
    var groups: [(key: OptimizerKey, updates: [NodeID])] = []
    for id in ids {
      guard case .update(let rule) = self[id].op else { continue }
      let key = OptimizerKey(rule: rule.shared, scalars: Array(self[id].operands.dropFirst()))
      if let index = groups.firstIndex(where: { $0.key == key }) {
        groups[index].updates.append(id)
      } else {
        groups.append((key, [id]))
      }
    }
    return groups.map(\.updates)
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

private struct OptimizerKey: Equatable {
  var rule: UpdateRule
  var scalars: [NodeID]
}
