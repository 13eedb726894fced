import GraphCompiler
import GraphIR

/// A reduction whose innermost dimensions are kept: channels-last BatchNorm statistics
/// (`[N, H, W, C]` summed over N, H and W) and global pooling (`[N, H, W, C]` over H and W).
/// Memory is read in order, with one accumulator per kept inner element, vectorised across
/// them, instead of one strided pass per channel.
struct ColumnReduction {
  /// Kept dimensions outside the reduced ones, the reduced ones, and the kept inner run.
  var outer: [Int], reduced: [Int], inner: [Int]
  var shape: [Int]

  /// Nil unless the kept dimensions (of size > 1) are all outside or all inside the reduced
  /// ones, with at least one reduced and one inner.
  init?(shape: [Int], axes: [Int]) {
    let dims = shape.indices.filter { shape[$0] > 1 }
    let reduced = dims.filter { axes.contains($0) }
    guard let first = reduced.first, let last = reduced.last else { return nil }
    let outer = dims.filter { $0 < first }
    let inner = dims.filter { $0 > last }
    guard !inner.isEmpty, outer.count + reduced.count + inner.count == dims.count,
      outer.allSatisfy({ !axes.contains($0) }), inner.allSatisfy({ !axes.contains($0) })
    else { return nil }
    (self.outer, self.reduced, self.inner, self.shape) = (outer, reduced, inner, shape)
  }

  var columns: Int { inner.reduce(1) { $0 * shape[$1] } }
  var outerCount: Int { outer.reduce(1) { $0 * shape[$1] } }

  /// The accumulator index of an element: its place in the inner run.
  var columnIndex: String {
    ExpressionEmitter.offset(inner.map { shape[$0] }, inner.map { "i\($0)" })
  }

  /// How many parts the first reduced dimension is split into when nothing outer can be shared
  /// among threads: fixed by the kept columns, not the team size or the reduced extent, so the
  /// sums depend on neither the thread count nor the batch size; at most 128 KiB of partial
  /// sums on the stack. A part left empty (an extent below the count) sums to an exact 0.0, so
  /// the total is the same sum in the same order as with one part per element.
  func parts(reductions: Int) -> Int {
    let budget = 128 * 1024 / (8 * columns * max(reductions, 1))
    return max(1, min(8, budget))
  }
}

extension KernelEmitter {
  func emitColumnReduction(_ nest: LoopNest, _ plan: ColumnReduction, into code: inout CodePrinter)
  {
    let reductions = nest.reductions(graph)
    let accumulators = reductions.map { "acc_\(names.buffer($0)!)" }
    let shape = plan.shape
    let total = shape.reduce(1, *)
    let simd = "#pragma omp simd" + (plan.inner.count > 1 ? " collapse(\(plan.inner.count))" : "")
    let loops = plan.outer + plan.reduced + plan.inner
    let innerStart = plan.outer.count + plan.reduced.count
    let hoister = makeHoister(
      nest, loops: loops, closed: Set(innerStart..<loops.count), shape: shape)
    let view = shape.indices.map { shape[$0] == 1 ? "0" : "i\($0)" }
    var body = CodePrinter()
    emitBody(
      nest, shape: shape, view: view, hoister: hoister, column: plan.columnIndex, into: &body)
    let zero = accumulators.map { "\($0)[\(plan.columns)] = {0.0}" }.joined(separator: ", ")
    let parallel = total >= Self.parallelThreshold
    hoister.emit(at: -1, into: &code)
    if plan.outerCount > 1 {
      emitLoops(
        plan.outer, shape: shape, parallel: parallel ? total : nil, hoister: hoister, into: &code
      ) {
        code in
        code.line("double \(zero);")
        emitLoops(
          plan.reduced + plan.inner, shape: shape, parallel: nil,
          simd: (plan.reduced.count, simd), hoister: hoister, base: plan.outer.count, into: &code
        ) { code in code.append(body) }
        emitColumnFinish(reductions, plan, view: view, into: &code) { "acc_\($0)[\($1)]" }
      }
      return
    }
    let parts = plan.parts(reductions: reductions.count)
    let first = plan.reduced[0]
    let partials = reductions.map { "part_\(names.buffer($0)!)" }
    code.line(
      "double " + partials.map { "\($0)[\(parts)][\(plan.columns)]" }.joined(separator: ", ") + ";")
    if parallel { code.line(Self.parallelFor(total)) }
    code.block("for (int64_t p = 0; p < \(parts); p++)") { code in
      code.line("double \(zero);")
      let size = shape[first]
      code.block(
        "for (int64_t i\(first) = p * \(size) / \(parts); i\(first) < (p + 1) * \(size) / \(parts); i\(first)++)"
      ) { code in
        hoister.emit(at: 0, into: &code)
        emitLoops(
          Array(plan.reduced.dropFirst()) + plan.inner, shape: shape, parallel: nil,
          simd: (plan.reduced.count - 1, simd), hoister: hoister, base: 1, into: &code
        ) { code in code.append(body) }
      }
      emitLoops(plan.inner, shape: shape, parallel: nil, into: &code) { code in
        for (partial, accumulator) in zip(partials, accumulators) {
          code.line("\(partial)[p][\(plan.columnIndex)] = \(accumulator)[\(plan.columnIndex)];")
        }
      }
    }
    emitColumnFinish(reductions, plan, view: view, into: &code) { buffer, column in
      "part_\(buffer)[0][\(column)]"
        + (1..<parts).map { " + part_\(buffer)[\($0)][\(column)]" }.joined()
    }
  }

  /// One loop over the inner run storing each reduction's value, read by `value(buffer, index)`.
  private func emitColumnFinish(
    _ reductions: [NodeID], _ plan: ColumnReduction, view: [String], into code: inout CodePrinter,
    value: (String, String) -> String
  ) {
    emitLoops(plan.inner, shape: plan.shape, parallel: nil, into: &code) { code in
      for id in reductions {
        let sum = value(names.buffer(id)!, plan.columnIndex)
        emitFinish(id, "(\(sum))", shape: plan.shape, axes: plan.reduced, view: view, into: &code)
      }
    }
  }
}
