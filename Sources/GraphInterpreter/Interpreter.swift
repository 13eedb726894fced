import GraphIR

/// The reference implementation of the IR: evaluates a graph node by node in float64.
///
/// It is the oracle the compiler and the runtime are checked against, so it is written for
/// clarity: every op is a plain loop over `[Double]` buffers, with no fusion and no caching.
public struct Interpreter {
  public init() {}

  /// Evaluates `graph` on `inputs` and `state`, returning the graph outputs by name.
  ///
  /// `.variable(name)` reads `state[name]` as it was when the call started. `.assign(name)`
  /// writes its operand to `state[name]`, and an optimizer update (`<kind>_update`) its variable
  /// and slots (`Interpreter+Update.swift`), but every write is applied only after the whole
  /// graph has been evaluated (parallel update), so reads never observe writes of the same call.
  /// Inputs and variables must have exactly the type the graph declares for them.
  /// `.gradient` nodes are rejected: run the differentiation pass first.
  ///
  /// With `roundingStoredValues`, every value a compiled kernel would store (nodes with a
  /// `kernel`) is rounded to float32 as it is computed: the reference a single compiled kernel
  /// is compared with, since it reads exactly those float32 values.
  ///
  /// Nodes in `given` take the listed values instead of being evaluated: a check replays the
  /// outcomes of the compiled code's comparisons (ReLU masks) this way.
  public func run(
    _ graph: Graph, inputs: [String: HostTensor], state: inout [String: HostTensor],
    roundingStoredValues: Bool = false, given: [NodeID: [Double]] = [:]
  ) throws(InterpreterError) -> [String: HostTensor] {
    var states = [state]
    let outputs = try run(
      graph, ranks: [inputs], states: &states, roundingStoredValues: roundingStoredValues,
      given: given)
    state = states[0]
    return outputs[0]
  }

  /// Simulates a data-parallel run of `graph` on `inputs.count` ranks in one process: rank r
  /// reads `inputs[r]` and `states[r]` and gets `result[r]`; the ranks advance node by node
  /// together, and a collective (`Collective`) combines their values of its operand. Apart
  /// from collectives each rank is exactly `run(_:inputs:state:)`, which is this with one
  /// rank. Every collective must be for `inputs.count` ranks.
  public func run(
    _ graph: Graph, ranks inputs: [[String: HostTensor]], states: inout [[String: HostTensor]],
    roundingStoredValues: Bool = false, given: [NodeID: [Double]] = [:]
  ) throws(InterpreterError) -> [[String: HostTensor]] {
    precondition(!inputs.isEmpty && inputs.count == states.count, "one state per rank")
    var ranks = inputs.map { _ in RankValues(capacity: graph.nodes.count) }
    let lastUse = Self.lastUses(in: graph)
    for id in graph.ids {
      let node = graph[id]
      try Self.checkType(of: node, id: id, in: graph)
      if case .collective(let collective) = node.op, given[id] == nil {
        guard collective.ranks == inputs.count else {
          throw InterpreterError(
            "\(id) = \(node.op.mnemonic): a collective over \(collective.ranks) ranks, run on "
              + "\(inputs.count)")
        }
        let operands = ranks.map { $0.values[node.operands[0].index] }
        let results = Kernels.collective(
          collective, operands, shape: graph[node.operands[0]].type.shape)
        for rank in ranks.indices { ranks[rank].values.append(results[rank]) }
      } else {
        for rank in ranks.indices {
          try ranks[rank].append(
            node, id: id, in: graph, inputs: inputs[rank], state: states[rank], given: given)
        }
      }
      for rank in ranks.indices {
        let value = ranks[rank].values[id.index]
        precondition(
          value.count == node.type.elementCount,
          "\(id) = \(node.op.mnemonic) produced \(value.count) values for type \(node.type)")
        if roundingStoredValues && node.kernel != nil {
          ranks[rank].values[id.index] = value.map { Double(Float($0)) }
        }
        // Free operands nothing later reads, so large graphs keep only live activations.
        for operand in node.operands where lastUse[operand.index] == id.index {
          ranks[rank].values[operand.index] = []
        }
      }
    }
    var results: [[String: HostTensor]] = []
    for rank in ranks.indices {
      var outputs: [String: HostTensor] = [:]
      for output in graph.outputs {
        guard graph.nodes.indices.contains(output.node.index) else {
          throw InterpreterError("output '\(output.name)' refers to missing node \(output.node)")
        }
        outputs[output.name] = HostTensor(
          graph[output.node].type, ranks[rank].values[output.node.index])
      }
      // Parallel update: every read above saw the state as it was on entry.
      for write in ranks[rank].writes { states[rank][write.name] = write.value }
      results.append(outputs)
    }
    return results
  }

  /// One rank's values so far and the state writes it has collected.
  private struct RankValues {
    var values: [[Double]] = []
    var writes: [(name: String, value: HostTensor)] = []

    init(capacity: Int) { values.reserveCapacity(capacity) }

    /// Computes one node (not a collective) on this rank and appends its value.
    mutating func append(
      _ node: Node, id: NodeID, in graph: Graph, inputs: [String: HostTensor],
      state: [String: HostTensor], given: [NodeID: [Double]]
    ) throws(InterpreterError) {
      let value: [Double]
      switch node.op {
      case _ where given[id] != nil:
        value = given[id]!
      case .input(let name):
        value = try Interpreter.provided(
          inputs[name], kind: "input", name: name, node: node, id: id)
      case .variable(let name):
        value = try Interpreter.provided(
          state[name], kind: "variable", name: name, node: node, id: id)
      case .assign(let name):
        value = values[node.operands[0].index]
        try Interpreter.checkWrite(name, node.type, id: id, writes: writes, state: state)
        writes.append((name, HostTensor(node.type, value)))
      case .update(let rule):
        let updated = try Interpreter.update(
          rule, type: node.type, operands: node.operands.map { values[$0.index] }, state: state)
        for write in updated {
          try Interpreter.checkWrite(
            write.name, write.value.type, id: id, writes: writes, state: state)
        }
        writes += updated
        value = updated[0].value.scalars
      default:
        let operands = node.operands.map { values[$0.index] }
        let operandTypes = node.operands.map { graph[$0].type }
        do {
          value = try Interpreter.evaluate(node, operands: operands, operandTypes: operandTypes)
        } catch {
          throw InterpreterError("\(id) = \(node.op.mnemonic): \(error.message)")
        }
      }
      values.append(value)
    }
  }

  /// For each node, the index of the last node that reads it (`Int.max` for graph outputs).
  private static func lastUses(in graph: Graph) -> [Int] {
    var lastUse = Array(repeating: -1, count: graph.nodes.count)
    for id in graph.ids {
      for operand in graph[id].operands where graph.nodes.indices.contains(operand.index) {
        lastUse[operand.index] = id.index
      }
    }
    for output in graph.outputs where graph.nodes.indices.contains(output.node.index) {
      lastUse[output.node.index] = Int.max
    }
    return lastUse
  }

  /// Checks operand references and that the node's type is what the shape rules infer, so
  /// kernels can trust their shapes (an unverified graph fails here instead of crashing).
  private static func checkType(of node: Node, id: NodeID, in graph: Graph)
    throws(InterpreterError)
  {
    if let bad = node.operands.first(where: { $0.index < 0 || $0 >= id }) {
      throw InterpreterError(
        "\(id) = \(node.op.mnemonic): operand \(bad) is not defined before use")
    }
    let operandTypes = node.operands.map { graph[$0].type }
    let inferred: TensorType
    do {
      inferred = try node.op.inferType(operandTypes, declared: node.type)
    } catch {
      throw InterpreterError("\(id) = \(node.op.mnemonic): \(error.message)")
    }
    guard inferred == node.type else {
      throw InterpreterError(
        "\(id) = \(node.op.mnemonic): declared type \(node.type) does not match inferred "
          + "\(inferred); run the verifier")
    }
  }

  /// Rejects a second write to one variable and a write whose type differs from the state's.
  fileprivate static func checkWrite(
    _ name: String, _ type: TensorType, id: NodeID,
    writes: [(name: String, value: HostTensor)], state: [String: HostTensor]
  ) throws(InterpreterError) {
    if writes.contains(where: { $0.name == name }) {
      throw InterpreterError("\(id): variable '\(name)' is assigned twice in one graph")
    }
    if let existing = state[name], existing.type != type {
      throw InterpreterError(
        "\(id): assign to variable '\(name)' expected type \(existing.type), got \(type)")
    }
  }

  /// The scalars of a provided input or variable, checked against the node's declared type.
  fileprivate static func provided(
    _ tensor: HostTensor?, kind: String, name: String, node: Node, id: NodeID
  ) throws(InterpreterError) -> [Double] {
    guard let tensor else {
      throw InterpreterError("\(id): missing \(kind) '\(name)' of type \(node.type)")
    }
    guard tensor.type == node.type else {
      throw InterpreterError(
        "\(id): \(kind) '\(name)' expected type \(node.type), got \(tensor.type)")
    }
    return tensor.scalars
  }

  /// Evaluates one non-leaf, non-assign node on its operand values.
  static func evaluate(_ node: Node, operands x: [[Double]], operandTypes t: [TensorType])
    throws(InterpreterError) -> [Double]
  {
    let type = node.type
    switch node.op {
    case .input, .variable, .assign:
      preconditionFailure("leaves and assigns are handled by run")
    case .constant(let constant): return Kernels.constant(constant, type)
    case .gradient:
      throw InterpreterError(
        "gradient nodes cannot be interpreted; the graph must be lowered first "
          + "(run the DifferentiateGradients pass)")
    case .update(let rule):
      throw InterpreterError(
        "optimizer update of '\(rule.variable)' has no value of its own; `run` applies it")
    case .stopGradient: return x[0]
    case .unary(let op): return Kernels.unary(op, x[0])
    case .powConstant(let exponent): return Kernels.power(x[0], exponent)
    case .binary(let op): return Kernels.binary(op, x[0], x[1])
    case .compare(let op): return Kernels.compare(op, x[0], x[1])
    case .select: return Kernels.select(x[0], x[1], x[2])
    case .reduce(let op, let axes): return Kernels.reduce(op, axes: axes, x[0], t[0].shape)
    case .broadcast(let shape): return Kernels.broadcast(x[0], from: t[0].shape, to: shape)
    case .reshape: return x[0]
    case .transpose(let perm): return Kernels.transpose(x[0], t[0].shape, perm)
    case .slice(let start, let size): return Kernels.slice(x[0], t[0].shape, start, size)
    case .pad(let low, _): return Kernels.pad(x[0], t[0].shape, low: low, result: type.shape)
    case .concat(let axis): return Kernels.concat(x, t.map(\.shape), axis, type.shape)
    case .matmul(let ta, let tb):
      return Kernels.matmul(x[0], t[0].shape, ta, x[1], t[1].shape, tb)
    case .conv2d(let conv) where conv.channelsLast:
      let nchw = ChannelsLast.toNCHW([x[0]], [t[0].shape])
      return ChannelsLast.fromNCHW(
        ConvGeometry(x: nchw.shapes[0], w: t[1].shape, conv).forward(nchw.values[0], x[1]),
        type.shape)
    case .conv2d(let conv):
      return ConvGeometry(x: t[0].shape, w: t[1].shape, conv).forward(x[0], x[1])
    case .conv2dInputGrad(let conv, let inputShape) where conv.channelsLast:
      let dy = ChannelsLast.toNCHW([x[0]], [t[0].shape])
      let geometry = ConvGeometry(x: ChannelOrder.nchw(inputShape), w: t[1].shape, conv)
      return ChannelsLast.fromNCHW(geometry.inputGrad(dy.values[0], x[1]), inputShape)
    case .conv2dInputGrad(let conv, let inputShape):
      return ConvGeometry(x: inputShape, w: t[1].shape, conv).inputGrad(x[0], x[1])
    case .conv2dFilterGrad(let conv, let filterShape) where conv.channelsLast:
      let nchw = ChannelsLast.toNCHW([x[0], x[1]], [t[0].shape, t[1].shape])
      return ConvGeometry(x: nchw.shapes[0], w: filterShape, conv).filterGrad(
        nchw.values[0], nchw.values[1])
    case .conv2dFilterGrad(let conv, let filterShape):
      return ConvGeometry(x: t[0].shape, w: filterShape, conv).filterGrad(x[0], x[1])
    case .avgPool2d(let window, let stride):
      return PoolGeometry(x: t[0].shape, window: window, stride: stride).forward(x[0])
    case .avgPool2dGrad(let window, let stride, let inputShape):
      return PoolGeometry(x: inputShape, window: window, stride: stride).backward(x[0])
    case .oneHot(let classes): return try Kernels.oneHot(x[0], classes: classes)
    case .collective(let collective) where collective.ranks == 1:
      return Kernels.collective(collective, [x[0]], shape: t[0].shape)[0]
    case .collective(let collective):
      throw InterpreterError(
        "a collective over \(collective.ranks) ranks needs that many simulated ranks "
          + "(run(_:ranks:states:))")
    }
  }

  /// The initial value of every variable of `program`, materialized from its initializer.
  public static func initialState(for program: Program) -> [String: HostTensor] {
    GraphInterpreter.initialState(for: program)
  }
}

/// The initial value of every variable of `program`, materialized from its initializer with
/// `Initializer.values(count:)`.
public func initialState(for program: Program) -> [String: HostTensor] {
  var state: [String: HostTensor] = [:]
  for variable in program.variables {
    let count = variable.type.elementCount
    state[variable.name] = HostTensor(variable.type, variable.initializer.values(count: count))
  }
  return state
}
