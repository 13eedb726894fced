import GraphCompiler
import GraphIR

/// Renders the value of a node at an index as a C expression, inlining every op that fusion
/// left unstored. Stored values and leaves are array reads; views become index arithmetic.
struct ExpressionEmitter {
  let graph: Graph
  let names: BufferNames
  /// Double evaluates the whole expression in double (reduction bodies: products that cancel
  /// in a sum keep their precision); single is float throughout.
  var inDouble = false
  /// Where loop-invariant subexpressions go, when the expression is rendered inside a loop nest
  /// that can take them.
  var hoister: Hoister? = nil

  /// A C literal of the expression's precision.
  func literal(_ value: Double) -> String {
    guard inDouble else { return CSyntax.float(value) }
    if value.isNaN { return "NAN" }
    if value.isInfinite { return value > 0 ? "INFINITY" : "(-INFINITY)" }
    let text = "\(value)"
    return value < 0 ? "(\(text))" : text
  }

  /// `a / b` divided in double at run time (the same correctly rounded division as the
  /// compiler's), with the integers printed as they are so that counts read as counts.
  func ratio(_ a: Int, _ b: Int) -> String {
    let text = a == 1 ? "(1.0 / (double)\(b))" : "((double)\(a) / (double)\(b))"
    return inDouble ? text : "(float)\(text)"
  }

  /// A libm function of the expression's precision: `expf` or `exp`.
  func function(_ name: String) -> String { inDouble ? name : name + "f" }

  private var zero: String { inDouble ? "0.0" : "0.0f" }
  private var one: String { inDouble ? "1.0" : "1.0f" }

  /// The value of `id` at `view`, one C index expression per dimension of its shape.
  func value(_ id: NodeID, at view: [String]) -> String {
    if let name = names.buffer(id) {
      let read = "\(name)[\(Self.offset(graph[id].type.shape, view))]"
      let text = inDouble ? "(double)\(read)" : read
      return hoister?.hoist(text) ?? text
    }
    let text = definition(id, at: view)
    switch graph[id].op {
    case .unary, .powConstant, .binary, .compare, .select: return hoister?.hoist(text) ?? text
    default: return text
    }
  }

  /// The computation of `id` at `view` (even when `id` is stored: this is what stores it).
  func definition(_ id: NodeID, at view: [String]) -> String {
    let node = graph[id]
    let x = node.operands
    func operand(_ i: Int) -> String { value(x[i], at: view) }
    switch node.op {
    case .constant(.splat(let v)): return literal(v)
    case .constant(.ratio(let a, let b)): return ratio(a, b)
    case .constant(.diagonal(let offset, let v)):
      let m = node.type.shape[1]
      return "((\(view[1]) == ((\(view[0]) + \(offset)) % \(m))) ? \(literal(v)) : \(zero))"
    case .broadcast:
      let source = graph[x[0]].type.shape
      let offset = view.count - source.count
      return value(x[0], at: source.indices.map { source[$0] == 1 ? "0" : view[$0 + offset] })
    case .reshape:
      return value(x[0], at: reshaped(view, from: node.type.shape, to: graph[x[0]].type.shape))
    case .transpose(let perm):
      var inner = view
      for (i, p) in perm.enumerated() { inner[p] = view[i] }
      return value(x[0], at: inner)
    case .slice(let start, _):
      return value(x[0], at: zip(view, start).map { $1 == 0 ? $0 : "(\($0) + \($1))" })
    case .pad(let low, _): return padded(x[0], low: low, view)
    case .concat(let axis): return concatenated(x, axis: axis, view)
    default:
      guard let text = elementwise(node.op, operand) else {
        preconditionFailure("\(id) = \(node.op.mnemonic) must be stored before it is read")
      }
      return text
    }
  }

  /// Elementwise ops, given a way to render each operand; nil for other ops.
  private func elementwise(_ op: Op, _ operand: (Int) -> String) -> String? {
    switch op {
    case .unary(let op): return unary(op, operand(0))
    case .powConstant(let p): return "\(function("pow"))(\(operand(0)), \(literal(p)))"
    case .binary(let op): return binary(op, operand(0), operand(1))
    case .compare(let op):
      return "((\(operand(0)) \(Self.comparison(op)) \(operand(1))) ? \(one) : \(zero))"
    case .select: return "((\(operand(0)) != \(zero)) ? \(operand(1)) : \(operand(2)))"
    default: return nil
    }
  }

  /// The value of `id` at flat index `index` (every op on the way is elementwise or a reshape).
  func value(_ id: NodeID, flatAt index: String) -> String {
    if let name = names.buffer(id) {
      let read = graph[id].type.elementCount == 1 ? "\(name)[0]" : "\(name)[\(index)]"
      return inDouble ? "(double)\(read)" : read
    }
    return definition(id, flatAt: index)
  }

  /// The computation of `id` at flat index `index`.
  func definition(_ id: NodeID, flatAt index: String) -> String {
    let node = graph[id]
    switch node.op {
    case .constant(.splat(let v)): return literal(v)
    case .constant(.ratio(let a, let b)): return ratio(a, b)
    case .reshape: return value(node.operands[0], flatAt: index)
    default:
      guard let text = elementwise(node.op, { value(node.operands[$0], flatAt: index) }) else {
        preconditionFailure("\(id) = \(node.op.mnemonic) is not flat")
      }
      return text
    }
  }

  /// Whether computing `id` reads every buffer at the flat index of the element computed
  /// (elementwise ops and reshapes all the way down to buffers).
  func isFlat(_ id: NodeID) -> Bool {
    switch graph[id].op {
    case .constant(.splat), .constant(.ratio): return true
    case .unary, .powConstant, .binary, .compare, .select, .reshape:
      return graph[id].operands.allSatisfy { names.buffer($0) != nil || isFlat($0) }
    default: return false
    }
  }

  /// `i0 * 784 + i1 * 28 + i2` for a row-major shape; dimensions of size 1 drop out.
  static func offset(_ shape: [Int], _ view: [String]) -> String {
    var stride = 1
    var terms: [String] = []
    for d in shape.indices.reversed() {
      if shape[d] > 1 && view[d] != "0" {
        terms.append(stride == 1 ? view[d] : "\(view[d]) * \(stride)")
      }
      stride *= shape[d]
    }
    return terms.isEmpty ? "0" : terms.reversed().joined(separator: " + ")
  }

  private func reshaped(_ view: [String], from shape: [Int], to target: [Int]) -> [String] {
    let outer = zip(shape, view).filter { $0.0 != 1 }
    let innerSizes = target.filter { $0 != 1 }
    if outer.map(\.0) == innerSizes {
      var remaining = outer.map(\.1)[...]
      return target.map { $0 == 1 ? "0" : remaining.popFirst()! }
    }
    let flat = Self.offset(shape, view)
    var stride = target.reduce(1, *)
    return target.map { size in
      stride /= size
      return size == 1 ? "0" : "((\(flat)) / \(stride) % \(size))"
    }
  }

  private func padded(_ operand: NodeID, low: [Int], _ view: [String]) -> String {
    let shape = graph[operand].type.shape
    var conditions: [String] = []
    var inner: [String] = []
    for d in shape.indices {
      let index = low[d] == 0 ? view[d] : "(\(view[d]) - \(low[d]))"
      inner.append(index)
      if low[d] > 0 { conditions.append("\(view[d]) >= \(low[d])") }
      conditions.append("\(index) < \(shape[d])")
    }
    return "((\(conditions.joined(separator: " && "))) ? \(value(operand, at: inner)) : \(zero))"
  }

  private func concatenated(_ operands: [NodeID], axis: Int, _ view: [String]) -> String {
    var start = 0
    var pieces: [(end: Int, text: String)] = []
    for operand in operands {
      var inner = view
      if start > 0 { inner[axis] = "(\(view[axis]) - \(start))" }
      start += graph[operand].type.shape[axis]
      pieces.append((start, value(operand, at: inner)))
    }
    var text = pieces.last!.text
    for piece in pieces.dropLast().reversed() {
      text = "((\(view[axis]) < \(piece.end)) ? \(piece.text) : \(text))"
    }
    return text
  }

  func unary(_ op: UnaryOp, _ a: String) -> String {
    switch op {
    case .neg: "(-\(a))"
    case .exp: "\(function("exp"))(\(a))"
    case .log: "\(function("log"))(\(a))"
    case .sqrt: "\(function("sqrt"))(\(a))"
    case .rsqrt: "(\(one) / \(function("sqrt"))(\(a)))"
    case .relu: "\(function("fmax"))(\(a), \(zero))"
    case .abs: "\(function("fabs"))(\(a))"
    }
  }

  func binary(_ op: BinaryOp, _ a: String, _ b: String) -> String {
    switch op {
    case .add: "(\(a) + \(b))"
    case .sub: "(\(a) - \(b))"
    case .mul: "(\(a) * \(b))"
    case .div: "(\(a) / \(b))"
    case .max: "\(function("fmax"))(\(a), \(b))"
    case .min: "\(function("fmin"))(\(a), \(b))"
    }
  }

  static func comparison(_ op: Comparison) -> String {
    switch op {
    case .lt: "<"
    case .le: "<="
    case .gt: ">"
    case .ge: ">="
    case .eq: "=="
    case .ne: "!="
    }
  }
}
