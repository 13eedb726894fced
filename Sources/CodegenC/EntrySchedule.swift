import GraphCompiler
import GraphIR

/// The schedule of one entry point, as the tables the runtime walks (`hw_entry_run`), for every
/// batch size at once: for each kernel, the library function that computes it and where its
/// arguments live (an input, an offset in the state arena, a buffer of the activation arena or
/// the call's scratch); the buffers, whose sizes are polynomials in N, in the order the planner
/// places them (`hw_entry_plan`); then the copies (leaf outputs into the arena, state updates
/// into the state arena). Built from the entry at the two markers of `GenericBatch`.
struct EntrySchedule {
  /// Where a buffer lives: an `hw_arg`, spelled with the macros of `argumentMacros`.
  enum Argument: Equatable {
    case input(Int), state(Int), buffer(Int), constant(Int), scratch

    var c: String {
      switch self {
      case .input(let index): "IN(\(index))"
      case .state(let offset): "ST(\(offset))"
      case .buffer(let index): "BUF(\(index))"
      case .constant(let index): "CONST(\(index))"
      case .scratch: "SCRATCH"
      }
    }
  }

  /// The short spellings of `hw_arg` the tables use, defined before them.
  static let argumentMacros = [
    "/* Kernel arguments in the tables below: an entry input, a byte offset in the state arena, a",
    " * buffer of the activation arena, a constant array, the call's scratch range. */",
    "#define IN(index) {HW_AT_INPUT, index}",
    "#define ST(offset) {HW_AT_STATE, offset}",
    "#define BUF(index) {HW_AT_BUFFER, index}",
    "#define CONST(index) {HW_AT_CONSTANT, index}",
    "#define SCRATCH {HW_AT_SCRATCH, 0}",
  ]

  /// A call: its function, arguments, own scratch (im2col) and whether it gets the spare range,
  /// and the DSL path of the layer it belongs to (for the reader: one function may serve
  /// several layers).
  struct Call {
    var kernel: Int
    var arguments: [Argument]
    var scratch: BatchPolynomial
    var spare: Bool
    var path: String?
  }

  /// A stored value placed by the planner.
  struct Buffer {
    var bytes: BatchPolynomial
    var first: Int
    var last: Int
    var inPlaceOf: Int?
  }

  /// The entry at the two markers.
  let entry: (PlannedEntry, PlannedEntry)
  let state: StateLayout
  /// Prefix of the tables: `<program>_<entry>`.
  let prefix: String
  private(set) var calls: [Call] = []
  private(set) var buffers: [Buffer] = []
  private(set) var copies: [(to: Argument, from: Argument, bytes: BatchPolynomial)] = []
  /// The calls the entry may repeat (`GraphLoop`) and its carried values: each loop.in buffer
  /// with its loop.out buffer.
  private(set) var loop:
    (calls: Range<Int>, carries: [(to: Argument, from: Argument, bytes: BatchPolynomial)])?
  /// The optimizer's calls, the last ones of `calls`.
  private(set) var optimizer: [OptimizerCall] = []
  /// HW_MAX_ARGS in headway_program.h.
  static let maxArguments = 256
  /// The constant arrays the kernels and copies read.
  private(set) var constants: [String] = []
  private var constantNames: [NodeID: String] = [:]
  private var inputIndex: [NodeID: Int] = [:]
  private var bufferIndex: [NodeID: Int] = [:]

  var name: String { entry.0.name }
  var graph: Graph { entry.0.graph }

  /// Plans the schedule, adding the entry's kernels and constants to `library`.
  init(
    _ entry: (PlannedEntry, PlannedEntry), state: StateLayout, prefix: String,
    library: inout KernelLibrary
  ) throws {
    self.entry = entry
    self.state = state
    self.prefix = prefix
    constantNames = library.constants(of: entry.0.graph)
    inputIndex = Dictionary(uniqueKeysWithValues: graph.inputs.enumerated().map { ($1.id, $0) })
    try planBuffers()
    guard entry.0.memory.stateStores == entry.1.memory.stateStores else {
      throw GenericBatch.Mismatch(
        place: "the state updates stored in place in '\(name)'",
        first: "\(entry.0.memory.stateStores.count)",
        second: "\(entry.1.memory.stateStores.count)", context: "")
    }
    for (index, members) in graph.kernelMembers().enumerated() {
      func emitter(_ marker: PlannedEntry) -> KernelEmitter {
        KernelEmitter(
          graph: marker.graph, members: members, constants: constantNames,
          inPlace: marker.memory.inPlace.merging(Self.stateTargets(marker)) { a, _ in a })
      }
      let (first, second) = (emitter(entry.0), emitter(entry.1))
      var arguments = (first.inputs + members).map { argument($0) }
      if first.hasScratch { arguments.append(.scratch) }
      precondition(
        arguments.count <= Self.maxArguments,
        "kernel \(index) of '\(name)' takes more than HW_MAX_ARGS")
      // A channels-last convolution's range is the spare one, found at run time.
      let scratch =
        first.takesSpareBytes
        ? BatchPolynomial.zero
        : try polynomial("the scratch of kernel \(index)") {
          $0.memory.scratch[index]?.bytes ?? 0
        }
      calls.append(
        Call(
          kernel: try library.function(for: (first, second)), arguments: arguments,
          scratch: scratch, spare: first.takesSpareBytes, path: layerPath(first.inputs)))
    }
    planOptimizer(library: &library)
    try planCopies()
    try planLoop()
  }

  /// One call per optimizer rule after the kernels (`OptimizerCall`), run after the copies.
  private mutating func planOptimizer(library: inout KernelLibrary) {
    optimizer = OptimizerCall.groups(in: graph, state: state)
    for group in optimizer {
      let arguments =
        group.scalars.map { argument($0) } + [.state(0)] + group.gradients.map { argument($0) }
      precondition(
        arguments.count <= Self.maxArguments,
        "the optimizer of '\(name)' takes more than HW_MAX_ARGS arguments")
      calls.append(
        Call(
          kernel: library.function(for: group), arguments: arguments, scratch: .zero,
          spare: false, path: nil))
    }
  }

  /// The loop's calls, the same at both markers, and its carried values.
  private mutating func planLoop() throws {
    let range = entry.0.graph.loopKernelRange()
    guard range == entry.1.graph.loopKernelRange() else {
      throw GenericBatch.Mismatch(
        place: "the loop of '\(name)'", first: "\(String(describing: range))",
        second: "\(String(describing: entry.1.graph.loopKernelRange()))", context: "")
    }
    guard let range, let carries = try graph.loop()?.carries else { return }
    loop = (
      range,
      try carries.map { carry in
        let bytes = try polynomial("loop value \(carry.name)") {
          $0.graph[carry.input].type.elementCount * 4
        }
        return (argument(carry.input), argument(carry.output), bytes)
      }
    )
  }

  /// The value of `measure` at both markers as a polynomial in N; `place` names it in errors.
  private func polynomial(
    _ place: String, _ measure: (PlannedEntry) -> Int
  ) throws -> BatchPolynomial {
    try GenericBatch.polynomial(measure(entry.0), measure(entry.1), place: "\(place) of '\(name)'")
  }

  /// The stored values in the order the compiler's planner placed them.
  private mutating func planBuffers() throws {
    let (a, b) = (entry.0.memory, entry.1.memory)
    guard a.placements.map(\.id) == b.placements.map(\.id) else {
      throw GenericBatch.Mismatch(
        place: "the memory plan of '\(name)'", first: "\(a.placements.count) buffers",
        second: "\(b.placements.count)", context: "")
    }
    for placement in a.placements {
      let id = placement.id
      let bytes = try polynomial("the size of \(id)") { $0.graph[id].type.elementCount * 4 }
      let operand = a.inPlace[id].flatMap { bufferIndex[$0] }
      bufferIndex[id] = buffers.count
      buffers.append(
        Buffer(bytes: bytes, first: placement.first, last: placement.last, inPlaceOf: operand))
    }
  }

  /// Leaf outputs are copied into the arena, then every state update its kernel did not store
  /// in place is applied.
  private mutating func planCopies() throws {
    for output in graph.outputs where graph[output.node].kernel == nil {
      let bytes = try polynomial("output \(output.name)") {
        $0.graph[output.node].type.elementCount * 4
      }
      copies.append((.buffer(bufferIndex[output.node]!), argument(output.node), bytes))
    }
    for id in graph.ids {
      guard case .assign(let name) = graph[id].op,
        entry.0.memory.stateStores[graph[id].operands[0]] == nil
      else { continue }
      let bytes = try polynomial("the update of \(name)") { $0.graph[id].type.elementCount * 4 }
      copies.append((.state(state.offsets[name]!), argument(graph[id].operands[0]), bytes))
    }
  }

  /// The longest common DSL path of the variables a kernel reads, without the variable's own
  /// name and slot (`backbone.block1.conv1` for its weight and momentum); nil when it reads none.
  private func layerPath(_ inputs: [NodeID]) -> String? {
    let paths = inputs.compactMap { id -> [Substring]? in
      guard case .variable(let name) = graph[id].op else { return nil }
      let parts = name.split(separator: ".")
      let layer = parts.prefix { !["weight", "bias", "running_mean", "running_var"].contains($0) }
      return Array(layer)
    }
    guard var common = paths.first else { return nil }
    for path in paths.dropFirst() {
      common = Array(zip(common, path).prefix { $0 == $1 }.map(\.0))
    }
    return common.isEmpty ? nil : common.joined(separator: ".")
  }

  /// The index of the buffer holding `id`.
  func buffer(of id: NodeID) -> Int { bufferIndex[id]! }

  /// Each state update stored in place with the variable node it overwrites (what the kernel
  /// reads it through, so the two pointers are not `restrict`).
  static func stateTargets(_ marker: PlannedEntry) -> [NodeID: NodeID] {
    var nodes: [String: NodeID] = [:]
    for id in marker.graph.ids {
      if case .variable(let name) = marker.graph[id].op, nodes[name] == nil { nodes[name] = id }
    }
    return marker.memory.stateStores.compactMapValues { nodes[$0] }
  }

  /// Where buffer `id` lives.
  private mutating func argument(_ id: NodeID) -> Argument {
    if let name = entry.0.memory.stateStores[id] { return .state(state.offsets[name]!) }
    switch graph[id].op {
    case .input:
      return .input(inputIndex[id]!)
    case .variable(let name):
      return .state(state.offsets[name]!)
    case .constant where graph[id].kernel == nil:
      let name = constantNames[id]!
      if let index = constants.firstIndex(of: name) { return .constant(index) }
      constants.append(name)
      return .constant(constants.count - 1)
    default:
      return .buffer(bufferIndex[id]!)
    }
  }
}
