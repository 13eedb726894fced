import GraphCompiler
import GraphIR

/// The schedule of one entry point, as the tables the runtime walks (`hw_entry_run`): for each
/// kernel, the library function that computes it and where its arguments live (an input, an
/// offset in the state or activation arena); then the copies (leaf outputs into the arena,
/// state updates into the state arena).
struct EntrySchedule {
  /// Where a buffer lives: the spellings of `hw_space`.
  enum Argument: Equatable {
    case input(Int), state(Int), arena(Int), constant(Int)

    var c: String {
      switch self {
      case .input(let index): "{HW_AT_INPUT, \(index)}"
      case .state(let offset): "{HW_AT_STATE, \(offset)}"
      case .arena(let offset): "{HW_AT_ARENA, \(offset)}"
      case .constant(let index): "{HW_AT_CONSTANT, \(index)}"
      }
    }
  }

  let entry: PlannedEntry
  let state: StateLayout
  /// Prefix of the tables: `<program>_b<batch>_<entry>`.
  let prefix: String
  private(set) var calls: [(kernel: Int, arguments: [Argument], scratchBytes: Int)] = []
  private(set) var copies: [(to: Argument, from: Argument, bytes: Int)] = []
  /// The constant arrays the copies read.
  private(set) var constants: [String] = []
  private var constantNames: [NodeID: String] = [:]
  private var inputIndex: [NodeID: Int] = [:]

  var graph: Graph { entry.graph }

  /// A kernel of the entry as every batch size calls it: its function in the library, the
  /// buffers it reads and writes, in parameter order, and whether it takes a scratch range.
  struct Kernel {
    var function: Int
    var buffers: [NodeID]
    var hasScratch: Bool
  }

  /// The kernels of an entry (`generic`: the entry at the two markers), added to `library`.
  static func kernels(
    _ generic: (PlannedEntry, PlannedEntry), library: inout KernelLibrary
  ) throws -> [Kernel] {
    let constants = library.constants(of: generic.0.graph)
    return try generic.0.graph.kernelMembers().map { members in
      func emitter(_ marker: PlannedEntry) -> KernelEmitter {
        KernelEmitter(
          graph: marker.graph, members: members, constants: constants,
          inPlace: marker.memory.inPlace)
      }
      let (first, second) = (emitter(generic.0), emitter(generic.1))
      return Kernel(
        function: try library.function(for: (first, second)), buffers: first.inputs + members,
        hasScratch: first.hasScratch)
    }
  }

  /// Plans the schedule of `entry` (the entry at one batch size) over its `kernels`.
  init(
    entry: PlannedEntry, kernels: [Kernel], state: StateLayout, prefix: String,
    library: inout KernelLibrary
  ) {
    self.entry = entry
    self.state = state
    self.prefix = prefix
    constantNames = library.constants(of: entry.graph)
    inputIndex = Dictionary(uniqueKeysWithValues: graph.inputs.enumerated().map { ($1.id, $0) })
    for (index, kernel) in kernels.enumerated() {
      var arguments = kernel.buffers.map { argument($0) }
      let scratch = entry.memory.scratch[index]
      if kernel.hasScratch { arguments.append(.arena(scratch?.offset ?? 0)) }
      precondition(
        arguments.count <= 64, "kernel \(index) of '\(entry.name)' takes more than HW_MAX_ARGS")
      calls.append((kernel.function, arguments, scratch?.bytes ?? 0))
    }
    planCopies()
  }

  /// Leaf outputs are copied into the arena, then every state update is applied.
  private mutating func planCopies() {
    for output in graph.outputs where graph[output.node].kernel == nil {
      let bytes = graph[output.node].type.elementCount * 4
      copies.append((.arena(entry.memory.offsets[output.node]!), argument(output.node), bytes))
    }
    for id in graph.ids {
      guard case .assign(let name) = graph[id].op else { continue }
      let bytes = graph[id].type.elementCount * 4
      copies.append((.state(state.offsets[name]!), argument(graph[id].operands[0]), bytes))
    }
  }

  /// Where buffer `id` lives.
  private mutating func argument(_ id: NodeID) -> Argument {
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
      return .arena(entry.memory.offsets[id]!)
    }
  }

  /// The arguments, calls, copies and constants tables; `hw_entry` fields point at them.
  func emit(into code: inout CodePrinter, library: KernelLibrary) {
    code.line(
      "/* Entry point '\(entry.name)': \(calls.count) calls, arena \(entry.memory.arenaBytes) bytes. */"
    )
    if !calls.isEmpty {
      code.line("static const hw_arg \(prefix)_args[] = {")
      code.indented { code in
        for call in calls { code.wrapped("", call.arguments.map(\.c), ",") }
      }
      code.line("};")
      code.line("static const hw_call \(prefix)_calls[] = {")
      var first = 0
      code.indented { code in
        for call in calls {
          let row = "{\(call.kernel), \(call.arguments.count), \(first), \(call.scratchBytes)},"
          let pad = String(repeating: " ", count: max(1, 28 - row.count))
          code.line(row + pad + "/* \(library.name(call.kernel)) */")
          first += call.arguments.count
        }
      }
      code.line("};")
    }
    if !copies.isEmpty {
      code.line("static const hw_copy \(prefix)_copies[] = {")
      code.indented { code in
        for copy in copies { code.line("{\(copy.to.c), \(copy.from.c), \(copy.bytes)},") }
      }
      code.line("};")
    }
    if !constants.isEmpty {
      code.wrapped("static const float *const \(prefix)_constants[] = {", constants, "};")
    }
  }

  /// The `kernels, calls, args, num_copies, copies, constants` fields of the entry's `hw_entry`.
  func tableFields(kernels: String) -> String {
    let tables = calls.isEmpty ? "NULL, NULL, NULL" : "\(kernels), \(prefix)_calls, \(prefix)_args"
    let copiesTable = copies.isEmpty ? "NULL" : "\(prefix)_copies"
    let constantsTable = constants.isEmpty ? "NULL" : "\(prefix)_constants"
    return "\(tables), \(copies.count), \(copiesTable), \(constantsTable)"
  }
}
