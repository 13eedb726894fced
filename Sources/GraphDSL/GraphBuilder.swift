import GraphIR

/// Records the graph of one entry point as a model is applied to its inputs.
///
/// Layers and tensor operators append nodes here. Shape errors do not stop the recording: the
/// first one is kept (with the DSL location that caused it) and reported by
/// `ProgramBuilder.build()`.
public final class GraphBuilder {
  var graph = Graph()
  /// The program this entry point belongs to.
  public let program: ProgramBuilder
  /// BatchNorm uses batch statistics when true, running statistics when false.
  public var training: Bool
  /// Whether BatchNorm records running-statistics updates (off inside bilevel inner steps).
  public var recordsStateUpdates = true
  private var locations: [SourceLocation] = []
  private var scopes: [String] = []
  private var overrides: [String: NodeID] = [:]
  private var variableReads: [String: NodeID] = [:]
  private var syncBatchNormInput: NodeID?

  init(program: ProgramBuilder, training: Bool) {
    self.program = program
    self.training = training
  }

  /// The innermost DSL location being applied.
  var location: SourceLocation? { locations.last }

  /// Runs `body` with nodes attributed to `location`.
  public func at<T>(_ location: SourceLocation, _ body: () -> T) -> T {
    locations.append(location)
    defer { locations.removeLast() }
    return body()
  }

  /// Runs `body` with parameter names prefixed by `name` (`backbone.stem.conv.weight`).
  public func scope<T>(_ name: String, _ body: () -> T) -> T {
    if !name.isEmpty { scopes.append(name) }
    defer { if !name.isEmpty { scopes.removeLast() } }
    return body()
  }

  /// The full parameter path of a local name in the current scope.
  public func path(_ local: String) -> String {
    (scopes + [local]).joined(separator: ".")
  }

  /// Runs `body` reading the given parameters from values instead of variables (bilevel inner
  /// steps apply the head to parameter values that are not yet stored).
  public func withParameters<T>(_ values: [String: Tensor], _ body: () -> T) -> T {
    let saved = overrides
    overrides.merge(values.mapValues(\.id)) { _, new in new }
    defer { overrides = saved }
    return body()
  }

  /// Appends a node; a shape error is recorded and a NaN placeholder of `fallback` returned.
  func append(_ op: Op, _ operands: [Tensor], declared: TensorType? = nil) -> Tensor {
    do {
      let id = try graph.append(op, operands.map(\.id), declared: declared, location: location)
      return Tensor(id, self)
    } catch {
      program.record(error)
      let fallback = declared ?? operands.first?.type ?? .scalar
      let id = try! graph.append(.constant(.splat(.nan)), declared: fallback, location: location)
      return Tensor(id, self)
    }
  }

  /// A graph input, e.g. the batch of views or the learning rate.
  public func input(_ name: String, _ type: TensorType) -> Tensor {
    append(.input(name), [], declared: type)
  }

  /// Declares (once per program) and reads a variable in the current scope.
  func variable(
    _ local: String, _ type: TensorType, role: VariableRole, initializer: Initializer,
    adaptive: Bool = true
  ) -> Tensor {
    let name = path(local)
    if let value = overrides[name] { return Tensor(value, self) }
    program.declare(
      Variable(name: name, type: type, role: role, initializer: initializer),
      adaptive: adaptive, location: location)
    return read(name, type)
  }

  /// Reads a declared variable; repeated reads in one graph share one node, so a gradient
  /// with respect to it sees every use.
  public func read(_ name: String, _ type: TensorType) -> Tensor {
    if let id = variableReads[name] { return Tensor(id, self) }
    let tensor = append(.variable(name), [], declared: type)
    variableReads[name] = tensor.id
    return tensor
  }

  /// Writes a new value of a variable when the entry point finishes.
  public func assign(_ name: String, _ value: Tensor) {
    _ = append(.assign(name), [value])
  }

  /// Names an entry point output.
  public func output(_ name: String, _ value: Tensor) {
    graph.outputs.append(GraphOutput(name: name, node: value.id))
  }

  /// A differentiation marker: d(loss)/d(x), expanded by the compiler. In a data-parallel
  /// program `x` is a replicated value (a parameter) and `loss` the rank's share of the
  /// objective: the marker gives the derivative of every rank's share with respect to the
  /// rank's copy, and the sum over the ranks (`allReduce`) is the gradient of the objective.
  public func gradient(of loss: Tensor, withRespectTo x: Tensor) -> Tensor {
    append(.gradient, [loss, x]).allReduce()
  }

  /// The entry's `sync_bn` input (a data-parallel program's BatchNorm choice), declared once.
  func synchronizedBatchNorm() -> Tensor {
    if let id = syncBatchNormInput { return Tensor(id, self) }
    let flag = input(ProgramNames.syncBatchNorm, .scalar)
    syncBatchNormInput = flag.id
    return flag
  }

  /// A constant filled with `value`.
  public func constant(_ value: Double, _ shape: [Int] = []) -> Tensor {
    append(.constant(.splat(value)), [], declared: .f32(shape))
  }

  /// A constant filled with `numerator / denominator`, for factors that depend on an element
  /// count (so the compiler can follow the batch size through them).
  public func ratio(_ numerator: Int, _ denominator: Int, _ shape: [Int] = []) -> Tensor {
    append(.constant(.ratio(numerator, denominator)), [], declared: .f32(shape))
  }
}

/// A value in the graph being recorded.
public struct Tensor {
  public let id: NodeID
  public unowned let builder: GraphBuilder

  init(_ id: NodeID, _ builder: GraphBuilder) {
    self.id = id
    self.builder = builder
  }

  public var type: TensorType { builder.graph[id].type }
  public var shape: [Int] { type.shape }
}
