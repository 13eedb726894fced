import GraphIR

// Collectives over simulated ranks: `operands[q]` is the operand's value on rank q, and the
// result is every rank's value. Sums add the ranks in order, 0 first.
extension Kernels {
  static func collective(_ c: Collective, _ operands: [[Double]], shape: [Int]) -> [[Double]] {
    switch c.kind {
    case .allReduce:
      let total = sumOfRanks(operands)
      return operands.map { _ in total }
    case .allGather:
      let (outer, chunk) = blocks(shape, axis: c.axis, parts: 1)
      return operands.indices.map { rank in
        var result: [Double] = []
        result.reserveCapacity(outer * chunk * c.ranks)
        for o in 0..<outer {
          for k in 0..<c.ranks {
            let source = operands[c.sourceRank(ofBlock: k, on: rank)]
            result += source[(o * chunk)..<((o + 1) * chunk)]
          }
        }
        return result
      }
    case .reduceScatter:
      let (outer, chunk) = blocks(shape, axis: c.axis, parts: c.ranks)
      return operands.indices.map { rank in
        // Rank q's block k goes to rank sourceRank(k, q); rank `rank` adds the block of each q
        // that goes to it, in the order of q.
        let parts = operands.indices.map { q in
          let k = (0..<c.ranks).first { c.sourceRank(ofBlock: $0, on: q) == rank }!
          var part: [Double] = []
          part.reserveCapacity(outer * chunk)
          for o in 0..<outer {
            let start = (o * c.ranks + k) * chunk
            part += operands[q][start..<(start + chunk)]
          }
          return part
        }
        return sumOfRanks(parts)
      }
    }
  }

  private static func sumOfRanks(_ values: [[Double]]) -> [Double] {
    var total = values[0]
    for value in values.dropFirst() {
      for i in total.indices { total[i] += value[i] }
    }
    return total
  }

  /// The count of outer indices before `axis`, and the elements of one of `parts` equal blocks
  /// of the axis with everything inside it.
  private static func blocks(_ shape: [Int], axis: Int, parts: Int) -> (outer: Int, chunk: Int) {
    let outer = shape[..<axis].reduce(1, *)
    let inner = shape[(axis + 1)...].reduce(1, *)
    return (outer, shape[axis] / parts * inner)
  }
}
