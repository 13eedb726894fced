import GraphIR
import GraphInterpreter
import Testing

@Suite struct MovementTests {
  /// `[[0, 1, 2], [3, 4, 5]]`.
  let x = f32([2, 3], [0, 1, 2, 3, 4, 5])

  @Test func `broadcast repeats size one dims and adds leading dims`() throws {
    let column = f32([2, 1], [1, 2])
    #expect(try evaluate(.broadcast([2, 3]), [column]).scalars == [1, 1, 1, 2, 2, 2])
    let row = f32([3], [1, 2, 3])
    let y = try evaluate(.broadcast([2, 2, 3]), [row])
    #expect(y.scalars == [1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3])
    let scalar = HostTensor(scalar: 7)
    #expect(try evaluate(.broadcast([2, 2]), [scalar]).scalars == [7, 7, 7, 7])
  }

  @Test func `broadcast of a middle dim matches indexing`() throws {
    var random = TestRandom(seed: 1)
    let t = random.tensor([2, 1, 3])
    let y = try evaluate(.broadcast([4, 2, 5, 3]), [t])
    for a in 0..<4 {
      for b in 0..<2 {
        for c in 0..<5 { for d in 0..<3 { #expect(y[a, b, c, d] == t[b, 0, d]) } }
      }
    }
  }

  @Test func `reshape keeps the row major order`() throws {
    let y = try evaluate(.reshape([3, 2]), [x])
    #expect(y == f32([3, 2], x.scalars))
  }

  @Test func `transpose puts operand dim perm i at result dim i`() throws {
    #expect(try evaluate(.transpose([1, 0]), [x]) == f32([3, 2], [0, 3, 1, 4, 2, 5]))
    var random = TestRandom(seed: 2)
    let t = random.tensor([2, 3, 4])
    let y = try evaluate(.transpose([2, 0, 1]), [t])
    #expect(y.shape == [4, 2, 3])
    for i in 0..<4 {
      for j in 0..<2 { for k in 0..<3 { #expect(y[i, j, k] == t[j, k, i]) } }
    }
  }

  @Test func `slice takes a box starting at an offset`() throws {
    let y = try evaluate(.slice(start: [1, 1], size: [1, 2]), [x])
    #expect(y == f32([1, 2], [4, 5]))
    #expect(try evaluate(.slice(start: [0, 2], size: [2, 1]), [x]).scalars == [2, 5])
  }

  @Test func `pad surrounds the operand with zeros`() throws {
    let y = try evaluate(.pad(low: [1, 0], high: [0, 2]), [x])
    #expect(y.shape == [3, 5])
    #expect(y.scalars == [0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 5, 0, 0])
  }

  @Test func `pad is the adjoint of slice`() throws {
    var random = TestRandom(seed: 4)
    let t = random.tensor([3, 4, 5])
    let (start, size) = ([1, 0, 2], [2, 3, 3])
    let dy = random.tensor(size)
    let sliced = try evaluate(.slice(start: start, size: size), [t])
    let padded = try evaluate(.pad(low: start, high: [0, 1, 0]), [dy])
    #expect(abs(dot(sliced.scalars, dy.scalars) - dot(t.scalars, padded.scalars)) < 1e-12)
  }

  @Test func `concat joins operands along an axis`() throws {
    let a = f32([2, 1], [10, 20])
    #expect(try evaluate(.concat(axis: 1), [x, a]).scalars == [0, 1, 2, 10, 3, 4, 5, 20])
    let b = f32([1, 3], [6, 7, 8])
    #expect(
      try evaluate(.concat(axis: 0), [x, b, b])
        == f32([4, 3], [0, 1, 2, 3, 4, 5] + [6, 7, 8, 6, 7, 8]))
  }
}
