import GraphIR

/// The compiler's estimate of one kernel's work: floating-point operations and bytes read
/// from and written to memory (each stored value read once per kernel).
public struct KernelCost: Sendable {
  public var flops = 0
  public var bytes = 0
}

/// What costs are counted in: `Int` at one batch size, `BatchPolynomial` at every one.
public protocol CostNumber {
  init(_ value: Int)
  static func + (a: Self, b: Self) -> Self
  static func * (a: Self, b: Self) -> Self
}

extension Int: CostNumber {}

extension Graph {
  /// FLOPs and bytes moved of each kernel of a fused graph.
  public func kernelCosts() -> [KernelCost] {
    kernelCosts { self[$0].type.shape[$1] }.map { KernelCost(flops: $0.flops, bytes: $0.bytes) }
  }

  /// FLOPs and bytes moved of each kernel, counted with `dim(node, axis)` for the dimensions.
  public func kernelCosts<T: CostNumber>(dim: (NodeID, Int) -> T) -> [(flops: T, bytes: T)] {
    func count(_ id: NodeID) -> T { self[id].type.shape.indices.reduce(T(1)) { $0 * dim(id, $1) } }
    return kernelMembers().map { ids in
      var flops = T(0)
      var bytes = T(0)
      var read = Set<NodeID>()
      for id in ids {
        flops = flops + self.flops(of: id, count: count, dim: dim)
        bytes = bytes + count(id) * T(4)
        for input in storedInputs(of: id) where !ids.contains(input) && read.insert(input).inserted
        {
          bytes = bytes + count(input) * T(4)
        }
      }
      return (flops, bytes)
    }
  }

  /// FLOPs of a stored node, counting the inlined ops of its expression.
  func flops<T: CostNumber>(
    of id: NodeID, count: (NodeID) -> T, dim: (NodeID, Int) -> T
  ) -> T {
    let node = self[id]
    let out = count(id)
    let x = node.operands
    switch node.op {
    case .matmul(let ta, _):
      return T(2) * out * dim(x[0], ta ? 0 : 1)
    case .conv2d:
      return T(2) * out * dim(x[1], 1) * dim(x[1], 2) * dim(x[1], 3)
    case .conv2dInputGrad:
      return T(2) * count(x[0]) * dim(x[1], 1) * dim(x[1], 2) * dim(x[1], 3)
    case .conv2dFilterGrad(_, let filter):
      return T(2) * count(x[1]) * T(filter[1] * filter[2] * filter[3])
    case .reduce:
      let prologue = isStored(x[0]) ? 0 : inlinedOps(x[0])
      return count(x[0]) * T(1 + prologue)
    default:
      return out * T(inlinedOps(id))
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
