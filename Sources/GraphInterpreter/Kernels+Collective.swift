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
      let (outer, chunk) = c.blocks(ofOperand: shape)
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
      let (outer, chunk) = c.blocks(ofOperand: shape)
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
}
