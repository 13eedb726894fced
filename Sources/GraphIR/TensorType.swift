/// The element type of a tensor: float32 for values, int32 for labels and indices.
public enum DType: String, Hashable, Sendable {
  case f32
  case i32
}

/// A statically shaped tensor type. Images are NCHW; a scalar has an empty shape.
public struct TensorType: Hashable, Sendable, CustomStringConvertible {
  public var dtype: DType
  public var shape: [Int]

  public init(_ dtype: DType = .f32, _ shape: [Int]) {
    self.dtype = dtype
    self.shape = shape
  }

  /// A float32 tensor of the given shape.
  public static func f32(_ shape: [Int]) -> TensorType { TensorType(.f32, shape) }
  /// An int32 tensor of the given shape.
  public static func i32(_ shape: [Int]) -> TensorType { TensorType(.i32, shape) }
  /// A float32 scalar.
  public static let scalar = TensorType(.f32, [])

  public var rank: Int { shape.count }
  public var elementCount: Int { shape.reduce(1, *) }

  public var description: String {
    "\(dtype.rawValue)[\(shape.map(String.init).joined(separator: ","))]"
  }
}

/// Where a node came from: the DSL call site (file relative to the package, and line).
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
  public var file: String
  public var line: Int

  public init(file: String, line: Int) {
    self.file = file
    self.line = line
  }

  /// A location from `#filePath`, shortened to start at `graphs/`, `Sources/` or `Tests/`.
  public init(filePath: String, line: Int) {
    let parts = filePath.split(separator: "/", omittingEmptySubsequences: false)
    let start = parts.lastIndex { ["graphs", "Sources", "Tests"].contains($0) }
    let shortened = start.map { parts[$0...].joined(separator: "/") } ?? filePath
    self.init(file: shortened, line: line)
  }

  public var description: String { "\(file):\(line)" }
}
