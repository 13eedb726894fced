import GraphCompiler
import GraphIR

/// Emits the kernels and the function of one entry point.
struct EntryEmitter {
  let entry: PlannedEntry
  let state: StateLayout
  let functionName: String
  let prefix: String

  var graph: Graph { entry.graph }

  func emit(into code: inout CodePrinter) {
    let names = BufferNames(graph, entry: prefix)
    emitConstants(names, into: &code)
    let kernels = graph.kernelMembers()
    var kernelNames: [String] = []
    for (index, members) in kernels.enumerated() {
      let main =
        members.last {
          graph[$0].op.fusionRole == .library || graph[$0].op.fusionRole == .reduction
        } ?? members.last!
      let name =
        "\(prefix)_k\(String(index).leftPadded(to: 3))_\(CSyntax.identifier(graph[main].op.mnemonic))"
      kernelNames.append(name)
      kernelEmitter(index, members, names, name).emit(into: &code)
      code.line()
    }
    let signature = "float *restrict state, char *restrict arena, const void *const *inputs"
    code.line(
      "/* Entry point '\(entry.name)': \(kernels.count) kernels, arena \(entry.memory.arenaBytes) bytes. */"
    )
    code.block("static void \(functionName)(\(signature))") { code in
      emitBindings(names, into: &code)
      for index in kernels.indices {
        emitCall(index, kernels[index], names, kernelNames[index], into: &code)
      }
      emitFinish(names, into: &code)
    }
    code.line()
    code.line(
      "/* Runs one kernel of '\(entry.name)' alone, on values already in place (kernel checks). */")
    code.block("static void \(functionName)_kernel(int kernel, \(signature))") { code in
      emitBindings(names, into: &code)
      code.block("switch (kernel)") { code in
        for index in kernels.indices {
          code.line("case \(index):")
          code.indented { code in
            emitCall(index, kernels[index], names, kernelNames[index], into: &code)
            code.line("break;")
          }
        }
        code.line("default:")
        code.indented { code in code.line("break;") }
      }
    }
    code.line()
    code.line("static const char *const \(functionName)_kernel_names[] = {")
    code.indented { code in
      for name in kernelNames { code.line(CSyntax.string(name) + ",") }
      if kernelNames.isEmpty { code.line("\"\",") }
    }
    code.line("};")
  }

  private func emitCall(
    _ index: Int, _ members: [NodeID], _ names: BufferNames, _ name: String,
    into code: inout CodePrinter
  ) {
    let emitter = kernelEmitter(index, members, names, name)
    var arguments = emitter.inputs.map { names.buffer($0)! } + members.map { names.buffer($0)! }
    if emitter.scratchBytes != nil {
      arguments.append("(float *)(arena + \(entry.memory.scratch[index]!.offset))")
    }
    code.line("\(name)(\(arguments.joined(separator: ", ")));")
  }

  private func kernelEmitter(
    _ index: Int, _ members: [NodeID], _ names: BufferNames, _ name: String
  )
    -> KernelEmitter
  {
    KernelEmitter(
      graph: graph, names: names, members: members, name: name,
      scratchBytes: entry.memory.scratch[index]?.bytes, inPlace: entry.memory.inPlace)
  }

  private func emitConstants(_ names: BufferNames, into code: inout CodePrinter) {
    for id in graph.ids {
      guard case .constant(.values(let values)) = graph[id].op, graph[id].kernel == nil else {
        continue
      }
      code.line("static const float \(names.buffer(id)!)[\(values.count)] = {")
      code.indented { code in code.line(values.map(CSyntax.float).joined(separator: ", ")) }
      code.line("};")
    }
  }

  /// Pointers to inputs, variables and arena values, named as the kernels' parameters.
  private func emitBindings(_ names: BufferNames, into code: inout CodePrinter) {
    for (index, input) in graph.inputs.enumerated() {
      let type = BufferNames.elementType(graph[input.id].type)
      code.line(
        "const \(type) *const \(names.buffer(input.id)!) = (const \(type) *)inputs[\(index)];")
    }
    for id in graph.ids {
      switch graph[id].op {
      case .variable(let name):
        code.line("float *const \(names.buffer(id)!) = state + \(state.offsets[name]! / 4);")
      default:
        if graph[id].kernel != nil {
          code.line(
            "float *const \(names.buffer(id)!) = (float *)(arena + \(entry.memory.offsets[id]!));")
        }
      }
    }
  }

  /// Outputs that are leaves are copied into the arena, then every state update is applied:
  /// all reads above saw the values the entry started with.
  private func emitFinish(_ names: BufferNames, into code: inout CodePrinter) {
    for output in graph.outputs where graph[output.node].kernel == nil {
      let bytes = graph[output.node].type.elementCount * 4
      code.line(
        "memcpy(arena + \(entry.memory.offsets[output.node]!), \(names.buffer(output.node)!), \(bytes));"
      )
    }
    for id in graph.ids {
      guard case .assign(let name) = graph[id].op else { continue }
      let source = graph[id].operands[0]
      let bytes = graph[id].type.elementCount * 4
      code.line(
        "memcpy(state + \(state.offsets[name]! / 4), \(names.buffer(source)!), \(bytes)); /* \(name) */"
      )
    }
  }
}

extension String {
  func leftPadded(to width: Int) -> String {
    String(repeating: "0", count: max(0, width - count)) + self
  }
}
