import GraphIR

/// How code generation treats an op: shared by fusion, scheduling, planning and the C emitter.
public enum FusionRole: Sendable {
  /// Read where it lives: inputs and variables.
  case leaf
  /// A constant: inlined as a literal, or stored when a library call needs a buffer.
  case constant
  /// Computed per element, so it can be inlined into a consumer's loop (elementwise ops and
  /// data movement).
  case inlinable
  /// A reduction loop; its operand's expression is inlined as the loop body (prologue).
  case reduction
  /// A call into hand-written C (matrix product, convolution, pooling) or a one-hot loop:
  /// operands must be buffers.
  case library
  /// `assign`: copied into the state arena when the entry finishes.
  case statement
}

extension Op {
  public var fusionRole: FusionRole {
    switch self {
    case .input, .variable: .leaf
    case .constant: .constant
    case .unary, .powConstant, .binary, .compare, .select, .broadcast, .reshape, .transpose,
      .slice, .pad, .concat:
      .inlinable
    case .reduce: .reduction
    case .matmul, .conv2d, .conv2dInputGrad, .conv2dFilterGrad, .avgPool2d, .avgPool2dGrad,
      .oneHot, .collective:
      .library
    case .assign, .update, .gradient, .stopGradient: .statement
    }
  }

  /// Ops that only re-index their operand: free to inline however often they are used.
  public var isView: Bool {
    switch self {
    case .broadcast, .reshape, .transpose, .slice: true
    default: false
    }
  }
}

/// A value as a library call sees it: a buffer (the node that owns it) read either as is or,
/// for a 2-D transpose folded into the call, transposed.
public struct BufferSource: Hashable, Sendable {
  public var owner: NodeID
  public var transposed: Bool
}

extension Graph {
  /// Whether the node's value lives in a buffer of its own (stored by a kernel, or a leaf).
  public func isStored(_ id: NodeID) -> Bool {
    self[id].kernel != nil || self[id].op.fusionRole == .leaf
  }

  /// The buffer a library call can read for `id` without a copy: the node itself if stored, a
  /// reshape of a stored buffer (same bytes), or a 2-D transpose of one (a BLAS flag).
  public func bufferSource(_ id: NodeID) -> BufferSource? {
    if isStored(id) { return BufferSource(owner: id, transposed: false) }
    let node = self[id]
    switch node.op {
    case .reshape:
      guard let source = bufferSource(node.operands[0]), !source.transposed else { return nil }
      return source
    case .transpose(let perm) where perm == [1, 0]:
      guard let source = bufferSource(node.operands[0]), !source.transposed,
        self[source.owner].type.rank == 2
      else { return nil }
      return BufferSource(owner: source.owner, transposed: true)
    default:
      return nil
    }
  }

  /// For each node, the stored values its computation reads (through inlined operands).
  public func storedInputs(of id: NodeID) -> [NodeID] {
    var result: [NodeID] = []
    var seen = Set<NodeID>()
    var stack = self[id].operands
    while let next = stack.popLast() {
      guard seen.insert(next).inserted else { continue }
      if isStored(next) {
        result.append(next)
      } else {
        stack.append(contentsOf: self[next].operands)
      }
    }
    return result.sorted()
  }
}

extension Graph {
  /// Whether stored node `root`, an elementwise loop, reads stored value `operand` only at the
  /// element it is computing (through elementwise ops and reshapes): then it may overwrite
  /// `operand` in place.
  public func readsOnlyAtOwnIndex(_ root: NodeID, _ operand: NodeID) -> Bool {
    guard self[root].op.fusionRole == .inlinable, self[root].op.isElementwise else { return false }
    func reaches(_ id: NodeID) -> Bool {
      if id == operand { return true }
      if isStored(id) { return false }
      return self[id].operands.contains(where: reaches)
    }
    func flat(_ id: NodeID) -> Bool {
      if id == operand || isStored(id) { return true }
      switch self[id].op {
      case .unary, .powConstant, .binary, .compare, .select, .reshape:
        return self[id].operands.allSatisfy(flat)
      default:
        return !reaches(id)
      }
    }
    return self[root].operands.allSatisfy(flat)
  }
}
