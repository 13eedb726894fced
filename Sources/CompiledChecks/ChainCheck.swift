import GraphCompiler
import GraphIR
import GraphInterpreter
import Runtime

/// Runs the kernels of one compiled entry point in order on one arena, as the entry does, and
/// checks three things along the way:
///
/// - before each kernel, that every stored value it reads still holds, bit for bit, what its
///   own kernel wrote: a kernel that writes outside its outputs, or a memory plan that reuses a
///   buffer while it is still live, fails here at the first read of the damaged value;
/// - after each kernel, that each of its stores matches its definition evaluated in float64 on
///   exactly the values the compiled code read (those of the chain, not fresh ones);
/// - which comparisons (ReLU masks) come out differently from the interpreter with float32
///   storage, and by how little their operands missed the threshold.
///
/// The comparison outcomes are returned so that `SelfCheck` can replay them in the
/// interpreter: with the same decisions, a whole entry must match.
public struct ChainCheck {
  /// The largest accepted error of a kernel against its definition.
  public var tolerance: Double

  public init(tolerance: Double = 1e-4) { self.tolerance = tolerance }

  /// One kernel of the chain.
  public struct Step: Sendable, CustomStringConvertible {
    public var entry: String
    public var kernel: String
    /// Stored values this kernel read that no longer held what their kernel wrote.
    public var clobbered: [String]
    /// The largest difference of a store from its definition on the values read, relative to
    /// the largest magnitude of the reference.
    public var error: Double
    public var passed: Bool { clobbered.isEmpty && error <= tolerance }
    var tolerance: Double

    public var description: String {
      let damage = clobbered.isEmpty ? "" : ", clobbered \(clobbered.joined(separator: " "))"
      return "\(passed ? "ok  " : "FAIL") \(entry) \(kernel): max rel.err \(error)\(damage)"
    }
  }

  /// A comparison whose outcome differs from the float32-storage interpreter's somewhere.
  public struct Flip: Sendable, CustomStringConvertible {
    public var entry: String
    public var node: NodeID
    public var elements: Int
    /// The largest |a - b| of the compared operands at a flipped element, relative to the
    /// largest |a|: how close to the threshold the flipped elements were.
    public var margin: Double

    public var description: String {
      "\(entry) \(node): \(elements) elements decided the other way, within \(margin) of the threshold"
    }
  }

  public struct Result: Sendable {
    public var steps: [Step] = []
    public var flips: [Flip] = []
    /// Every comparison's outcome in the compiled code, by node of the planned graph.
    public var decisions: [NodeID: [Double]] = [:]
  }

  /// The chain of `entry` in `compiled`, planned as `plan` (from `KernelPipeline.run` of the
  /// same program), on `state` and `inputs` (also written to a fresh session).
  func run(
    _ entry: CompiledEntry, _ plan: PlannedEntry, _ compiled: CompiledProgram,
    state initial: [String: HostTensor], inputs: [String: HostTensor], threads: Int
  ) throws -> Result {
    let session = CompiledSession(program: compiled, threads: threads)
    for (name, value) in initial { try session.write(value.scalars.map(Float.init), to: name) }
    var chain = Chain(plan: plan, entry: entry, inputs: inputs, state: initial)
    try chain.interpret()
    let buffers = rawBuffers(inputs)
    try withPointers(entry.inputs.map { buffers[$0.name]! }) { pointers in
      for (index, members) in chain.kernels.enumerated() {
        let clobbered = chain.damagedReads(members, session)
        session.runKernel(entry, index, inputs: pointers)
        let error = try chain.record(members, session)
        chain.result.steps.append(
          Step(
            entry: entry.name, kernel: entry.kernelNames[index], clobbered: clobbered,
            error: error, tolerance: tolerance))
        chain.forget(after: index)
      }
      for (offset, group) in chain.optimizer.enumerated() {
        let index = chain.kernels.count + offset
        let clobbered = chain.damagedReads(group.updates, session)
        session.runKernel(entry, index, inputs: pointers)
        let error = try session.optimizerError(
          group.updates, plan, inputs: inputs, state: initial
        ) { chain.written[$0]?.map { Double(Float(bitPattern: $0)) } ?? [] }
        chain.result.steps.append(
          Step(
            entry: entry.name, kernel: entry.kernelNames[index], clobbered: clobbered,
            error: error, tolerance: tolerance))
      }
    }
    return chain.result
  }
}

/// The state of one chain run: what each kernel wrote, and the interpreter's values.
private struct Chain {
  let plan: PlannedEntry
  let entry: CompiledEntry
  let inputs: [String: HostTensor]
  let state: [String: HostTensor]
  let kernels: [[NodeID]]
  /// The optimizer's calls, after the kernels.
  let optimizer: [OptimizerGroup]
  /// The stored values each kernel is the last to read.
  let lastReadBy: [Int: [NodeID]]
  var interpreted: [String: HostTensor] = [:]
  /// Bits of each stored value as its kernel left it, while something still reads it.
  var written: [NodeID: [UInt32]] = [:]
  var result = ChainCheck.Result()

  init(
    plan: PlannedEntry, entry: CompiledEntry, inputs: [String: HostTensor],
    state: [String:
      HostTensor]
  ) {
    (self.plan, self.entry, self.inputs, self.state) = (plan, entry, inputs, state)
    kernels = plan.graph.kernelMembers()
    optimizer = plan.graph.optimizerGroups()
    var lastRead: [NodeID: Int] = [:]
    for (index, members) in kernels.enumerated() {
      for id in members {
        for input in plan.graph.storedInputs(of: id) { lastRead[input] = index }
      }
    }
    // The optimizer's calls come last and read the gradients.
    for (offset, group) in optimizer.enumerated() {
      for id in group.updates {
        for input in plan.graph.storedInputs(of: id) { lastRead[input] = kernels.count + offset }
      }
    }
    lastReadBy = Dictionary(grouping: lastRead.keys) { lastRead[$0]! }
  }

  /// The float32-storage interpreter's value of every stored node and comparison.
  mutating func interpret() throws {
    var probe = plan.graph
    let compares = probe.ids.filter { if case .compare = probe[$0].op { true } else { false } }
    probe.outputs = (kernels.flatMap { $0 } + compares).map {
      GraphOutput(name: "\($0.index)", node: $0)
    }
    var scratch = state
    interpreted = try Interpreter().run(
      probe, inputs: inputs, state: &scratch, roundingStoredValues: true)
  }

  func damagedReads(_ members: [NodeID], _ session: CompiledSession) -> [String] {
    var read = Set<NodeID>()
    for id in members { read.formUnion(plan.graph.storedInputs(of: id)) }
    return read.subtracting(members).sorted().compactMap { id in
      plan.graph[id].kernel == nil || bits(session, id) == written[id] ? nil : "%\(id.index)"
    }
  }

  /// Records the kernel's stores and decisions; returns the worst error against the
  /// definitions on the values read.
  mutating func record(_ members: [NodeID], _ session: CompiledSession) throws -> Double {
    let overwrittenHere = Set(members.compactMap { plan.memory.inPlace[$0] })
    var actual: [NodeID: [Double]] = [:]
    var worst = 0.0
    for id in members {
      let reference = try value(of: id, actual)
      if overwrittenHere.contains(id) {
        // Its buffer now holds a later member: use its definition, stored as float32 as the
        // kernel stored it (a cancelling sum over it sees the rounding).
        actual[id] = reference.map { Double(Float($0)) }
        continue
      }
      written[id] = bits(session, id)
      actual[id] = written[id]!.map { Double(Float(bitPattern: $0)) }
      worst = max(worst, SelfCheck.relativeError(actual[id]!, reference))
    }
    for id in members {
      for compare in plan.graph.inlinedComparisons(of: id) where result.decisions[compare] == nil {
        result.decisions[compare] = try value(of: compare, actual)
        noteFlips(compare, actual)
      }
    }
    return worst
  }

  /// Node `id` from its definition, on the stored values the compiled code read.
  func value(of id: NodeID, _ actual: [NodeID: [Double]]) throws -> [Double] {
    try plan.graph.coneValue(of: id, inputs: inputs, state: state) { stored in
      actual[stored] ?? written[stored].map { $0.map { Double(Float(bitPattern: $0)) } } ?? []
    }
  }

  mutating func noteFlips(_ compare: NodeID, _ actual: [NodeID: [Double]]) {
    let compiled = result.decisions[compare]!
    let expected = interpreted["\(compare.index)"]!.scalars
    let flipped = compiled.indices.filter { compiled[$0] != expected[$0] }
    guard !flipped.isEmpty else { return }
    let operands = plan.graph[compare].operands.map { operand in
      plan.graph[operand].kernel == nil
        ? try? value(of: operand, actual)
        : actual[operand] ?? written[operand].map { $0.map { Double(Float(bitPattern: $0)) } }
    }
    var margin = Double.nan
    if let a = operands[0], let b = operands[1] {
      let scale = max(a.map(abs).max() ?? 0, 1e-30)
      margin = flipped.map { abs(a[$0] - b[$0]) / scale }.max()!
    }
    result.flips.append(
      ChainCheck.Flip(entry: entry.name, node: compare, elements: flipped.count, margin: margin))
  }

  /// Drops what no later kernel reads.
  mutating func forget(after index: Int) {
    for id in lastReadBy[index] ?? [] { written[id] = nil }
  }

  func bits(_ session: CompiledSession, _ id: NodeID) -> [UInt32] {
    session.readStored(id, plan).map(\.bitPattern)
  }
}
