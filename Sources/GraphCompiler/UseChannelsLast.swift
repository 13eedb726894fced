import GraphIR

// Use channels last: moves every convolution, and the activations linked to it, from NCHW to
// NHWC, so that oneDNN runs on the tensors as they are instead of reordering each one to a
// channel-blocked copy and back (a fifth of a step's convolution time, measured).
// Requires: a lowered graph (no gradient markers), before fusion.
// Guarantees: every output holds the same values. The channels-last values are the
// convolutions' activations and gradients and everything joined to them by elementwise ops;
// they become `[N, H, W, C]`, the convolutions take `channels_last`, broadcasts into them and
// reductions out of them are permuted, and a value crossing to an NCHW user (or an NCHW
// producer feeding one) is transposed once, or reshaped when only size-1 axes move.

/// Rewrites a lowered graph's convolutions and their activations to channels-last.
public struct UseChannelsLast: GraphPass {
  public let name = "use-channels-last"

  public init() {}

  public func run(_ graph: Graph) throws(IRError) -> PassResult {
    let members = Self.channelsLastValues(graph)
    guard members.contains(true) else { return PassResult(graph: graph, changed: false) }
    var rewriter = LayoutRewriter(source: graph, members: members)
    for id in graph.ids { try rewriter.rewrite(id) }
    return PassResult(graph: try rewriter.finish(), changed: true)
  }

  /// The values that become NHWC: the activations of NCHW convolutions (inputs, outputs and
  /// their gradients), closed under elementwise ops in both directions.
  static func channelsLastValues(_ graph: Graph) -> [Bool] {
    var member = Array(repeating: false, count: graph.nodes.count)
    var pending: [NodeID] = []
    for id in graph.ids {
      let node = graph[id]
      switch node.op {
      case .conv2d(let c) where !c.channelsLast: pending += [id, node.operands[0]]
      case .conv2dInputGrad(let c, _) where !c.channelsLast: pending += [id, node.operands[0]]
      case .conv2dFilterGrad(let c, _) where !c.channelsLast: pending += node.operands
      default: break
      }
    }
    let users = graph.users()
    while let id = pending.popLast() {
      guard !member[id.index] else { continue }
      member[id.index] = true
      if graph[id].op.isElementwise { pending += graph[id].operands }
      pending += users[id.index].filter { graph[$0].op.isElementwise }
    }
    return member
  }
}

/// Builds the rewritten graph; each source value is available in the new graph as NCHW, as
/// NHWC, or both (a conversion made the first time a user needs it).
private struct LayoutRewriter {
  let source: Graph
  let members: [Bool]
  var result = Graph()
  private var nchw: [NodeID?]
  private var nhwc: [NodeID?]

  init(source: Graph, members: [Bool]) {
    self.source = source
    self.members = members
    nchw = Array(repeating: nil, count: source.nodes.count)
    nhwc = nchw
  }

  mutating func rewrite(_ id: NodeID) throws(IRError) {
    let node = source[id]
    let at = node.location
    if members[id.index] {
      if let new = try rewriteMember(node) {
        nhwc[id.index] = new
        return
      }
    } else {
      switch node.op {
      case .conv2dFilterGrad(var c, let filter):
        c.channelsLast = true
        let operands = try node.operands.map { (id) throws(IRError) in try channelsLast(id) }
        nchw[id.index] = try emit(.conv2dFilterGrad(c, filterShape: filter), operands, at)
        return
      case .reduce(let op, let axes) where members[node.operands[0].index]:
        let reduced = try reduceChannelsLast(op, axes, node.operands[0], at)
        nchw[id.index] = try permute(reduced, ChannelOrder.toNCHW, at)
        return
      default: break
      }
    }
    // Anything else keeps its op on NCHW operands (a member that cannot be rewritten is
    // converted when a channels-last user asks for it).
    var copy = node
    copy.operands = try node.operands.map { (id) throws(IRError) in try channelsFirst(id) }
    result.nodes.append(copy)
    nchw[id.index] = NodeID(result.nodes.count - 1)
  }

  /// The NHWC form of a member, or nil when its op has none (inputs, variables, reshapes...).
  private mutating func rewriteMember(_ node: Node) throws(IRError) -> NodeID? {
    let at = node.location
    let x = node.operands
    switch node.op {
    case .conv2d(var c):
      c.channelsLast = true
      return try emit(.conv2d(c), [try channelsLast(x[0]), try channelsFirst(x[1])], at)
    case .conv2dInputGrad(var c, let inputShape):
      c.channelsLast = true
      let op = Op.conv2dInputGrad(c, inputShape: ChannelOrder.nhwc(inputShape))
      return try emit(op, [try channelsLast(x[0]), try channelsFirst(x[1])], at)
    case _ where node.op.isElementwise:
      return try emit(node.op, try x.map { (id) throws(IRError) in try channelsLast(id) }, at)
    case .broadcast(let shape):
      let operand = try channelsFirst(x[0])
      let rank4 = Array(repeating: 1, count: 4 - source[x[0]].type.rank) + source[x[0]].type.shape
      let padded = try reshape(operand, rank4, at)
      let permuted = try permute(padded, ChannelOrder.toNHWC, at)
      return try emit(.broadcast(ChannelOrder.nhwc(shape)), [permuted], at)
    case .constant(let constant) where constant.uniformValue != nil:
      return try emit(
        .constant(constant), [], at, declared: .f32(ChannelOrder.nhwc(node.type.shape)))
    case .reduce(let op, let axes):
      return try reduceChannelsLast(op, axes, x[0], at)
    default:
      return nil
    }
  }

  /// The reduction over NCHW `axes` of `operand`, taken on its NHWC form (keeping NHWC dims).
  private mutating func reduceChannelsLast(
    _ op: ReduceOp, _ axes: [Int], _ operand: NodeID, _ at: SourceLocation?
  ) throws(IRError) -> NodeID {
    try emit(
      .reduce(op, axes: axes.map(ChannelOrder.nhwcAxis).sorted()), [try channelsLast(operand)], at)
  }

  /// The NCHW form of a source value, converting its NHWC form the first time.
  private mutating func channelsFirst(_ id: NodeID) throws(IRError) -> NodeID {
    if let new = nchw[id.index] { return new }
    let converted = try permute(nhwc[id.index]!, ChannelOrder.toNCHW, source[id].location)
    nchw[id.index] = converted
    return converted
  }

  /// The NHWC form of a source value, converting its NCHW form the first time.
  private mutating func channelsLast(_ id: NodeID) throws(IRError) -> NodeID {
    if let new = nhwc[id.index] { return new }
    let converted = try permute(nchw[id.index]!, ChannelOrder.toNHWC, source[id].location)
    nhwc[id.index] = converted
    return converted
  }

  /// `transpose(value, perm)`, or a reshape when the dimensions that move all have size 1.
  private mutating func permute(_ value: NodeID, _ perm: [Int], _ at: SourceLocation?)
    throws(IRError) -> NodeID
  {
    let shape = result[value].type.shape
    let permuted = perm.map { shape[$0] }
    if permuted.filter({ $0 != 1 }) == shape.filter({ $0 != 1 }) {
      return try reshape(value, permuted, at)
    }
    return try emit(.transpose(perm), [value], at)
  }

  private mutating func reshape(_ value: NodeID, _ shape: [Int], _ at: SourceLocation?)
    throws(IRError) -> NodeID
  {
    result[value].type.shape == shape ? value : try emit(.reshape(shape), [value], at)
  }

  private mutating func emit(
    _ op: Op, _ operands: [NodeID], _ at: SourceLocation?, declared: TensorType? = nil
  ) throws(IRError) -> NodeID {
    try result.append(op, operands, declared: declared, location: at)
  }

  /// The rewritten graph, its outputs in NCHW as before.
  mutating func finish() throws(IRError) -> Graph {
    let outputs = try source.outputs.map { (output) throws(IRError) in
      GraphOutput(name: output.name, node: try channelsFirst(output.node))
    }
    var graph = result
    graph.outputs = outputs
    return graph
  }
}
