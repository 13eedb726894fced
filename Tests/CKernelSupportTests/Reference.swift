import CKernelSupport
import GraphIR
import Testing

/// Random test data from the project's generator, so every run sees the same data.
extension SplitMix64 {
  /// `count` floats uniform in [-1, 1).
  mutating func array(_ count: Int) -> [Float] {
    (0..<count).map { _ in uniform(-1...1) }
  }
}

/// Checks `got` against a Double reference: the largest error relative to the largest reference
/// magnitude must stay below `tolerance` (any NaN fails).
func expectClose(
  _ got: [Float], _ want: [Double], tolerance: Double = 1e-4,
  _ comment: Comment? = nil, sourceLocation: Testing.SourceLocation = #_sourceLocation
) {
  #expect(got.count == want.count, comment, sourceLocation: sourceLocation)
  guard got.count == want.count else { return }
  let scale = max(want.reduce(0) { max($0, abs($1)) }, 1e-30)
  var worst = 0.0
  for (g, w) in zip(got, want) {
    let error = abs(Double(g) - w)
    if !(error <= worst) { worst = error }  // a NaN sticks and fails the check
  }
  #expect(worst / scale < tolerance, comment, sourceLocation: sourceLocation)
}

/// Bitwise equality of two float arrays.
func bitwiseEqual(_ a: [Float], _ b: [Float]) -> Bool {
  a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern }
}

/// C [m, n] = op(A) op(B) in Double.
func referenceMatmul(
  m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool, _ a: [Float], _ b: [Float]
) -> [Double] {
  var c = [Double](repeating: 0, count: m * n)
  for i in 0..<m {
    for j in 0..<n {
      var sum = 0.0
      for p in 0..<k {
        let av = transposeA ? a[p * m + i] : a[i * k + p]
        let bv = transposeB ? b[j * k + p] : b[p * n + j]
        sum += Double(av) * Double(bv)
      }
      c[i * n + j] = sum
    }
  }
  return c
}

/// Visits every (input index, filter index, output index) triple of a convolution that
/// multiplies a real (unpadded) input element.
func forEachConvTap(_ s: hw_conv_shape, _ body: (Int, Int, Int) -> Void) {
  let (n, c, h, w) = (Int(s.n), Int(s.c), Int(s.h), Int(s.w))
  let (o, kh, kw) = (Int(s.o), Int(s.kh), Int(s.kw))
  let (oh, ow) = (Int(s.oh), Int(s.ow))
  let (stride, pad) = (Int(s.stride), Int(s.pad))
  for img in 0..<n {
    for oc in 0..<o {
      for oy in 0..<oh {
        for ox in 0..<ow {
          let yIndex = ((img * o + oc) * oh + oy) * ow + ox
          for ic in 0..<c {
            for ki in 0..<kh {
              let iy = oy * stride - pad + ki
              if iy < 0 || iy >= h { continue }
              for kj in 0..<kw {
                let ix = ox * stride - pad + kj
                if ix < 0 || ix >= w { continue }
                body(
                  ((img * c + ic) * h + iy) * w + ix, ((oc * c + ic) * kh + ki) * kw + kj, yIndex)
              }
            }
          }
        }
      }
    }
  }
}

func referenceConvForward(_ s: hw_conv_shape, x: [Float], w: [Float]) -> [Double] {
  var y = [Double](repeating: 0, count: Int(s.n * s.o * s.oh * s.ow))
  forEachConvTap(s) { xi, wi, yi in y[yi] += Double(x[xi]) * Double(w[wi]) }
  return y
}

func referenceConvInputGrad(_ s: hw_conv_shape, dy: [Float], w: [Float]) -> [Double] {
  var dx = [Double](repeating: 0, count: Int(s.n * s.c * s.h * s.w))
  forEachConvTap(s) { xi, wi, yi in dx[xi] += Double(dy[yi]) * Double(w[wi]) }
  return dx
}

func referenceConvFilterGrad(_ s: hw_conv_shape, x: [Float], dy: [Float]) -> [Double] {
  var dw = [Double](repeating: 0, count: Int(s.o * s.c * s.kh * s.kw))
  forEachConvTap(s) { xi, wi, yi in dw[wi] += Double(dy[yi]) * Double(x[xi]) }
  return dw
}

/// Average pooling without padding in Double: x [n, c, h, w] -> y [n, c, oh, ow].
func referenceAvgPool(
  n: Int, c: Int, h: Int, w: Int, window: Int, stride: Int, _ x: [Float]
) -> [Double] {
  let oh = (h - window) / stride + 1
  let ow = (w - window) / stride + 1
  var y = [Double](repeating: 0, count: n * c * oh * ow)
  for p in 0..<(n * c) {
    for oy in 0..<oh {
      for ox in 0..<ow {
        var sum = 0.0
        for i in 0..<window {
          for j in 0..<window {
            sum += Double(x[(p * h + oy * stride + i) * w + ox * stride + j])
          }
        }
        y[(p * oh + oy) * ow + ox] = sum / Double(window * window)
      }
    }
  }
  return y
}

/// Its gradient in Double: dy [n, c, oh, ow] -> dx [n, c, h, w].
func referenceAvgPoolGrad(
  n: Int, c: Int, h: Int, w: Int, window: Int, stride: Int, _ dy: [Float]
) -> [Double] {
  let oh = (h - window) / stride + 1
  let ow = (w - window) / stride + 1
  var dx = [Double](repeating: 0, count: n * c * h * w)
  for p in 0..<(n * c) {
    for oy in 0..<oh {
      for ox in 0..<ow {
        let g = Double(dy[(p * oh + oy) * ow + ox]) / Double(window * window)
        for i in 0..<window {
          for j in 0..<window {
            dx[(p * h + oy * stride + i) * w + ox * stride + j] += g
          }
        }
      }
    }
  }
  return dx
}
