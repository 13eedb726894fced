import GraphIR

// State updates in place: a variable's new value is stored straight into the state arena when
// nothing reads the old value after the kernel that computes it.

extension PlanMemory {
  /// The state updates a kernel may store into the variable's own place (see
  /// `MemoryPlan.stateStores`): the assigned value is stored by a kernel outside any loop, is
  /// no output and no other statement's operand, and every reader of the variable is an earlier
  /// kernel, an earlier member of its kernel, or the value itself reading it at its own element.
  /// `readers`: the stored values that read each stored value (`PlanMemory.readers`).
  static func stateStores(
    _ graph: Graph, _ kernels: [[NodeID]], readers: [NodeID: [NodeID]], loop: Range<Int>?
  ) -> [NodeID: String] {
    var variableNodes: [String: [NodeID]] = [:]
    var statementOperands: [NodeID: Int] = [:]
    for id in graph.ids {
      if case .variable(let name) = graph[id].op { variableNodes[name, default: []].append(id) }
      if graph[id].op.fusionRole == .statement {
        for operand in graph[id].operands { statementOperands[operand, default: 0] += 1 }
      }
    }
    let outputs = Set(graph.outputs.map(\.node))
    var result: [NodeID: String] = [:]
    for id in graph.ids {
      guard case .assign(let name) = graph[id].op else { continue }
      let value = graph[id].operands[0]
      guard let kernel = graph[value].kernel, !(loop?.contains(kernel) ?? false),
        !outputs.contains(value), statementOperands[value] == 1
      else { continue }
      let olds = variableNodes[name] ?? []
      guard olds.count <= 1 else { continue }  // the kernel's one pointer to the variable
      let position = kernels[kernel].firstIndex(of: value)!
      let replaceable = olds.allSatisfy { old in
        !outputs.contains(old) && statementOperands[old] == nil
          && readers[old, default: []].allSatisfy { reader in
            let at = graph[reader].kernel!
            return reader == value
              ? graph.readsOnlyAtOwnIndex(value, old)
              : at < kernel || (at == kernel && kernels[at].firstIndex(of: reader)! < position)
          }
      }
      if replaceable { result[value] = name }
    }
    return result
  }
}
