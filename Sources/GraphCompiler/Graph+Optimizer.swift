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

private struct OptimizerKey: Equatable {
  var rule: UpdateRule
  var scalars: [NodeID]
}
