import GraphCompiler
import GraphIR

/// Emits the tables the runtime reads: variables with their arena offsets and initialisers,
/// entry points with inputs, outputs, buffers, costs and schedule. Shapes and sizes that depend
/// on the batch size are `hw_poly`s.
struct TableEmitter {
  let generic: GenericProgram
  let base: String
  let schedules: [EntrySchedule]
  /// The translation unit's kernels table.
  let kernels: String

  func emit(into code: inout CodePrinter) throws {
    var declarations = CodePrinter()
    try emitTables(into: &declarations, then: &code)
  }

  private func emitTables(into code: inout CodePrinter, then output: inout CodePrinter) throws {
    var shapes: [String: String] = [:]  // dims -> name: tensors of one shape share one array
    func shape(_ a: TensorType, _ b: TensorType, _ place: String) throws -> String {
      let dims = try zip(a.shape, b.shape).map { x, y in
        try GenericBatch.polynomial(x, y, place: "the shape of \(place)").hwPoly!
      }
      let text = dims.isEmpty ? "{0}" : dims.joined(separator: ", ")
      if let name = shapes[text] { return name }
      let name = "\(base)_shape\(shapes.count + 1)"
      shapes[text] = name
      code.line("static const hw_poly \(name)[] = {\(text)};")
      return name
    }
    func tensor(_ name: String, _ a: TensorType, _ b: TensorType, offset: Int) throws -> String {
      let dtype = a.dtype == .f32 ? "HW_F32" : "HW_I32"
      return "{\(CSyntax.string(name)), \(dtype), \(a.rank), \(try shape(a, b, name)), \(offset)}"
    }
    let state = generic.first.state
    var variables: [String] = []
    for variable in state.variables {
      let t = try tensor(
        variable.name, variable.type, variable.type, offset: state.offsets[variable.name]!)
      variables.append(
        "{\(t), \(Self.role(variable.role)), \(Self.initializer(variable.initializer))}")
    }
    code.line(
      "/* Variables: {name, dtype, rank, shape, byte offset in the state arena}, role, initialiser,"
    )
    code.line(" * its value (the constant, the normal's std or the uniform's bound), its seed. */")
    code.line("static const hw_variable \(base)_variables[] = {")
    code.indented { code in for v in variables { code.line(v + ",") } }
    code.line("};")
    var entries: [[String]] = []
    for schedule in schedules {
      let (fields, lines) = try entry(schedule, tensor: tensor)
      for line in lines { code.line(line) }
      entries.append(fields)
    }
    code.line("static const hw_entry \(base)_entries[] = {")
    code.indented { code in
      for fields in entries {
        code.line("{" + fields[0] + ",")
        code.indented { code in
          for field in fields.dropFirst().dropLast() { code.line(field + ",") }
          code.line(fields.last! + "},")
        }
      }
    }
    code.line("};")
    let name = generic.first.program.name
    code.block("const hw_program *\(ProgramEmitter.accessorName(name))(void)") { code in
      code.line(
        "static const hw_program program = {.name = \(CSyntax.string(name)), "
          + ".state_bytes = \(state.bytes), .num_variables = \(variables.count), "
          + ".variables = \(base)_variables, .num_entries = \(entries.count), "
          + ".entries = \(base)_entries};")
      code.line("return &program;")
    }
    output.append(code)
  }

  /// The inputs and outputs tables of an entry, and the designated fields of its `hw_entry`.
  private func entry(
    _ schedule: EntrySchedule,
    tensor: (String, TensorType, TensorType, Int) throws -> String
  ) throws -> ([String], [String]) {
    let (a, b) = (schedule.entry.0.graph, schedule.entry.1.graph)
    let prefix = schedule.prefix
    let inputs = try zip(a.inputs, b.inputs).map { x, y in
      try tensor(x.name, a[x.id].type, b[y.id].type, 0)
    }
    // A loop's carried values are the schedule's business (`hw_loop`), not results.
    let results = zip(a.outputs, b.outputs).filter { !$0.0.name.hasPrefix("loop.") }
    let outputs = try results.map { x, y in
      try tensor(x.name, a[x.node].type, b[y.node].type, schedule.buffer(of: x.node))
    }
    let lines = [
      "static const hw_tensor \(prefix)_inputs[] = {\(inputs.joined(separator: ", "))};",
      "static const hw_tensor \(prefix)_outputs[] = {\(outputs.joined(separator: ", "))};",
    ]
    let costs = try schedule.costs()
    guard let flops = costs.flops.hwPoly, let bytes = costs.bytes.hwPoly else {
      throw GenericBatch.Mismatch(
        place: "the costs of '\(schedule.name)'", first: "\(costs)", second: "", context: "")
    }
    let fields =
      [
        "name = \(CSyntax.string(schedule.name))", "num_inputs = \(inputs.count)",
        "inputs = \(prefix)_inputs", "num_outputs = \(outputs.count)",
        "outputs = \(prefix)_outputs", "flops = \(flops)", "bytes_moved = \(bytes)",
      ] + (try schedule.tableFields(kernels: kernels))
    return (fields.map { "." + $0 }, lines)
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
