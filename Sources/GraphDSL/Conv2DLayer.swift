import GraphIR

#if canImport(Glibc)
  import Glibc
#endif

/// A 2-D convolution (NCHW, OIHW filter), Kaiming-normal initialised (fan-out, ReLU gain) as
/// torchvision's ResNet does; no bias by default since BatchNorm follows.
public struct Conv2DLayer: Layer {
  public var name: String
  public var inChannels: Int
  public var outChannels: Int
  public var kernel: Int
  public var stride: Int
  public var padding: Int
  public var bias: Bool
  public let location: SourceLocation

  public init(
    _ name: String, _ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1,
    padding: Int? = nil, bias: Bool = false, file: String = #filePath, line: Int = #line
  ) {
    self.name = name
    self.inChannels = inChannels
    self.outChannels = outChannels
    self.kernel = kernel
    self.stride = stride
    self.padding = padding ?? kernel / 2
    self.bias = bias
    location = SourceLocation(filePath: file, line: line)
  }

  public func forward(_ x: Tensor) -> Tensor {
    let b = x.builder
    let fanOut = Double(outChannels * kernel * kernel)
    let weight = b.variable(
      "weight", .f32([outChannels, inChannels, kernel, kernel]), role: .parameter,
      initializer: .normal(std: sqrt(2 / fanOut), seed: b.program.seed(for: b.path("weight"))))
    var y = b.append(.conv2d(Conv2D(stride: stride, padding: padding)), [x, weight])
    if bias {
      let bound = 1 / sqrt(Double(inChannels * kernel * kernel))
      let bias = b.variable(
        "bias", .f32([outChannels, 1, 1]), role: .parameter,
        initializer: .uniform(bound: bound, seed: b.program.seed(for: b.path("bias"))),
        adaptive: false)
      y = y + bias
    }
    return y
  }
}

/// A fully connected layer `x W^T + b`, with PyTorch's default initialisation
/// (weight and bias uniform in ±1/sqrt(in)).
public struct Linear: Layer {
  public var name: String
  public var inFeatures: Int
  public var outFeatures: Int
  public var bias: Bool
  public let location: SourceLocation

  public init(
    _ name: String, _ inFeatures: Int, _ outFeatures: Int, bias: Bool = true,
    file: String = #filePath, line: Int = #line
  ) {
    self.name = name
    self.inFeatures = inFeatures
    self.outFeatures = outFeatures
    self.bias = bias
    location = SourceLocation(filePath: file, line: line)
  }

  public func forward(_ x: Tensor) -> Tensor {
    let b = x.builder
    let bound = 1 / sqrt(Double(inFeatures))
    let weight = b.variable(
      "weight", .f32([outFeatures, inFeatures]), role: .parameter,
      initializer: .uniform(bound: bound, seed: b.program.seed(for: b.path("weight"))))
    var y = x.matmul(weight, transposeOther: true)
    if bias {
      let bias = b.variable(
        "bias", .f32([outFeatures]), role: .parameter,
        initializer: .uniform(bound: bound, seed: b.program.seed(for: b.path("bias"))),
        adaptive: false)
      y = y + bias
    }
    return y
  }
}
