import GraphIR

/// The ResNet basic block: conv3x3-BN-ReLU-conv3x3-BN plus a shortcut (1x1 conv + BN when the
/// shape changes), then ReLU.
public struct BasicBlock: Layer {
  public var name: String
  public var inChannels: Int
  public var outChannels: Int
  public var stride: Int
  public let location: SourceLocation

  public init(
    _ name: String, _ inChannels: Int, _ outChannels: Int, stride: Int = 1,
    file: String = #filePath, line: Int = #line
  ) {
    self.name = name
    self.inChannels = inChannels
    self.outChannels = outChannels
    self.stride = stride
    location = SourceLocation(filePath: file, line: line)
  }

  public func forward(_ x: Tensor) -> Tensor {
    let file = location.file
    let line = location.line
    let main = Sequential(
      "",
      [
        Conv2DLayer(
          "conv1", inChannels, outChannels, kernel: 3, stride: stride, file: file,
          line: line),
        BatchNorm("bn1", outChannels, file: file, line: line),
        ReLU(file: file, line: line),
        Conv2DLayer("conv2", outChannels, outChannels, kernel: 3, file: file, line: line),
        BatchNorm("bn2", outChannels, file: file, line: line),
      ], file: file, line: line)
    var shortcut = x
    if stride != 1 || inChannels != outChannels {
      shortcut = Sequential(
        "shortcut",
        [
          Conv2DLayer(
            "conv", inChannels, outChannels, kernel: 1, stride: stride, file: file,
            line: line),
          BatchNorm("bn", outChannels, file: file, line: line),
        ], file: file, line: line)(x)
    }
    return (main(x) + shortcut).relu()
  }
}

/// A projection head: hidden blocks Linear (+ BatchNorm) + ReLU, then a final Linear
/// (optionally followed by BatchNorm). `widths` lists input, hidden and output widths, so
/// `[128, 512, 128]` is Linear(128->512) + BN + ReLU + Linear(512->128).
public struct ProjectionHead: Layer {
  public var name: String
  public var widths: [Int]
  public var batchNorm: Bool
  public var finalBatchNorm: Bool
  public let location: SourceLocation

  public init(
    _ name: String = ProgramNames.head, widths: [Int], batchNorm: Bool = true,
    finalBatchNorm: Bool = false,
    file: String = #filePath, line: Int = #line
  ) {
    precondition(widths.count >= 2, "a projection head needs input and output widths")
    self.name = name
    self.widths = widths
    self.batchNorm = batchNorm
    self.finalBatchNorm = finalBatchNorm
    location = SourceLocation(filePath: file, line: line)
  }

  /// One Sequential per head layer; the study probes the output of each.
  public var blocks: [Sequential] {
    let (file, line) = (location.file, location.line)
    return (0..<(widths.count - 1)).map { i in
      let last = i == widths.count - 2
      var layers: [any Layer] = [
        Linear(
          "fc\(i + 1)", widths[i], widths[i + 1], bias: !(batchNorm && !last), file: file,
          line: line)
      ]
      if last ? finalBatchNorm : batchNorm {
        layers.append(BatchNorm("bn\(i + 1)", widths[i + 1], affine: !last, file: file, line: line))
      }
      if !last { layers.append(ReLU(file: file, line: line)) }
      return Sequential("", layers, file: file, line: line)
    }
  }

  public func forward(_ x: Tensor) -> Tensor { blocks.reduce(x) { value, block in block(value) } }

  /// The output of every head layer, the last being the projection itself.
  public func layerOutputs(_ x: Tensor) -> [Tensor] {
    x.builder.at(location) {
      x.builder.scope(name) {
        var value = x
        return blocks.map { block in
          value = block(value)
          return value
        }
      }
    }
  }
}
