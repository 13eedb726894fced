import Foundation
import GraphIR

extension Interpreter {
  /// Forward-mode differentiation: evaluates `graph` in float64 and, beside every value, its
  /// exact directional derivative (tangent) along `tangents` (per variable name; variables not
  /// listed, inputs and constants have tangent zero). Returns each output's tangent.
  ///
  /// The rules are written from the ops' definitions, independently of the reverse-mode rules
  /// in `GradientRules`: a gradient check that compares the two is decided by float64
  /// rounding alone, with no step size and no finite-difference noise. At a kink (`relu`,
  /// `abs`, `max`, `min`) the derivative of the side the value is on is taken; `compare` and
  /// `one_hot` have tangent zero, and so has `stop_gradient` (its value is frozen).
  public func tangents(
    _ graph: Graph, inputs: [String: HostTensor], state: [String: HostTensor],
    along tangents: [String: [Double]]
  ) throws(InterpreterError) -> [String: [Double]] {
    var values: [[Double]] = []
    var dots: [[Double]] = []
    for id in graph.ids {
      let node = graph[id]
      let count = node.type.elementCount
      switch node.op {
      case .input(let name):
        guard let tensor = inputs[name] else {
          throw InterpreterError("\(id): missing input '\(name)'")
        }
        values.append(tensor.scalars)
        dots.append(Array(repeating: 0, count: count))
      case .variable(let name):
        guard let tensor = state[name] else {
          throw InterpreterError("\(id): missing variable '\(name)'")
        }
        values.append(tensor.scalars)
        dots.append(tangents[name] ?? Array(repeating: 0, count: count))
      case .assign:
        values.append(values[node.operands[0].index])
        dots.append(dots[node.operands[0].index])
      default:
        let x = node.operands.map { values[$0.index] }
        let dx = node.operands.map { dots[$0.index] }
        let types = node.operands.map { graph[$0].type }
        do {
          values.append(try Self.evaluate(node, operands: x, operandTypes: types))
          dots.append(try Self.tangent(node, x, dx, types, value: values[id.index]))
        } catch {
          throw InterpreterError("\(id) = \(node.op.mnemonic): \(error.message)")
        }
      }
    }
    var result: [String: [Double]] = [:]
    for output in graph.outputs { result[output.name] = dots[output.node.index] }
    return result
  }

  /// The tangent of one node from its operands' values and tangents.
  private static func tangent(
    _ node: Node, _ x: [[Double]], _ dx: [[Double]], _ types: [TensorType], value: [Double]
  ) throws(InterpreterError) -> [Double] {
    let zero = Array(repeating: 0.0, count: node.type.elementCount)
    func linear(_ operands: [[Double]]) throws(InterpreterError) -> [Double] {
      try evaluate(node, operands: operands, operandTypes: types)
    }
    switch node.op {
    case .constant, .compare, .oneHot, .stopGradient: return zero
    case .unary(let op): return unaryTangent(op, x[0], dx[0], value)
    case .powConstant(let p): return x[0].indices.map { p * pow(x[0][$0], p - 1) * dx[0][$0] }
    case .binary(let op): return binaryTangent(op, x[0], x[1], dx[0], dx[1])
    case .select: return Kernels.select(x[0], dx[1], dx[2])
    case .reduce(.max, let axes):
      return maxTangent(x[0], dx[0], types[0].shape, axes: axes, max: value)
    case .reduce, .broadcast, .reshape, .transpose, .slice, .pad, .concat, .avgPool2d,
      .avgPool2dGrad, .collective:
      return try linear(dx)
    case .matmul, .conv2d, .conv2dInputGrad, .conv2dFilterGrad:
      let left = try linear([dx[0], x[1]])
      let right = try linear([x[0], dx[1]])
      return zip(left, right).map { $0 + $1 }
    case .input, .variable, .assign, .gradient, .update:
      throw InterpreterError("has no tangent rule; lower the graph first")
    }
  }

  private static func unaryTangent(
    _ op: UnaryOp, _ x: [Double], _ dx: [Double], _ y: [Double]
  ) -> [Double] {
    x.indices.map { i in
      switch op {
      case .neg: -dx[i]
      case .exp: y[i] * dx[i]
      case .log: dx[i] / x[i]
      case .sqrt: dx[i] / (2 * y[i])
      case .rsqrt: -0.5 * y[i] / x[i] * dx[i]
      case .relu: x[i] > 0 ? dx[i] : 0
      case .abs: x[i] > 0 ? dx[i] : x[i] < 0 ? -dx[i] : 0
      }
    }
  }

  private static func binaryTangent(
    _ op: BinaryOp, _ a: [Double], _ b: [Double], _ da: [Double], _ db: [Double]
  ) -> [Double] {
    a.indices.map { i in
      switch op {
      case .add: da[i] + db[i]
      case .sub: da[i] - db[i]
      case .mul: da[i] * b[i] + a[i] * db[i]
      case .div: (da[i] * b[i] - a[i] * db[i]) / (b[i] * b[i])
      case .max: a[i] >= b[i] ? da[i] : db[i]
      case .min: a[i] <= b[i] ? da[i] : db[i]
      }
    }
  }

  /// The tangent of a max reduction: that of the first element attaining the maximum.
  private static func maxTangent(
    _ x: [Double], _ dx: [Double], _ shape: [Int], axes: [Int], max: [Double]
  ) -> [Double] {
    var resultShape = shape
    for axis in axes { resultShape[axis] = 1 }
    var strides = rowMajorStrides(resultShape)
    for axis in axes { strides[axis] = 0 }
    let targets = stridedOffsets(shape: shape, strides: strides)
    var result = Array(repeating: 0.0, count: max.count)
    var found = Array(repeating: false, count: max.count)
    for (index, target) in targets.enumerated() where !found[target] && x[index] == max[target] {
      result[target] = dx[index]
      found[target] = true
    }
    return result
  }
}
