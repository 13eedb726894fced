import GraphCompiler
import GraphIR

/// Emits the tables the runtime reads: variables with their arena offsets and initialisers,
/// entry points with inputs, outputs, arena size, costs and schedule.
struct TableEmitter {
  let planned: PlannedProgram
  let base: String
  let schedules: [EntrySchedule]
  /// The translation unit's kernels table.
  let kernels: String

  func emit(into code: inout CodePrinter) {
    var shapes = 0
    func shape(_ type: TensorType) -> String {
      shapes += 1
      let name = "\(base)_shape\(shapes)"
      let dims = type.shape.isEmpty ? "0" : type.shape.map(String.init).joined(separator: ", ")
      code.line("static const int64_t \(name)[] = {\(dims)};")
      return name
    }
    func tensor(_ name: String, _ type: TensorType, offset: Int) -> String {
      let dtype = type.dtype == .f32 ? "HW_F32" : "HW_I32"
      return "{\(CSyntax.string(name)), \(dtype), \(type.rank), \(shape(type)), \(offset)}"
    }
    var variables: [String] = []
    for variable in planned.state.variables {
      let t = tensor(variable.name, variable.type, offset: planned.state.offsets[variable.name]!)
      variables.append(
        "{\(t), \(Self.role(variable.role)), \(Self.initializer(variable.initializer))}")
    }
    code.line("static const hw_variable \(base)_variables[] = {")
    code.indented { code in for v in variables { code.line(v + ",") } }
    code.line("};")
    var entries: [String] = []
    for schedule in schedules {
      let entry = schedule.entry
      let prefix = schedule.prefix
      let graph = entry.graph
      let inputs = graph.inputs.map { tensor($0.name, graph[$0.id].type, offset: 0) }
      let outputs = graph.outputs.map {
        tensor($0.name, graph[$0.node].type, offset: entry.memory.offsets[$0.node]!)
      }
      code.line("static const hw_tensor \(prefix)_inputs[] = {\(inputs.joined(separator: ", "))};")
      code.line(
        "static const hw_tensor \(prefix)_outputs[] = {\(outputs.joined(separator: ", "))};")
      let flops = entry.costs.reduce(0) { $0 + $1.flops }
      let bytes = entry.costs.reduce(0) { $0 + $1.bytes }
      entries.append(
        "{\(CSyntax.string(entry.name)), \(planned.batch), \(inputs.count), \(prefix)_inputs, \(outputs.count), "
          + "\(prefix)_outputs, \(entry.memory.arenaBytes), \(schedule.calls.count), \(flops), "
          + "\(bytes), \(schedule.tableFields(kernels: kernels))}")
    }
    code.line("static const hw_entry \(base)_entries[] = {")
    code.indented { code in for e in entries { code.line(e + ",") } }
    code.line("};")
    let accessor = ProgramEmitter.accessorName(planned.program.name, batch: planned.batch)
    code.block("const hw_program *\(accessor)(void)") { code in
      code.line(
        "static const hw_program program = {\(CSyntax.string(planned.program.name)), "
          + "\(planned.batch), \(planned.state.bytes), \(variables.count), \(base)_variables, "
          + "\(entries.count), \(base)_entries};")
      code.line("return &program;")
    }
  }

  static func role(_ role: VariableRole) -> String {
    switch role {
    case .parameter: "HW_PARAMETER"
    case .state: "HW_STATE"
    case .slot: "HW_SLOT"
    }
  }

  /// `kind, value, seed` fields of a variable's initialiser.
  static func initializer(_ initializer: Initializer) -> String {
    switch initializer {
    case .zeros: "HW_INIT_ZEROS, 0.0, 0ull"
    case .constant(let v): "HW_INIT_CONSTANT, \(v), 0ull"
    case .normal(let std, let seed): "HW_INIT_NORMAL, \(std), \(seed)ull"
    case .uniform(let bound, let seed): "HW_INIT_UNIFORM, \(bound), \(seed)ull"
    }
  }
}
