import GraphCompiler
import GraphIR

/// The loops of a kernel: one nest per `LoopNest`, kept dimensions outside (in parallel),
/// reduced dimensions inside.
extension KernelEmitter {
  /// Each elementwise member is stored as `out[i] = (float)expression(i)`; each reduction
  /// accumulates in double. Sums and means over a contiguous innermost run are vectorised with
  /// `omp simd`: the order of the additions is then fixed by the code, not by the thread count.
  /// A `max` (alone in its nest) runs a sequential `fmax`.
  func emitNest(_ nest: LoopNest, shape: [Int], axes: [Int], into code: inout CodePrinter) {
    if nest.reductions(graph).isEmpty {
      emitElementwiseNest(nest, shape: shape, into: &code)
    } else {
      emitReductionNest(nest, shape: shape, axes: axes, into: &code)
    }
  }

  /// A flat loop when every read is at the element's own index, else one loop per dimension.
  /// A nest that stores a value in place over its operand (the two pointers are not
  /// `restrict`) has `omp simd` on its innermost loop: the store reads the operand only at its
  /// own element, so iterations are independent, and without the pragma clang's run-time
  /// overlap check sends the shared buffer down the scalar loop.
  private func emitElementwiseNest(_ nest: LoopNest, shape: [Int], into code: inout CodePrinter) {
    let view = shape.indices.map { shape[$0] == 1 ? "0" : "i\($0)" }
    let total = shape.reduce(1, *)
    let simd = nest.members.contains { inPlace[$0] != nil } ? "#pragma omp simd" : nil
    if nest.members.allSatisfy(expressions.isFlat) {
      if total >= Self.parallelThreshold {
        code.line(Self.parallelFor(total, simd: simd != nil))
      } else if let simd {
        code.line(simd)
      }
      code.block("for (int64_t i = 0; i < \(total); i++)") { code in
        for id in nest.members {
          code.line(
            "\(names.buffer(id)!)[i] = (float)\(expressions.definition(id, flatAt: "i"));")
        }
      }
      return
    }
    let loops = shape.indices.filter { shape[$0] > 1 }
    let parallel = total >= Self.parallelThreshold
    let hoister = makeHoister(
      nest, loops: loops, closed: Self.collapsed(loops, shape: shape, parallel), shape: shape)
    var body = CodePrinter()
    emitBody(nest, shape: shape, view: view, hoister: hoister, into: &body)
    hoister.emit(at: -1, into: &code)
    emitLoops(
      loops, shape: shape, parallel: parallel ? total : nil,
      simd: simd.map { (loops.count - 1, $0) }, hoister: hoister, into: &code
    ) { code in
      code.append(body)
    }
  }

  /// Kept dimensions outside (in parallel), reduced ones inside, `omp simd` over the
  /// contiguous trailing reduced run.
  private func emitReductionNest(
    _ nest: LoopNest, shape: [Int], axes: [Int], into code: inout CodePrinter
  ) {
    if !nest.containsMax(graph), let columns = ColumnReduction(shape: shape, axes: axes) {
      emitColumnReduction(nest, columns, into: &code)
      return
    }
    let view = shape.indices.map { shape[$0] == 1 ? "0" : "i\($0)" }
    let total = shape.reduce(1, *)
    let reductions = nest.reductions(graph)
    let kept = shape.indices.filter { shape[$0] > 1 && !axes.contains($0) }
    let reduced = shape.indices.filter { shape[$0] > 1 && axes.contains($0) }
    let keptCount = kept.reduce(1) { $0 * shape[$1] }
    let accumulators = reductions.map { "acc_\(names.buffer($0)!)" }
    let sequentialMax = nest.containsMax(graph)
    let simd = sequentialMax ? 0 : Self.vectorizedRun(shape: shape, reduced: reduced)
    let clause =
      "#pragma omp simd reduction(+:\(accumulators.joined(separator: ", ")))"
      + (simd > 1 ? " collapse(\(simd))" : "")
    let parallel = keptCount > 1 && total >= Self.parallelThreshold
    // Statements may not go inside the simd run (the loop the pragma precedes and those within).
    let simdStart = kept.count + reduced.count - simd
    let closed = Self.collapsed(kept, shape: shape, parallel).union(
      simd > 0 ? Set(simdStart..<(kept.count + reduced.count)) : [])
    let hoister = makeHoister(
      nest, loops: kept + reduced, closed: closed, shape: shape, tables: false)
    var body = CodePrinter()
    emitBody(nest, shape: shape, view: view, hoister: hoister, into: &body)
    hoister.emit(at: -1, into: &code)
    emitLoops(kept, shape: shape, parallel: parallel ? total : nil, hoister: hoister, into: &code) {
      code in
      let initial = sequentialMax ? "-INFINITY" : "0.0"
      code.line(
        "double " + accumulators.map { "\($0) = \(initial)" }.joined(separator: ", ") + ";")
      emitLoops(
        reduced, shape: shape, parallel: nil, simd: (reduced.count - simd, clause),
        hoister: hoister, base: kept.count, into: &code
      ) { code in code.append(body) }
      for (id, accumulator) in zip(reductions, accumulators) {
        emitFinish(id, accumulator, shape: shape, axes: axes, view: view, into: &code)
      }
    }
  }

  /// The nest's hoister over `loops` (dimensions, outermost first), in double; `tables`:
  /// allowed over the innermost loop. Hoisted values are named after the nest's first store
  /// (`h_t745_0`): unique in the kernel.
  func makeHoister(
    _ nest: LoopNest, loops: [Int], closed: Set<Int>, shape: [Int], tables: Bool = true
  ) -> Hoister {
    Hoister(
      loops: loops.map { "i\($0)" }, closed: closed,
      prefix: "h_\(names.buffer(nest.members[0])!)_", inDouble: true,
      innermostExtent: tables ? loops.last.map { shape[$0] } : nil,
      written: Set(nest.members.compactMap { names.buffer($0) }))
  }

  /// Loop positions whose body must begin with the next loop: the first of a parallel
  /// `collapse(2)` pair (see `emitLoops`).
  static func collapsed(_ dims: [Int], shape: [Int], _ parallel: Bool) -> Set<Int> {
    parallel && dims.count > 1 && shape[dims[0]] < 16 ? [0] : []
  }

  /// How many innermost reduced loops `omp simd` covers: the trailing reduced dimensions that
  /// are adjacent in memory and end at the innermost one (0 when the innermost is kept).
  static func vectorizedRun(shape: [Int], reduced: [Int]) -> Int {
    guard let innermost = shape.indices.last(where: { shape[$0] > 1 }),
      reduced.last == innermost
    else { return 0 }
    var run = 1
    while run < reduced.count {
      let inner = reduced[reduced.count - run]
      let outer = reduced[reduced.count - run - 1]
      guard shape[(outer + 1)..<inner].allSatisfy({ $0 == 1 }) else { break }
      run += 1
    }
    return run
  }

  /// The nest's statements at one element; `column` indexes array accumulators (a column
  /// reduction's) instead of scalar ones.
  func emitBody(
    _ nest: LoopNest, shape: [Int], view: [String], hoister: Hoister, column: String? = nil,
    into code: inout CodePrinter
  ) {
    var expressions = expressions
    expressions.hoister = hoister
    let index = ExpressionEmitter.offset(shape, view)
    for id in nest.members {
      if case .reduce(let op, _) = graph[id].op {
        let accumulator = "acc_\(names.buffer(id)!)" + (column.map { "[\($0)]" } ?? "")
        let value = expressions.value(graph[id].operands[0], at: view)
        code.line(
          op == .max
            ? "\(accumulator) = fmax(\(accumulator), \(value));" : "\(accumulator) += \(value);")
      } else {
        code.line(
          "\(names.buffer(id)!)[\(index)] = (float)\(expressions.definition(id, at: view));")
      }
    }
  }

  func emitFinish(
    _ id: NodeID, _ accumulator: String, shape: [Int], axes: [Int], view: [String],
    into code: inout CodePrinter
  ) {
    guard case .reduce(let op, _) = graph[id].op else { return }
    let outView = shape.indices.map { axes.contains($0) ? "0" : view[$0] }
    let out = "\(names.buffer(id)!)[\(ExpressionEmitter.offset(graph[id].type.shape, outView))]"
    let count = axes.reduce(1) { $0 * shape[$1] }
    code.line(
      op == .mean
        ? "\(out) = (float)(\(accumulator) / (double)\(count));" : "\(out) = (float)\(accumulator);"
    )
  }

  /// One `for` per dimension of `dims`, outermost first; `parallel` (the element count that
  /// decided it) shares the outermost among threads, `simd` puts a pragma before the loop at that position, and each loop body begins
  /// with the hoisted definitions of its position (`base` + its place in `dims`).
  func emitLoops(
    _ dims: [Int], shape: [Int], parallel: Int?, simd: (at: Int, pragma: String)? = nil,
    hoister: Hoister? = nil, base: Int = 0, into code: inout CodePrinter,
    _ body: (inout CodePrinter) -> Void
  ) {
    guard let first = dims.first else {
      body(&code)
      return
    }
    var simd = simd
    if let parallel {
      // A `simd` loop inside the parallel one (or its collapsed pair) joins its pragma.
      let collapse = dims.count > 1 && shape[first] < 16
      let joined = simd.map { $0.at == 0 || (collapse && $0.at == 1) } ?? false
      code.line(Self.parallelFor(parallel, collapse: collapse, simd: joined))
      if joined { simd = nil }
    }
    if let simd, simd.at == 0 { code.line(simd.pragma) }
    let inner = simd.map { ($0.at - 1, $0.pragma) }
    code.block("for (int64_t i\(first) = 0; i\(first) < \(shape[first]); i\(first)++)") { code in
      hoister?.emit(at: base, into: &code)
      emitLoops(
        Array(dims.dropFirst()), shape: shape, parallel: nil, simd: inner, hoister: hoister,
        base: base + 1, into: &code, body)
    }
  }
}
