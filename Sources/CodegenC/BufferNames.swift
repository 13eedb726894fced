import GraphCompiler
import GraphIR

/// The C name of every value that lives in memory: stored values `t<index>` (in the arena),
/// inputs `in_<name>`, variables `v_<name>` (in the state arena) and explicit constants
/// `<entry>_c<index>` (static arrays).
struct BufferNames {
  private var names: [NodeID: String] = [:]

  init(_ graph: Graph, entry: String) {
    for id in graph.ids {
      let node = graph[id]
      switch node.op {
      case .input(let name): names[id] = "in_" + CSyntax.identifier(name)
      case .variable(let name): names[id] = "v_" + CSyntax.identifier(name)
      case .constant(.values) where node.kernel == nil: names[id] = "\(entry)_c\(id.index)"
      default: if node.kernel != nil { names[id] = "t\(id.index)" }
      }
    }
  }

  /// The array holding `id`, or nil when `id` is computed inline.
  func buffer(_ id: NodeID) -> String? { names[id] }

  /// The C element type of a tensor.
  static func elementType(_ type: TensorType) -> String { type.dtype == .f32 ? "float" : "int32_t" }
}
