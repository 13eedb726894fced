import GraphCompiler

extension EntrySchedule {
  /// The arguments, calls, buffers, copies and constants tables; `hw_entry` fields point at
  /// them.
  func emit(into code: inout CodePrinter, library: KernelLibrary) {
    code.line("/* Entry point '\(name)': \(calls.count) calls, \(buffers.count) buffers. Calls:")
    code.line(" * {kernel, arguments, first argument, own scratch bytes, takes the spare range};")
    code.line(" * buffers: {bytes, the call storing it, its last reader, buffer it overwrites};")
    code.line(
      " * copies after the calls (but before the optimizer's) and a loop's carries: {to, from,")
    code.line(" * bytes}. */")
    if !calls.isEmpty {
      code.line("static const hw_arg \(prefix)_args[] = {")
      code.indented { code in
        for call in calls { code.wrapped("", call.arguments.map(\.c), ",") }
      }
      code.line("};")
      code.line("static const hw_call \(prefix)_calls[] = {")
      var first = 0
      code.indented { code in
        for call in calls {
          let row =
            "{\(call.kernel), \(call.arguments.count), \(first), \(call.scratch.hwPoly!), "
            + "\(call.spare ? 1 : 0)},"
          let pad = String(repeating: " ", count: max(1, 32 - row.count))
          let function = library.name(call.kernel).dropFirst(library.prefix.count + 1)
          let layer = library.hasLayerName(call.kernel) ? nil : call.path
          code.line(row + pad + "/* \(function)\(layer.map { " " + $0 } ?? "") */")
          first += call.arguments.count
        }
      }
      code.line("};")
    }
    if !buffers.isEmpty {
      code.line("static const hw_buffer \(prefix)_buffers[] = {")
      code.indented { code in
        for buffer in buffers {
          code.line(
            "{\(buffer.bytes.hwPoly!), \(buffer.first), \(buffer.last), \(buffer.inPlaceOf ?? -1)},"
          )
        }
      }
      code.line("};")
    }
    if !copies.isEmpty {
      code.line("static const hw_copy \(prefix)_copies[] = {")
      code.indented { code in
        for copy in copies { code.line("{\(copy.to.c), \(copy.from.c), \(copy.bytes.hwPoly!)},") }
      }
      code.line("};")
    }
    if !constants.isEmpty {
      code.wrapped("static const float *const \(prefix)_constants[] = {", constants, "};")
    }
    if let loop, !loop.carries.isEmpty {
      code.line("static const hw_copy \(prefix)_carries[] = {")
      code.indented { code in
        for copy in loop.carries {
          code.line("{\(copy.to.c), \(copy.from.c), \(copy.bytes.hwPoly!)},")
        }
      }
      code.line("};")
    }
  }

  /// The designated fields of the entry's `hw_entry` after its inputs, outputs and costs: its
  /// buffers, calls, copies, constants and loop (a table it lacks is left out: NULL).
  func tableFields(kernels: String) throws -> [String] {
    var fields = ["num_buffers = \(buffers.count)", "num_calls = \(calls.count)"]
    if !buffers.isEmpty { fields.append("buffers = \(prefix)_buffers") }
    if !calls.isEmpty {
      fields += ["kernels = \(kernels)", "calls = \(prefix)_calls", "args = \(prefix)_args"]
    }
    if !copies.isEmpty { fields += ["num_copies = \(copies.count)", "copies = \(prefix)_copies"] }
    if !optimizer.isEmpty { fields.append("optimizer_calls = \(optimizer.count)") }
    if !constants.isEmpty { fields.append("constants = \(prefix)_constants") }
    if let loop {
      let costs = try costs(of: loop.calls)
      fields += [
        "loop.first = \(loop.calls.lowerBound)", "loop.end = \(loop.calls.upperBound)",
        "loop.num_carries = \(loop.carries.count)",
      ]
      if !loop.carries.isEmpty { fields.append("loop.carries = \(prefix)_carries") }
      fields += [
        "loop.flops = \(costs.flops.hwPoly!)", "loop.bytes_moved = \(costs.bytes.hwPoly!)",
      ]
    }
    return fields
  }

  /// The compiler's estimates for one call, as polynomials in N: FLOPs and bytes moved,
  /// counted with each dimension as the polynomial the two markers give it.
  func costs(of calls: Range<Int>? = nil) throws -> (flops: BatchPolynomial, bytes: BatchPolynomial)
  {
    let (a, b) = (entry.0.graph, entry.1.graph)
    var failure: GenericBatch.Mismatch?
    let costs = a.kernelCosts { (id, axis) -> BatchPolynomial in
      do throws(GenericBatch.Mismatch) {
        return try GenericBatch.polynomial(
          a[id].type.shape[axis], b[id].type.shape[axis], place: "the shape of \(id) in '\(name)'")
      } catch {
        failure = error
        return .zero
      }
    }
    if let failure { throw failure }
    let kernels = costs[calls ?? costs.indices].reduce(
      (BatchPolynomial.zero, BatchPolynomial.zero)
    ) { ($0.0 + $1.flops, $0.1 + $1.bytes) }
    guard calls == nil else { return kernels }
    // The optimizer: about ten operations per element.
    return optimizer.reduce(kernels) {
      ($0.0 + BatchPolynomial(10 * $1.elements), $0.1 + BatchPolynomial($1.bytesMoved))
    }
  }
}
