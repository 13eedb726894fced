/// A part of an entry point that may run any number of times: `bilevel.step`'s inner head step,
/// whose count K is chosen at run time.
///
/// A graph declares it with pairs of outputs: `loop.in.<name>`, a value computed before the
/// loop, and `loop.out.<name>`, the value one more repetition computes from it. The body is
/// every node that a `loop.out` value depends on through paths that do not pass through a
/// `loop.in` value, and that itself depends on a `loop.in` value. As written, the body runs
/// once; run `times` times (`repeatingLoop` writes that out), each repetition reads as `loop.in` values the
/// previous repetition's `loop.out` values, and the nodes after the loop read the last ones
/// (with `times` = 0 they read the `loop.in` values).
///
/// Rules, so that compiled code may run the body's kernels again on the same buffers: a node
/// outside the body reads no body value but a `loop.out` one; a node outside the body that
/// reads a `loop.in` value is one the `loop.in` values themselves depend on (it runs before the
/// loop); no output but the `loop.*` ones names a body value or a `loop.in` value.
public struct GraphLoop: Sendable, Equatable {
  public struct Carry: Sendable, Equatable {
    public var name: String
    /// The value the first repetition reads.
    public var input: NodeID
    /// The value each repetition computes; the next one reads it as `input`.
    public var output: NodeID
  }

  public var carries: [Carry]
  /// The nodes each repetition computes afresh.
  public var body: Set<NodeID>
  /// The nodes outside the body that depend on it and that an output or a state update needs:
  /// they run once, after the last repetition.
  public var after: Set<NodeID>
  /// The nodes that depend on the body but that nothing needs (dead code before its removal).
  public var unused: Set<NodeID>
}

extension ProgramNames {
  /// Prefix of the outputs that carry a loop's values into a repetition (see `GraphLoop`).
  public static let loopInput = "loop.in."
  /// Prefix of the outputs that carry a loop's values out of a repetition.
  public static let loopOutput = "loop.out."
}

extension Graph {
  /// The graph's loop, nil when it declares none; an error names the rule a declaration breaks.
  public func loop() throws(IRError) -> GraphLoop? {
    let carries = try loopCarries()
    guard !carries.isEmpty else { return nil }
    let inputs = Set(carries.map(\.input))
    // Ancestors of the loop.out values, not walking past loop.in values.
    var feeds = Set<NodeID>()
    var stack = carries.map(\.output)
    while let id = stack.popLast() {
      guard !inputs.contains(id), feeds.insert(id).inserted else { continue }
      stack.append(contentsOf: self[id].operands)
    }
    let live = liveNodes()
    var loop = GraphLoop(carries: carries, body: [], after: [], unused: [])
    var readsInput = Set<NodeID>()
    for id in ids {
      let operands = self[id].operands
      if operands.contains(where: { inputs.contains($0) || readsInput.contains($0) }) {
        readsInput.insert(id)
      }
      if feeds.contains(id) && readsInput.contains(id) {
        loop.body.insert(id)
      } else if operands.contains(where: {
        loop.body.contains($0) || loop.after.contains($0) || loop.unused.contains($0)
      }) {
        if live[id.index] { loop.after.insert(id) } else { loop.unused.insert(id) }
      }
    }
    try checkLoop(loop, inputs: inputs)
    return loop
  }

  /// The pairs of `loop.in` and `loop.out` outputs, checked to match by name and type.
  private func loopCarries() throws(IRError) -> [GraphLoop.Carry] {
    var ins: [String: NodeID] = [:]
    var outs: [String: NodeID] = [:]
    for output in outputs {
      if output.name.hasPrefix(ProgramNames.loopInput) {
        ins[String(output.name.dropFirst(ProgramNames.loopInput.count))] = output.node
      } else if output.name.hasPrefix(ProgramNames.loopOutput) {
        outs[String(output.name.dropFirst(ProgramNames.loopOutput.count))] = output.node
      }
    }
    var carries: [GraphLoop.Carry] = []
    for name in Set(ins.keys).union(outs.keys).sorted() {
      guard let input = ins[name], let output = outs[name] else {
        let missing = ins[name] == nil ? ProgramNames.loopInput : ProgramNames.loopOutput
        throw IRError(message: "loop value '\(name)' has no output '\(missing)\(name)'")
      }
      guard self[input].type == self[output].type else {
        throw IRError(
          message: "loop value '\(name)': \(input) is \(self[input].type) but \(output) is "
            + "\(self[output].type)")
      }
      carries.append(GraphLoop.Carry(name: name, input: input, output: output))
    }
    let nodes = carries.flatMap { [$0.input, $0.output] }
    if Set(nodes).count != nodes.count {
      throw IRError(message: "two loop values share a node: \(nodes.map(\.description))")
    }
    return carries
  }

  private func checkLoop(_ loop: GraphLoop, inputs: Set<NodeID>) throws(IRError) {
    let results = Set(loop.carries.map(\.output))
    for carry in loop.carries where !loop.body.contains(carry.output) {
      throw IRError(
        message: "loop value '\(carry.name)': \(carry.output) does not depend on any loop.in value")
    }
    // What the loop.in values depend on: the only readers of them outside the body.
    var beforeInputs = Set<NodeID>()
    var stack = loop.carries.flatMap { self[$0.input].operands }
    while let id = stack.popLast() {
      guard beforeInputs.insert(id).inserted else { continue }
      stack.append(contentsOf: self[id].operands)
    }
    for id in ids where !loop.body.contains(id) && !loop.unused.contains(id) {
      for operand in self[id].operands {
        if loop.body.contains(operand) && !results.contains(operand) {
          throw IRError(
            message: "\(id) = \(self[id].op.mnemonic) outside the loop reads \(operand), a value "
              + "inside it that is no loop.out value")
        }
        if inputs.contains(operand) && !beforeInputs.contains(id) && !inputs.contains(id) {
          throw IRError(
            message: "\(id) = \(self[id].op.mnemonic) outside the loop reads the loop.in value "
              + "\(operand), which a repetition overwrites")
        }
      }
    }
    for output in outputs where !output.name.hasPrefix("loop.") {
      if loop.body.contains(output.node) || inputs.contains(output.node) {
        throw IRError(
          message: "output '\(output.name)' names \(output.node), a value of the loop or carried "
            + "into it")
      }
    }
  }

  /// The graph with its loop's body written out `times` times (see `GraphLoop`), without the
  /// `loop.*` outputs: a graph with no loop; itself when it has none.
  public func repeatingLoop(_ times: Int) throws(IRError) -> Graph {
    guard let loop = try loop() else { return self }
    guard times >= 0 else { throw IRError(message: "a loop runs at least 0 times, got \(times)") }
    var result = Graph()
    var mapped: [NodeID: NodeID] = [:]
    func copy(_ id: NodeID, reading map: (NodeID) -> NodeID) -> NodeID {
      var node = self[id]
      node.operands = node.operands.map(map)
      result.nodes.append(node)
      return NodeID(result.nodes.count - 1)
    }
    let once = ids.filter {
      !loop.body.contains($0) && !loop.after.contains($0) && !loop.unused.contains($0)
    }
    for id in once { mapped[id] = copy(id) { mapped[$0]! } }
    var carried = Dictionary(
      uniqueKeysWithValues: loop.carries.map { ($0.input, mapped[$0.input]!) })
    for _ in 0..<times {
      var repetition: [NodeID: NodeID] = [:]
      for id in ids where loop.body.contains(id) {
        repetition[id] = copy(id) { carried[$0] ?? repetition[$0] ?? mapped[$0]! }
      }
      for carry in loop.carries { carried[carry.input] = repetition[carry.output]! }
    }
    for carry in loop.carries { mapped[carry.output] = carried[carry.input]! }
    for id in ids where loop.after.contains(id) { mapped[id] = copy(id) { mapped[$0]! } }
    result.outputs = outputs.filter { !$0.name.hasPrefix("loop.") }.map {
      GraphOutput(name: $0.name, node: mapped[$0.node]!)
    }
    return result
  }
}
