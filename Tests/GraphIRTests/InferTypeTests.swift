import GraphIR
import Testing

@Suite struct InferTypeTests {
  private func infer(_ op: Op, _ operands: [TensorType]) throws(ShapeError) -> TensorType {
    try op.inferType(operands, declared: nil)
  }

  private func rejects(
    _ op: Op, _ operands: [TensorType], _ message: String,
    sourceLocation: Testing.SourceLocation = #_sourceLocation
  ) {
    let error = #expect(throws: ShapeError.self, sourceLocation: sourceLocation) {
      try infer(op, operands)
    }
    #expect(
      error?.message.contains(message) == true, "\(error?.message ?? "")",
      sourceLocation: sourceLocation)
  }

  @Test func `Collectives gather and scatter along their axis and keep all_reduce's shape`()
    throws
  {
    let gather = Collective(.allGather, ranks: 3, axis: 1, rotate: true)
    #expect(try infer(.collective(gather), [.f32([2, 4])]) == .f32([2, 12]))
    #expect(try infer(.collective(gather.transpose), [.f32([2, 12])]) == .f32([2, 4]))
    #expect(try infer(.collective(Collective(.allReduce, ranks: 5)), [.scalar]) == .scalar)
    let scatter = Collective(.reduceScatter, ranks: 3)
    rejects(.collective(scatter), [.f32([4, 2])], "needs axis 0 divisible by 3")
    rejects(.collective(Collective(.allGather, ranks: 2, axis: 2)), [.f32([4, 2])], "axis 2")
    rejects(.collective(Collective(.allReduce, ranks: 0)), [.f32([4])], "at least 1")
    rejects(.collective(Collective(.allReduce, ranks: 2)), [.i32([4])], "takes f32")
  }

  @Test func `Broadcast right-aligns dims that are equal or one`() throws {
    #expect(try infer(.broadcast([2, 3]), [.scalar]) == .f32([2, 3]))
    #expect(try infer(.broadcast([2, 3]), [.f32([3])]) == .f32([2, 3]))
    #expect(try infer(.broadcast([4, 2, 3]), [.f32([1, 3])]) == .f32([4, 2, 3]))
    #expect(try infer(.broadcast([2, 3]), [.f32([2, 3])]) == .f32([2, 3]))
    #expect(try infer(.broadcast([]), [.scalar]) == .scalar)
    #expect(try infer(.broadcast([5]), [.i32([1])]) == .i32([5]))
  }

  @Test func `Broadcast rejects left-aligned dims, shrinking rank and empty dims`() {
    rejects(.broadcast([2, 3]), [.f32([2])], "cannot broadcast f32[2] to [2, 3]")
    rejects(.broadcast([3]), [.f32([2, 3])], "cannot broadcast")
    rejects(.broadcast([2, 4]), [.f32([2, 3])], "cannot broadcast")
    rejects(.broadcast([0]), [.f32([1])], "cannot broadcast")
    rejects(.broadcast([-2]), [.scalar], "cannot broadcast")
  }

  @Test func `Reductions keep reduced axes with size one`() throws {
    #expect(try infer(.reduce(.sum, axes: [0, 2]), [.f32([2, 3, 4])]) == .f32([1, 3, 1]))
    #expect(try infer(.reduce(.mean, axes: [1, 0]), [.f32([2, 3])]) == .f32([1, 1]))
    #expect(try infer(.reduce(.max, axes: []), [.f32([2, 3])]) == .f32([2, 3]))
    #expect(try infer(.reduce(.sum, axes: []), [.scalar]) == .scalar)
  }

  @Test func `Reductions reject repeated or out-of-range axes and integer operands`() {
    rejects(.reduce(.sum, axes: [0, 0]), [.f32([2, 3])], "reduction axes [0, 0] are invalid")
    rejects(.reduce(.sum, axes: [2]), [.f32([2, 3])], "invalid for rank 2")
    rejects(.reduce(.sum, axes: [-1]), [.f32([2, 3])], "invalid for rank 2")
    rejects(.reduce(.sum, axes: [0]), [.i32([2])], "expected f32 operands")
  }

  @Test func `Slice takes in-bounds windows of positive size`() throws {
    #expect(try infer(.slice(start: [0, 1], size: [2, 2]), [.f32([2, 3])]) == .f32([2, 2]))
    #expect(try infer(.slice(start: [0, 0], size: [2, 3]), [.f32([2, 3])]) == .f32([2, 3]))
    #expect(try infer(.slice(start: [], size: []), [.scalar]) == .scalar)
    rejects(.slice(start: [0, 2], size: [2, 2]), [.f32([2, 3])], "out of bounds for f32[2,3]")
    rejects(.slice(start: [0, 0], size: [2, 0]), [.f32([2, 3])], "out of bounds")
    rejects(.slice(start: [-1, 0], size: [1, 1]), [.f32([2, 3])], "out of bounds")
    rejects(.slice(start: [0], size: [1]), [.f32([2, 3])], "out of bounds")
  }

  @Test func `Pad adds low and high sizes and rejects negative ones`() throws {
    #expect(try infer(.pad(low: [1, 0], high: [2, 3]), [.f32([2, 3])]) == .f32([5, 6]))
    #expect(try infer(.pad(low: [0], high: [0]), [.f32([4])]) == .f32([4]))
    rejects(.pad(low: [-1], high: [1]), [.f32([4])], "non-negative")
    rejects(.pad(low: [1], high: [1]), [.f32([2, 3])], "pad needs 2")
  }

  @Test func `Concat adds sizes along the axis only`() throws {
    #expect(
      try infer(.concat(axis: 1), [.f32([2, 3]), .f32([2, 1]), .f32([2, 4])]) == .f32([2, 8]))
    #expect(try infer(.concat(axis: 0), [.f32([2, 3])]) == .f32([2, 3]))
    rejects(.concat(axis: 0), [.f32([2, 3]), .f32([2, 4])], "differ outside axis 0")
    rejects(.concat(axis: 0), [.f32([2, 3]), .f32([2, 3, 1])], "agree in rank and type")
    rejects(.concat(axis: 0), [.f32([2]), .i32([2])], "agree in rank and type")
    rejects(.concat(axis: 2), [.f32([2, 3])], "valid axis")
    rejects(.concat(axis: 0), [], "concat needs operands")
  }

  @Test func `Transpose permutes dims and rejects non-permutations`() throws {
    #expect(try infer(.transpose([2, 0, 1]), [.f32([2, 3, 4])]) == .f32([4, 2, 3]))
    #expect(try infer(.transpose([]), [.scalar]) == .scalar)
    rejects(.transpose([0, 0]), [.f32([2, 3])], "is not a permutation of the 2 axes")
    rejects(.transpose([0]), [.f32([2, 3])], "is not a permutation")
    rejects(.transpose([1, 2]), [.f32([2, 3])], "is not a permutation")
  }

  @Test func `Conv2d rejects a zero stride and a filter larger than the padded input`() throws {
    let x = TensorType.f32([1, 1, 3, 3])
    #expect(
      try infer(.conv2d(Conv2D(stride: 2, padding: 1)), [x, .f32([2, 1, 3, 3])])
        == .f32([1, 2, 2, 2]))
    rejects(.conv2d(Conv2D(stride: 0)), [x, .f32([1, 1, 3, 3])], "does not fit")
    rejects(.conv2d(Conv2D(stride: 2)), [x, .f32([1, 1, 4, 4])], "does not fit")
    rejects(.conv2d(Conv2D(padding: -1)), [x, .f32([1, 1, 1, 1])], "does not fit")
  }

  @Test func `Operand counts are checked before shapes`() {
    rejects(.binary(.add), [.f32([2])], "expected 2 operands, got 1")
    rejects(.select, [.f32([2]), .f32([2])], "expected 3 operands, got 2")
  }
}
