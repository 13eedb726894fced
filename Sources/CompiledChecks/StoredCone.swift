import GraphIR
import GraphInterpreter
import Runtime

extension Graph {
  /// The float64 value of node `id` computed by the interpreter from its definition alone: the
  /// ops inlined into it, with every stored value it reads taken from `stored`. A kernel check
  /// compares a compiled kernel's store with this on exactly the values the kernel read.
  ///
  /// With `bf16Operands`, a convolution's operands are rounded to bfloat16 first, as the
  /// convolutions of `--precision bf16` round them.
  func coneValue(
    of id: NodeID, inputs: [String: HostTensor], state: [String: HostTensor],
    bf16Operands: Bool = false, stored: (NodeID) -> [Double]
  ) throws -> [Double] {
    if bf16Operands && self[id].op.isConvolution {
      return try roundedOperandsValue(of: id, inputs: inputs, state: state, stored: stored)
    }
    var scratchState = state
    return try runCone(of: id, inputs: inputs, state: &scratchState, stored: stored)
  }

  /// The variables an optimizer update writes (its parameter and slots), from its definition
  /// on the stored values given and `state`.
  func updateWrites(
    of id: NodeID, inputs: [String: HostTensor], state: [String: HostTensor],
    stored: (NodeID) -> [Double]
  ) throws -> [String: HostTensor] {
    guard case .update(let rule) = self[id].op else { preconditionFailure("not an update") }
    var written = state
    _ = try runCone(of: id, inputs: inputs, state: &written, stored: stored)
    let names = [rule.variable] + rule.slots(of: self[id].type).map(\.name)
    return written.filter { names.contains($0.key) }
  }

  /// Runs the cone of `id` (stored values as inputs) in the interpreter; returns its value.
  private func runCone(
    of id: NodeID, inputs: [String: HostTensor], state: inout [String: HostTensor],
    stored: (NodeID) -> [Double]
  ) throws -> [Double] {
    var cone = Graph()
    var mapping: [NodeID: NodeID] = [:]
    var given: [String: HostTensor] = inputs
    func copy(_ node: NodeID, isRoot: Bool) throws -> NodeID {
      if let done = mapping[node] { return done }
      var copied = self[node]
      if !isRoot && self[node].kernel != nil {
        let name = "stored \(node.index)"
        given[name] = HostTensor(copied.type, stored(node))
        copied = Node(op: .input(name), operands: [], type: copied.type)
      } else {
        copied.operands = try copied.operands.map { try copy($0, isRoot: false) }
        copied.kernel = nil
      }
      cone.nodes.append(copied)
      mapping[node] = NodeID(cone.nodes.count - 1)
      return mapping[node]!
    }
    cone.outputs = [GraphOutput(name: "value", node: try copy(id, isRoot: true))]
    return try Interpreter().run(cone, inputs: given, state: &state)["value"]!.scalars
  }

  /// Node `id` on its operands' values rounded to bfloat16.
  private func roundedOperandsValue(
    of id: NodeID, inputs: [String: HostTensor], state: [String: HostTensor],
    stored: (NodeID) -> [Double]
  ) throws -> [Double] {
    var cone = Graph()
    var given: [String: HostTensor] = [:]
    var operands: [NodeID] = []
    for (index, operand) in self[id].operands.enumerated() {
      let exact =
        self[operand].kernel != nil
        ? stored(operand)
        : try coneValue(of: operand, inputs: inputs, state: state, stored: stored)
      let name = "operand \(index)"
      given[name] = HostTensor(self[operand].type, exact.map(roundedToBFloat16))
      cone.nodes.append(Node(op: .input(name), operands: [], type: self[operand].type))
      operands.append(NodeID(cone.nodes.count - 1))
    }
    var root = self[id]
    root.operands = operands
    root.kernel = nil
    cone.nodes.append(root)
    cone.outputs = [GraphOutput(name: "value", node: NodeID(cone.nodes.count - 1))]
    var scratchState = state
    return try Interpreter().run(cone, inputs: given, state: &scratchState)["value"]!.scalars
  }

  /// The comparison nodes inlined into stored node `id` (its ReLU masks).
  func inlinedComparisons(of id: NodeID) -> [NodeID] {
    var result: [NodeID] = []
    var seen = Set<NodeID>()
    var stack = self[id].operands
    while let next = stack.popLast() {
      guard self[next].kernel == nil, seen.insert(next).inserted else { continue }
      if case .compare = self[next].op { result.append(next) }
      stack.append(contentsOf: self[next].operands)
    }
    return result
  }
}

extension Op {
  /// The ops `--precision bf16` computes on bfloat16 operands.
  var isConvolution: Bool {
    switch self {
    case .conv2d, .conv2dInputGrad, .conv2dFilterGrad: true
    default: false
    }
  }
}

/// Calls `body` with stable, 64-byte aligned copies of each buffer.
func withPointers(_ buffers: [[UInt32]], _ body: ([UnsafeRawPointer]) throws -> Void) rethrows {
  let copies = buffers.map { buffer -> UnsafeMutableRawPointer in
    let pointer = UnsafeMutableRawPointer.allocate(
      byteCount: max(4 * buffer.count, 4), alignment: 64)
    buffer.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    return pointer
  }
  defer { copies.forEach { $0.deallocate() } }
  try body(copies.map { UnsafeRawPointer($0) })
}

/// Input tensors as the raw float32 / int32 words a compiled entry reads.
func rawBuffers(_ inputs: [String: HostTensor]) -> [String: [UInt32]] {
  inputs.mapValues { tensor in
    tensor.type.dtype == .f32
      ? tensor.scalars.map { Float($0).bitPattern }
      : tensor.scalars.map { UInt32(bitPattern: Int32($0)) }
  }
}
