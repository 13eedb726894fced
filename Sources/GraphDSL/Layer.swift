import GraphIR

/// A model component: applied to a tensor inside a `GraphBuilder`, it reads its parameters
/// (declaring them on first use) and returns the result.
public protocol Layer {
  /// The scope its parameters live under (`stem`, `block1.conv1`); empty for parameter-free layers.
  var name: String { get }
  /// Where the layer was written, for error messages.
  var location: SourceLocation { get }
  /// The computation itself; called through `callAsFunction`, inside the layer's scope.
  func forward(_ x: Tensor) -> Tensor
}

extension Layer {
  /// Applies the layer in its own scope, attributing new nodes to where it was written.
  public func callAsFunction(_ x: Tensor) -> Tensor {
    x.builder.at(location) { x.builder.scope(name) { forward(x) } }
  }
}

/// Layers applied one after another.
public struct Sequential: Layer {
  public var name: String
  public var layers: [any Layer]
  public let location: SourceLocation

  public init(
    _ name: String = "", _ layers: [any Layer], file: String = #filePath, line: Int = #line
  ) {
    self.name = name
    self.layers = layers
    location = SourceLocation(filePath: file, line: line)
  }

  public func forward(_ x: Tensor) -> Tensor {
    layers.reduce(x) { value, layer in layer(value) }
  }

  /// The output of every layer, in order (the study probes each one).
  public func outputs(_ x: Tensor) -> [Tensor] {
    x.builder.at(location) {
      x.builder.scope(name) {
        var value = x
        return layers.map { layer in
          value = layer(value)
          return value
        }
      }
    }
  }
}

/// max(x, 0).
public struct ReLU: Layer {
  public let name = ""
  public let location: SourceLocation

  public init(file: String = #filePath, line: Int = #line) {
    location = SourceLocation(filePath: file, line: line)
  }

  public func forward(_ x: Tensor) -> Tensor { x.relu() }
}

/// Mean over the spatial axes: [N, C, H, W] to [N, C].
public struct GlobalAveragePool: Layer {
  public let name = ""
  public let location: SourceLocation

  public init(file: String = #filePath, line: Int = #line) {
    location = SourceLocation(filePath: file, line: line)
  }

  public func forward(_ x: Tensor) -> Tensor {
    x.mean(axes: [2, 3]).reshaped(Array(x.shape.prefix(2)))
  }
}

/// Average pooling over square windows, no padding.
public struct AveragePool2D: Layer {
  public let name = ""
  public var window: Int
  public var stride: Int
  public let location: SourceLocation

  public init(window: Int, stride: Int, file: String = #filePath, line: Int = #line) {
    self.window = window
    self.stride = stride
    location = SourceLocation(filePath: file, line: line)
  }

  public func forward(_ x: Tensor) -> Tensor {
    x.builder.append(.avgPool2d(window: window, stride: stride), [x])
  }
}
