import GraphIR

/// The sizes of one convolution: input `[batch, channels, height, width]`, filter
/// `[outChannels, channels, kernelHeight, kernelWidth]`, output `[batch, outChannels,
/// outHeight, outWidth]`.
///
/// Per image, the input is unfolded (im2col) into a `[patch, pixels]` matrix, where
/// `patch = channels * kernelHeight * kernelWidth` and `pixels = outHeight * outWidth`, whose
/// column `i * outWidth + j` holds the input values under output pixel `(i, j)` (zero where the
/// window hangs over the padding). The filter is a `[outChannels, patch]` matrix, so
/// `y = W * cols`, `dcols = W^T * dy` (folded back with col2im) and `dW = sum dy * cols^T`.
struct ConvGeometry {
  var batch, channels, height, width: Int
  var outChannels, kernelHeight, kernelWidth: Int
  var stride, padding: Int
  var outHeight, outWidth: Int

  init(x: [Int], w: [Int], _ conv: Conv2D) {
    (batch, channels, height, width) = (x[0], x[1], x[2], x[3])
    (outChannels, kernelHeight, kernelWidth) = (w[0], w[2], w[3])
    (stride, padding) = (conv.stride, conv.padding)
    outHeight = (height + 2 * padding - kernelHeight) / stride + 1
    outWidth = (width + 2 * padding - kernelWidth) / stride + 1
  }

  var patch: Int { channels * kernelHeight * kernelWidth }
  var pixels: Int { outHeight * outWidth }
  var imageSize: Int { channels * height * width }
  var outImageSize: Int { outChannels * pixels }

  /// The im2col index table: `cols[column[t]] = image[input[t]]` for every tap `t` whose input
  /// position lies inside the image (the other entries of `cols` are zero padding). `column`
  /// indexes the `[patch, pixels]` matrix, `input` one `[channels, height, width]` image.
  func taps() -> (column: [Int], input: [Int]) {
    var column: [Int] = []
    var input: [Int] = []
    column.reserveCapacity(patch * pixels)
    input.reserveCapacity(patch * pixels)
    for c in 0..<channels {
      for r in 0..<kernelHeight {
        for s in 0..<kernelWidth {
          let row = (c * kernelHeight + r) * kernelWidth + s
          for i in 0..<outHeight {
            let y = i * stride + r - padding
            guard y >= 0, y < height else { continue }
            for j in 0..<outWidth {
              let x = j * stride + s - padding
              guard x >= 0, x < width else { continue }
              column.append(row * pixels + i * outWidth + j)
              input.append((c * height + y) * width + x)
            }
          }
        }
      }
    }
    return (column, input)
  }

  /// `y[n, o, i, j] = sum_{c, r, s} x[n, c, i*stride + r - padding, j*stride + s - padding]
  /// * w[o, c, r, s]`, with zeros outside the input.
  func forward(_ x: [Double], _ w: [Double]) -> [Double] {
    let (column, input) = taps()
    var cols = Array(repeating: 0.0, count: patch * pixels)
    var y = Array(repeating: 0.0, count: batch * outImageSize)
    for n in 0..<batch {
      for t in column.indices { cols[column[t]] = x[n * imageSize + input[t]] }
      w.withUnsafeBufferPointer { w in
        cols.withUnsafeBufferPointer { cols in
          y.withUnsafeMutableBufferPointer { y in
            Kernels.multiplyAccumulate(
              w.baseAddress!, cols.baseAddress!, into: y.baseAddress! + n * outImageSize,
              m: outChannels, k: patch, n: pixels)
          }
        }
      }
    }
    return y
  }

  /// The gradient with respect to the input: the transpose of `forward` in `x`.
  func inputGrad(_ dy: [Double], _ w: [Double]) -> [Double] {
    let (column, input) = taps()
    let wT = Kernels.transposed(w, rows: outChannels, cols: patch)
    var cols = Array(repeating: 0.0, count: patch * pixels)
    var dx = Array(repeating: 0.0, count: batch * imageSize)
    for n in 0..<batch {
      cols.withUnsafeMutableBufferPointer { cols in
        cols.update(repeating: 0)
        wT.withUnsafeBufferPointer { wT in
          dy.withUnsafeBufferPointer { dy in
            Kernels.multiplyAccumulate(
              wT.baseAddress!, dy.baseAddress! + n * outImageSize, into: cols.baseAddress!,
              m: patch, k: outChannels, n: pixels)
          }
        }
      }
      for t in column.indices { dx[n * imageSize + input[t]] += cols[column[t]] }
    }
    return dx
  }

  /// The gradient with respect to the filter: the transpose of `forward` in `w`.
  func filterGrad(_ x: [Double], _ dy: [Double]) -> [Double] {
    let (column, input) = taps()
    // Unfold straight into the transposed layout `[pixels, patch]`, so `dW += dy * colsT`.
    let columnT = column.map { ($0 % pixels) * patch + $0 / pixels }
    var colsT = Array(repeating: 0.0, count: patch * pixels)
    var dw = Array(repeating: 0.0, count: outChannels * patch)
    for n in 0..<batch {
      for t in columnT.indices { colsT[columnT[t]] = x[n * imageSize + input[t]] }
      dy.withUnsafeBufferPointer { dy in
        colsT.withUnsafeBufferPointer { colsT in
          dw.withUnsafeMutableBufferPointer { dw in
            Kernels.multiplyAccumulate(
              dy.baseAddress! + n * outImageSize, colsT.baseAddress!, into: dw.baseAddress!,
              m: outChannels, k: pixels, n: patch)
          }
        }
      }
    }
    return dw
  }
}

/// The sizes of one average pooling: input `[batch, channels, height, width]`, square windows
/// of `window` pixels moved by `stride`, no padding.
struct PoolGeometry {
  var planes, height, width: Int
  var window, stride: Int
  var outHeight, outWidth: Int

  init(x: [Int], window: Int, stride: Int) {
    (planes, height, width) = (x[0] * x[1], x[2], x[3])
    (self.window, self.stride) = (window, stride)
    outHeight = (height - window) / stride + 1
    outWidth = (width - window) / stride + 1
  }

  /// The mean of each window.
  func forward(_ x: [Double]) -> [Double] {
    let scale = 1 / Double(window * window)
    var y = Array(repeating: 0.0, count: planes * outHeight * outWidth)
    for plane in 0..<planes {
      for i in 0..<outHeight {
        for j in 0..<outWidth {
          var sum = 0.0
          for r in 0..<window {
            let rowStart = (plane * height + i * stride + r) * width + j * stride
            for s in 0..<window { sum += x[rowStart + s] }
          }
          y[(plane * outHeight + i) * outWidth + j] = sum * scale
        }
      }
    }
    return y
  }

  /// Spreads each output gradient evenly over its window (overlapping windows add up).
  func backward(_ dy: [Double]) -> [Double] {
    let scale = 1 / Double(window * window)
    var dx = Array(repeating: 0.0, count: planes * height * width)
    for plane in 0..<planes {
      for i in 0..<outHeight {
        for j in 0..<outWidth {
          let share = dy[(plane * outHeight + i) * outWidth + j] * scale
          for r in 0..<window {
            let rowStart = (plane * height + i * stride + r) * width + j * stride
            for s in 0..<window { dx[rowStart + s] += share }
          }
        }
      }
    }
    return dx
  }
}
