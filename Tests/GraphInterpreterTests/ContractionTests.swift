import GraphIR
import GraphInterpreter
import Testing

/// The direct definition of conv2d: seven nested loops with explicit bounds checks.
func naiveConv2d(_ x: HostTensor, _ w: HostTensor, stride: Int, padding: Int) -> HostTensor {
  let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
  let (o, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
  let oh = (h + 2 * padding - kh) / stride + 1
  let ow = (wd + 2 * padding - kw) / stride + 1
  var y = HostTensor(zeros: .f32([n, o, oh, ow]))
  for b in 0..<n {
    for f in 0..<o {
      for i in 0..<oh {
        for j in 0..<ow {
          var sum = 0.0
          for ch in 0..<c {
            for r in 0..<kh {
              for s in 0..<kw {
                let (row, col) = (i * stride + r - padding, j * stride + s - padding)
                guard (0..<h).contains(row), (0..<wd).contains(col) else { continue }
                sum += x[b, ch, row, col] * w[f, ch, r, s]
              }
            }
          }
          y[b, f, i, j] = sum
        }
      }
    }
  }
  return y
}

@Suite struct ContractionTests {
  @Test func `matmul multiplies two small matrices`() throws {
    let a = f32([2, 3], [1, 2, 3, 4, 5, 6])
    let b = f32([3, 2], [7, 8, 9, 10, 11, 12])
    let y = try evaluate(.matmul(transposeA: false, transposeB: false), [a, b])
    #expect(y == f32([2, 2], [58, 64, 139, 154]))
  }

  @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
  func `matmul honours both transpose flags`(transposeA: Bool, transposeB: Bool) throws {
    var random = TestRandom(seed: 5)
    let (m, k, n) = (3, 4, 5)
    let a = random.tensor(transposeA ? [k, m] : [m, k])
    let b = random.tensor(transposeB ? [n, k] : [k, n])
    let y = try evaluate(.matmul(transposeA: transposeA, transposeB: transposeB), [a, b])
    #expect(y.shape == [m, n])
    for i in 0..<m {
      for j in 0..<n {
        var sum = 0.0
        for p in 0..<k {
          sum += (transposeA ? a[p, i] : a[i, p]) * (transposeB ? b[j, p] : b[p, j])
        }
        #expect(abs(y[i, j] - sum) < 1e-12)
      }
    }
  }

  @Test func `conv2d of a small image matches a hand computation`() throws {
    let x = f32([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9])
    let w = f32([1, 1, 2, 2], [1, 0, 0, -1])
    let y = try evaluate(.conv2d(Conv2D()), [x, w])
    #expect(y == f32([1, 1, 2, 2], [-4, -4, -4, -4]))
    let padded = try evaluate(.conv2d(Conv2D(stride: 2, padding: 1)), [x, w])
    #expect(padded == f32([1, 1, 2, 2], [-1, -3, -7, -4]))
  }

  @Test(arguments: [(1, 0), (1, 1), (2, 1), (3, 2)])
  func `conv2d matches the direct seven loop formula`(stride: Int, padding: Int) throws {
    var random = TestRandom(seed: UInt64(10 * stride + padding))
    let x = random.tensor([2, 3, 7, 6])
    let w = random.tensor([4, 3, 3, 2])
    let y = try evaluate(.conv2d(Conv2D(stride: stride, padding: padding)), [x, w])
    let expected = naiveConv2d(x, w, stride: stride, padding: padding)
    #expect(y.type == expected.type)
    #expect(isClose(y.scalars, expected.scalars, tolerance: 1e-12))
  }

  @Test(arguments: [(1, 0), (2, 1), (2, 0), (3, 2)])
  func `conv2d gradients satisfy the adjoint identity`(stride: Int, padding: Int) throws {
    var random = TestRandom(seed: UInt64(7 + stride * padding))
    let conv = Conv2D(stride: stride, padding: padding)
    let x = random.tensor([2, 3, 8, 7])
    let w = random.tensor([5, 3, 3, 2])
    let y = try evaluate(.conv2d(conv), [x, w])
    let dy = random.tensor(y.shape)
    let dx = try evaluate(.conv2dInputGrad(conv, inputShape: x.shape), [dy, w])
    let dw = try evaluate(.conv2dFilterGrad(conv, filterShape: w.shape), [x, dy])
    let reference = dot(y.scalars, dy.scalars)
    #expect(abs(reference - dot(x.scalars, dx.scalars)) < 1e-10)
    #expect(abs(reference - dot(w.scalars, dw.scalars)) < 1e-10)
  }

  @Test func `avg pool averages each window`() throws {
    let x = f32([1, 1, 3, 4], (0..<12).map(Double.init))
    let y = try evaluate(.avgPool2d(window: 2, stride: 2), [x])
    #expect(y == f32([1, 1, 1, 2], [2.5, 4.5]))
    let overlapping = try evaluate(.avgPool2d(window: 2, stride: 1), [x])
    #expect(overlapping.scalars == [2.5, 3.5, 4.5, 6.5, 7.5, 8.5])
  }

  @Test func `avg pool gradient spreads each output evenly over its window`() throws {
    let dy = f32([1, 1, 1, 2], [4, 8])
    let dx = try evaluate(.avgPool2dGrad(window: 2, stride: 2, inputShape: [1, 1, 3, 4]), [dy])
    #expect(dx.scalars == [1, 1, 2, 2, 1, 1, 2, 2, 0, 0, 0, 0])
  }

  @Test(arguments: [(2, 2), (3, 1), (3, 2)])
  func `avg pool gradient is the adjoint of avg pool`(window: Int, stride: Int) throws {
    var random = TestRandom(seed: UInt64(window * 10 + stride))
    let x = random.tensor([2, 3, 7, 8])
    let y = try evaluate(.avgPool2d(window: window, stride: stride), [x])
    let dy = random.tensor(y.shape)
    let dx = try evaluate(
      .avgPool2dGrad(window: window, stride: stride, inputShape: x.shape), [dy])
    #expect(abs(dot(y.scalars, dy.scalars) - dot(x.scalars, dx.scalars)) < 1e-12)
  }

  @Test func `a ResNet sized convolution and its gradients take milliseconds`() throws {
    var random = TestRandom(seed: 9)
    let conv = Conv2D(stride: 1, padding: 1)
    let x = random.tensor([8, 64, 14, 14])
    let w = random.tensor([128, 64, 3, 3])
    let start = ContinuousClock.now
    let y = try evaluate(.conv2d(conv), [x, w])
    _ = try evaluate(.conv2dInputGrad(conv, inputShape: x.shape), [y, w])
    _ = try evaluate(.conv2dFilterGrad(conv, filterShape: w.shape), [x, y])
    // About 3 x 115 MFLOP; generous so a loaded machine does not fail it.
    #expect(ContinuousClock.now - start < .seconds(3))
  }
}
