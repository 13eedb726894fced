import GraphIR

/// The compiler's estimate of one kernel's work: floating-point operations and bytes read
/// from and written to memory (each stored value read once per kernel).
public struct KernelCost: Sendable {
  public var flops = 0
  public var bytes = 0
}

extension Graph {
  /// FLOPs and bytes moved of each kernel of a fused graph.
  public func kernelCosts() -> [KernelCost] {
    let members = kernelMembers()
    return members.map { ids in
      var cost = KernelCost()
      var read = Set<NodeID>()
      for id in ids {
        cost.flops += flops(of: id)
        cost.bytes += self[id].type.elementCount * 4
        for input in storedInputs(of: id) where !ids.contains(input) && read.insert(input).inserted
        {
          cost.bytes += self[input].type.elementCount * 4
        }
      }
      return cost
    }
  }

  /// FLOPs of a stored node, counting the inlined ops of its expression.
  func flops(of id: NodeID) -> Int {
    let node = self[id]
    let out = node.type.elementCount
    switch node.op {
    case .matmul(let ta, _):
      let a = self[node.operands[0]].type.shape
      return 2 * out * (ta ? a[0] : a[1])
    case .conv2d:
      let w = self[node.operands[1]].type.shape
      return 2 * out * w[1] * w[2] * w[3]
    case .conv2dInputGrad:
      let dy = self[node.operands[0]].type.shape
      let w = self[node.operands[1]].type.shape
      return 2 * dy.reduce(1, *) * w[1] * w[2] * w[3]
    case .conv2dFilterGrad(_, let filter):
      let dy = self[node.operands[1]].type.shape
      return 2 * dy.reduce(1, *) * filter[1] * filter[2] * filter[3]
    case .reduce:
      let operand = node.operands[0]
      let prologue = isStored(operand) ? 0 : inlinedOps(operand)
      return self[operand].type.elementCount * (1 + prologue)
    default:
      return out * inlinedOps(id)
    }
  }

  /// Arithmetic ops in the inlined expression rooted at `id` (views cost nothing).
  private func inlinedOps(_ id: NodeID) -> Int {
    let node = self[id]
    let own: Int
    switch node.op.fusionRole {
    case .inlinable: own = node.op.isElementwise ? 1 : 0
    default: return 0
    }
    return own + node.operands.reduce(0) { $0 + (isStored($1) ? 0 : inlinedOps($1)) }
  }
}
