import Testing

@testable import CodegenC

/// Where loop-invariant subexpressions go: the outermost loop body where their indices are
/// fixed, never inside a collapse or simd run, never the innermost loop.
@Suite struct HoisterTests {
  /// Loops i0 (outer), i1, i2, i3 (innermost).
  func hoister(closed: Set<Int> = []) -> Hoister {
    Hoister(loops: ["i0", "i1", "i2", "i3"], closed: closed, prefix: "h_", inDouble: true)
  }

  func emitted(_ hoister: Hoister, at level: Int) -> [String] {
    var code = CodePrinter()
    hoister.emit(at: level, into: &code)
    return code.text.split(separator: "\n").map(String.init)
  }

  @Test func `A per-channel expression goes to the top of the channel loop`() {
    let h = hoister()
    #expect(h.hoist("(1.0 / sqrt((double)v[i1]))") == "h_0")
    #expect(emitted(h, at: 1) == ["const double h_0 = (1.0 / sqrt((double)v[i1]));"])
    #expect(emitted(h, at: 0).isEmpty && emitted(h, at: -1).isEmpty)
  }

  @Test func `An expression of the innermost index stays where it is`() {
    let h = hoister()
    let text = "((double)x[i0 * 64 + i1 * 16 + i2 * 4 + i3] * 2.0)"
    #expect(h.hoist(text) == text)
  }

  @Test func `A constant expression goes before the loops and is made once`() {
    let h = hoister()
    #expect(h.hoist("((double)s[0] + 1e-05)") == "h_0")
    #expect(h.hoist("((double)s[0] + 1e-05)") == "h_0")
    #expect(emitted(h, at: -1) == ["const double h_0 = ((double)s[0] + 1e-05);"])
  }

  @Test func `An expression over a hoisted value is placed no outer than that value`() {
    let h = hoister()
    let inner = h.hoist("(double)v[i2]")
    #expect(h.hoist("(\(inner) * 0.5)") == "h_1")
    #expect(
      emitted(h, at: 2) == ["const double h_0 = (double)v[i2];", "const double h_1 = (h_0 * 0.5);"])
  }

  @Test func `A closed loop body passes the statement to the next open one, or keeps it inline`() {
    // i0's body must begin with i1's loop (collapse(2)): an i0 expression goes into i1's body.
    let collapsed = hoister(closed: [0])
    #expect(collapsed.hoist("(double)v[i0]") == "h_0")
    #expect(emitted(collapsed, at: 1) == ["const double h_0 = (double)v[i0];"])
    // i2's body is an simd run: an i2 expression cannot go anywhere before the innermost loop.
    let simd = hoister(closed: [2])
    #expect(simd.hoist("(double)v[i2]") == "(double)v[i2]")
  }

  @Test func `Index variables are whole identifiers`() {
    let names = Hoister.identifiers(in: "(double)t12[i0 * 25088 + i12] + multi2 + 1e-05")
    #expect(names == ["double", "t12", "i0", "i12", "multi2"])  // not the exponent of 1e-05
  }
}
