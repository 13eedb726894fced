import GraphIR

/// Small helpers for passes that emit primitive ops: each appends one node (or a short chain)
/// and returns its id. Scalars are broadcast explicitly, as the IR requires.
extension Graph {
  mutating func emit(_ op: Op, _ operands: NodeID..., at location: SourceLocation?)
    throws(IRError) -> NodeID
  {
    try append(op, operands, location: location)
  }

  /// A splat constant of the given type.
  mutating func splat(_ value: Double, _ type: TensorType, at location: SourceLocation?)
    throws(IRError) -> NodeID
  {
    try append(.constant(.splat(value)), declared: type, location: location)
  }

  /// A splat constant shaped like `like`.
  mutating func splat(_ value: Double, like node: NodeID, at location: SourceLocation?)
    throws(IRError) -> NodeID
  {
    try splat(value, self[node].type, at: location)
  }

  mutating func binary(
    _ op: BinaryOp, _ a: NodeID, _ b: NodeID, at location: SourceLocation?
  ) throws(IRError) -> NodeID {
    try append(.binary(op), [a, b], location: location)
  }

  mutating func unary(_ op: UnaryOp, _ a: NodeID, at location: SourceLocation?)
    throws(IRError) -> NodeID
  {
    try append(.unary(op), [a], location: location)
  }

  /// `a * value` for a constant value.
  mutating func scale(_ a: NodeID, by value: Double, at location: SourceLocation?)
    throws(IRError) -> NodeID
  {
    try binary(.mul, a, try splat(value, like: a, at: location), at: location)
  }

  /// Expands a node to `shape` (no-op when the shape already matches).
  mutating func broadcast(_ a: NodeID, to shape: [Int], at location: SourceLocation?)
    throws(IRError) -> NodeID
  {
    self[a].type.shape == shape ? a : try append(.broadcast(shape), [a], location: location)
  }

  /// Sums `g` down to `shape`, undoing a numpy-style broadcast.
  mutating func sumToShape(_ g: NodeID, _ shape: [Int], at location: SourceLocation?)
    throws(IRError) -> NodeID
  {
    let full = self[g].type.shape
    guard full != shape else { return g }
    let offset = full.count - shape.count
    let axes = full.indices.filter { $0 < offset || (shape[$0 - offset] == 1 && full[$0] != 1) }
    var result = g
    if !axes.isEmpty { result = try append(.reduce(.sum, axes: axes), [g], location: location) }
    if self[result].type.shape != shape {
      result = try append(.reshape(shape), [result], location: location)
    }
    return result
  }

  mutating func compare(
    _ op: Comparison, _ a: NodeID, _ b: NodeID, at location: SourceLocation?
  ) throws(IRError) -> NodeID {
    try append(.compare(op), [a, b], location: location)
  }

  mutating func select(
    _ mask: NodeID, _ a: NodeID, _ b: NodeID, at location: SourceLocation?
  ) throws(IRError) -> NodeID {
    try append(.select, [mask, a, b], location: location)
  }
}
