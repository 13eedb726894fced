/// A collective across the ranks of a data-parallel run: every rank runs the same graph, and a
/// collective combines the values its operand has on the ranks.
///
/// Types are static, so a collective carries the number of ranks `ranks` its shapes are for.
/// Semantics, for rank `r` of `P` with operand `x_q` on rank `q`:
/// - `all_reduce`: `sum_q x_q` (added in rank order), the operand's shape.
/// - `all_gather(axis)`: the `x_q` concatenated along `axis` (P times the operand's extent).
///   With `rotate`, rank r's result starts with its own block: `x_r, x_(r+1), ..., x_(r-1)`,
///   so a value built from the local rows and the gathered ones has the same layout on every
///   rank (InfoNCE's masks over own anchors and every key).
/// - `reduce_scatter(axis)`: block `r` along `axis` of `sum_q x_q` (a P-th of the operand's
///   extent); with `rotate`, block `k` of rank q's operand is the block of rank `(q + k) mod P`,
///   the transpose of the rotated gather.
///
/// The gradient of each is another (`GradientRules`): all_reduce's is all_reduce, all_gather's
/// a reduce_scatter of the incoming gradient, reduce_scatter's an all_gather. Reverse mode over
/// a rank's graph then computes the derivative of the sum of every rank's loss.
public struct Collective: Hashable, Sendable {
  public enum Kind: String, Hashable, Sendable, CaseIterable {
    case allReduce = "all_reduce"
    case allGather = "all_gather"
    case reduceScatter = "reduce_scatter"
  }

  public var kind: Kind
  /// The number of ranks (P) the result's shape is for.
  public var ranks: Int
  /// The axis gathered or scattered (0 for all_reduce).
  public var axis: Int
  /// Blocks ordered from the own rank (gather and scatter only).
  public var rotate: Bool

  public init(_ kind: Kind, ranks: Int, axis: Int = 0, rotate: Bool = false) {
    self.kind = kind
    self.ranks = ranks
    self.axis = kind == .allReduce ? 0 : axis
    self.rotate = kind == .allReduce ? false : rotate
  }

  /// The collective whose result is the gradient of this one's operand.
  public var transpose: Collective {
    switch kind {
    case .allReduce: self
    case .allGather: Collective(.reduceScatter, ranks: ranks, axis: axis, rotate: rotate)
    case .reduceScatter: Collective(.allGather, ranks: ranks, axis: axis, rotate: rotate)
    }
  }

  /// The result type for an operand of type `x`.
  public func resultType(_ x: TensorType) throws(ShapeError) -> TensorType {
    guard x.dtype == .f32 else { throw ShapeError("\(kind.rawValue) takes f32, got \(x)") }
    guard ranks >= 1 else { throw ShapeError("ranks must be at least 1, got \(ranks)") }
    if kind == .allReduce { return x }
    guard x.shape.indices.contains(axis) else {
      throw ShapeError("axis \(axis) is out of range for \(x)")
    }
    var shape = x.shape
    if kind == .allGather {
      shape[axis] *= ranks
    } else {
      guard shape[axis] % ranks == 0 else {
        throw ShapeError(
          "reduce_scatter over \(ranks) ranks needs axis \(axis) divisible by \(ranks), got \(x)")
      }
      shape[axis] /= ranks
    }
    return .f32(shape)
  }

  /// The operand of type `shape` seen as [outer, blocks, chunk] (all_reduce: one block of every
  /// element): `outer` counts the indices before `axis`; a gather's operand is one block, a
  /// scatter's operand `ranks` blocks of `chunk` elements each.
  public func blocks(ofOperand shape: [Int]) -> (outer: Int, chunk: Int) {
    if kind == .allReduce { return (1, shape.reduce(1, *)) }
    let outer = shape[..<axis].reduce(1, *)
    return (outer, shape[axis...].reduce(1, *) / (kind == .allGather ? 1 : ranks))
  }

  /// Where block `k` of a gathered value (or of a scattered operand) comes from, on `rank`.
  public func sourceRank(ofBlock k: Int, on rank: Int) -> Int {
    rotate ? (rank + k) % ranks : k
  }
}
