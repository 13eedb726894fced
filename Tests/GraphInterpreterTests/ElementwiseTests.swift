import Foundation
import GraphIR
import GraphInterpreter
import Testing

@Suite struct ElementwiseTests {
  let x = f32([2, 3], [-2, -0.5, 0, 0.25, 1, 4])

  @Test func `a splat constant fills every element`() throws {
    let y = try evaluate(.constant(.splat(1.5)), declared: .f32([2, 2]))
    #expect(y == f32([2, 2], [1.5, 1.5, 1.5, 1.5]))
  }

  @Test func `a diagonal constant wraps its offset around the columns`() throws {
    let y = try evaluate(.constant(.diagonal(offset: 2, value: 7)), declared: .f32([3, 3]))
    #expect(y.scalars == [0, 0, 7, 7, 0, 0, 0, 7, 0])
    let negative = try evaluate(.constant(.diagonal(offset: -1, value: 1)), declared: .f32([2, 3]))
    #expect(negative.scalars == [0, 0, 1, 1, 0, 0])
  }

  @Test func `explicit constant values are row major`() throws {
    let y = try evaluate(.constant(.values([1, 2, 3, 4, 5, 6])), declared: .f32([3, 2]))
    #expect(y[2, 1] == 6)
    #expect(y[1, 0] == 3)
  }

  @Test func `unary ops match their scalar definitions`() throws {
    let positive = f32([4], [0.25, 1, 2, 9])
    #expect(try evaluate(.unary(.neg), [x]).scalars == [2, 0.5, 0, -0.25, -1, -4])
    #expect(try evaluate(.unary(.relu), [x]).scalars == [0, 0, 0, 0.25, 1, 4])
    #expect(try evaluate(.unary(.abs), [x]).scalars == [2, 0.5, 0, 0.25, 1, 4])
    #expect(try evaluate(.unary(.exp), [x]).scalars == x.scalars.map { Foundation.exp($0) })
    #expect(try evaluate(.unary(.log), [positive]).scalars == positive.scalars.map(log))
    #expect(try evaluate(.unary(.sqrt), [positive]).scalars == [0.5, 1, 2.squareRoot(), 3])
    #expect(try evaluate(.unary(.rsqrt), [positive]).scalars == [2, 1, 1 / 2.squareRoot(), 1 / 3])
  }

  @Test func `pow raises every element to a constant exponent`() throws {
    let y = try evaluate(.powConstant(3), [x])
    #expect(y.scalars == [-8, -0.125, 0, 0.015625, 1, 64])
    #expect(try evaluate(.powConstant(0.5), [f32([2], [4, 9])]).scalars == [2, 3])
  }

  @Test func `binary ops combine operands elementwise`() throws {
    let a = f32([3], [1, -2, 6])
    let b = f32([3], [4, 5, -3])
    #expect(try evaluate(.binary(.add), [a, b]).scalars == [5, 3, 3])
    #expect(try evaluate(.binary(.sub), [a, b]).scalars == [-3, -7, 9])
    #expect(try evaluate(.binary(.mul), [a, b]).scalars == [4, -10, -18])
    #expect(try evaluate(.binary(.div), [a, b]).scalars == [0.25, -0.4, -2])
    #expect(try evaluate(.binary(.max), [a, b]).scalars == [4, 5, 6])
    #expect(try evaluate(.binary(.min), [a, b]).scalars == [1, -2, -3])
  }

  @Test func `comparisons yield one where they hold and zero elsewhere`() throws {
    let a = f32([3], [1, 2, 3])
    let b = f32([3], [2, 2, 2])
    let expected: [Comparison: [Double]] = [
      .lt: [1, 0, 0], .le: [1, 1, 0], .gt: [0, 0, 1], .ge: [0, 1, 1], .eq: [0, 1, 0],
      .ne: [1, 0, 1],
    ]
    for (comparison, values) in expected {
      #expect(try evaluate(.compare(comparison), [a, b]).scalars == values, "\(comparison)")
    }
  }

  @Test func `select picks the first operand where the mask is non-zero`() throws {
    let mask = f32([4], [1, 0, -2, 0])
    let a = f32([4], [1, 2, 3, 4])
    let b = f32([4], [10, 20, 30, 40])
    #expect(try evaluate(.select, [mask, a, b]).scalars == [1, 20, 3, 40])
  }

  @Test func `stop gradient is the identity`() throws {
    #expect(try evaluate(.stopGradient, [x]) == x)
  }

  @Test func `reductions keep the reduced axes with size one`() throws {
    let t = f32([2, 3], [1, 2, 3, 4, 5, 9])
    let rows = try evaluate(.reduce(.sum, axes: [1]), [t])
    #expect(rows == f32([2, 1], [6, 18]))
    #expect(try evaluate(.reduce(.mean, axes: [0]), [t]) == f32([1, 3], [2.5, 3.5, 6]))
    #expect(try evaluate(.reduce(.max, axes: [0, 1]), [t]) == f32([1, 1], [9]))
    #expect(try evaluate(.reduce(.max, axes: [1]), [x]).scalars == [0, 4])
    #expect(try evaluate(.reduce(.sum, axes: []), [t]) == t)
  }

  @Test func `reducing middle axes of a rank four tensor matches a direct sum`() throws {
    var random = TestRandom(seed: 3)
    let t = random.tensor([2, 3, 4, 5])
    let y = try evaluate(.reduce(.mean, axes: [1, 3]), [t])
    #expect(y.type == .f32([2, 1, 4, 1]))
    for n in 0..<2 {
      for h in 0..<4 {
        var sum = 0.0
        for c in 0..<3 { for w in 0..<5 { sum += t[n, c, h, w] } }
        #expect(abs(y[n, 0, h, 0] - sum / 15) < 1e-12)
      }
    }
  }

  @Test func `one hot turns integer labels into rows of a float matrix`() throws {
    let labels = HostTensor(.i32([3]), [2, 0, 1])
    let y = try evaluate(.oneHot(classes: 3), [labels])
    #expect(y == f32([3, 3], [0, 0, 1, 1, 0, 0, 0, 1, 0]))
  }

  @Test func `one hot names an out of range label and its index`() throws {
    let labels = HostTensor(.i32([3]), [2, 5, 1])
    let error = #expect(throws: InterpreterError.self) {
      try evaluate(.oneHot(classes: 3), [labels])
    }
    let message = error?.description ?? ""
    #expect(message.contains("label 5"))
    #expect(message.contains("index 1"))
  }
}
