import GraphCompiler

extension EntrySchedule {
  /// The arguments, calls, buffers, copies and constants tables; `hw_entry` fields point at
  /// them.
  func emit(into code: inout CodePrinter, library: KernelLibrary) {
    code.line("/* Entry point '\(name)': \(calls.count) calls, \(buffers.count) buffers. */")
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

  /// The `loop` field of the entry's `hw_entry`: its calls, carried values and one
  /// repetition's FLOPs and bytes moved.
  func loopField() throws -> String {
    guard let loop else { return "{0, 0, 0, NULL, {0, 0, 0}, {0, 0, 0}}" }
    let costs = try costs(of: loop.calls)
    let carries = loop.carries.isEmpty ? "NULL" : "\(prefix)_carries"
    return
      "{\(loop.calls.lowerBound), \(loop.calls.upperBound), \(loop.carries.count), \(carries), "
      + "\(costs.flops.hwPoly!), \(costs.bytes.hwPoly!)}"
  }

  /// The `num_buffers, buffers` fields of the entry's `hw_entry`.
  var bufferFields: String {
    "\(buffers.count), \(buffers.isEmpty ? "NULL" : "\(prefix)_buffers")"
  }

  /// The `kernels, calls, args, num_copies, copies, constants` fields of the entry's `hw_entry`.
  func tableFields(kernels: String) -> String {
    let tables = calls.isEmpty ? "NULL, NULL, NULL" : "\(kernels), \(prefix)_calls, \(prefix)_args"
    let copiesTable = copies.isEmpty ? "NULL" : "\(prefix)_copies"
    let constantsTable = constants.isEmpty ? "NULL" : "\(prefix)_constants"
    return "\(tables), \(copies.count), \(copiesTable), \(constantsTable)"
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
    return costs[calls ?? costs.indices].reduce((BatchPolynomial.zero, BatchPolynomial.zero)) {
      ($0.0 + $1.flops, $0.1 + $1.bytes)
    }
  }
}
