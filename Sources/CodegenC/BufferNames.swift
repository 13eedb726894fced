import GraphCompiler
import GraphIR

/// The C name of every buffer a kernel reads or writes: its parameters by position (`x0`,
/// `x1`, ... read-only, `y0`, `y1`, ... written) and the program's constant arrays by content
/// (`<program>_c<n>`), so that the same computation prints the same C in every entry.
struct BufferNames {
  private var names: [NodeID: String] = [:]

  init(inputs: [NodeID], outputs: [NodeID], constants: [NodeID: String]) {
    names = constants
    for (index, id) in inputs.enumerated() { names[id] = "x\(index)" }
    for (index, id) in outputs.enumerated() { names[id] = "y\(index)" }
  }

  /// The array holding `id`, or nil when `id` is computed inline.
  func buffer(_ id: NodeID) -> String? { names[id] }

  /// The C element type of a tensor.
  static func elementType(_ type: TensorType) -> String { type.dtype == .f32 ? "float" : "int32_t" }
}
