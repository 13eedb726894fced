import GraphCompiler
import GraphIR

/// The distinct kernels and constant arrays of one translation unit. A computation that
/// several entries or inner steps perform prints the same text (parameters are named by
/// position), so it is emitted once and every schedule calls that one function. Each kernel is
/// printed from the program at both markers of `GenericBatch` and the two texts paired: what
/// depends on the batch size becomes an expression in the parameter `n`, so one function
/// serves every batch size.
struct KernelLibrary {
  /// Prefix of every function and constant: the first program's name.
  let prefix: String
  private var kernels: [(name: String, provenance: String, text: String, parameters: [String])] =
    []
  private var kernelsByText: [String: Int] = [:]
  private var layerNamed: Set<Int> = []
  private var constants: [(name: String, values: String, count: Int)] = []
  private var constantsByValues: [String: String] = [:]

  init(prefix: String) { self.prefix = prefix }

  /// The number of distinct kernels so far.
  var kernelCount: Int { kernels.count }

  /// The index of the function computing a kernel (`pair`: the same kernel of the program at
  /// the two markers) in the kernels table, emitting it if it is new.
  mutating func function(for pair: (KernelEmitter, KernelEmitter)) throws -> Int {
    var (first, second) = pair
    // A placeholder as long as the name, so that the signature wraps the same.
    let placeholder = "\(prefix)_kXXXX_\(first.mnemonic)"
    var (text, usesBatch) = try Self.generic(first, second, named: placeholder)
    if usesBatch {
      (first.takesBatch, second.takesBatch) = (true, true)
      text = try Self.generic(first, second, named: placeholder).text
    }
    if let index = kernelsByText[text] { return index }
    let name = "\(prefix)_k\(String(kernels.count).leftPadded(to: 4))_\(first.mnemonic)"
    precondition(name.count == placeholder.count, "more than 10,000 kernels in one file")
    kernelsByText[text] = kernels.count
    var arguments = (0..<first.buffers).map { "a[\($0)]" }
    if first.takesBatch { arguments.insert("c->n", at: 0) }
    if first.takesSpareBytes { arguments.append("c->scratch_bytes") }
    let provenance = try GenericBatch.pair(
      first.provenance, second.provenance, place: "kernel '\(first.provenance)'"
    ) { $0.description.replacing(" ", with: "") }
    kernels.append((name, provenance, text.replacing(placeholder, with: name), arguments))
    return kernels.count - 1
  }

  /// The index of the function running an optimizer call (the same for every batch size),
  /// emitting it if it is new; its launcher passes the argument pointers on.
  mutating func function(for optimizer: OptimizerCall) -> Int {
    let placeholder = "\(prefix)_kXXXX_\(optimizer.mnemonic)"
    var code = CodePrinter()
    optimizer.emit(named: placeholder, into: &code)
    if let index = kernelsByText[code.text] { return index }
    let name = "\(prefix)_k\(String(kernels.count).leftPadded(to: 4))_\(optimizer.mnemonic)"
    kernelsByText[code.text] = kernels.count
    kernels.append(
      (name, optimizer.provenance, code.text.replacing(placeholder, with: name), ["a"]))
    return kernels.count - 1
  }

  /// The kernel's text with every number that depends on the batch size as an expression in
  /// `n`, and the parallel loops' conditions kept only where they do.
  private static func generic(
    _ first: KernelEmitter, _ second: KernelEmitter, named name: String
  ) throws -> (text: String, usesBatch: Bool) {
    var a = CodePrinter()
    first.emit(named: name, into: &a)
    var b = CodePrinter()
    second.emit(named: name, into: &b)
    var usesBatch = false
    let text = try GenericBatch.pair(a.text, b.text, place: "kernel '\(first.provenance)'") {
      usesBatch = true
      return $0.parenthesized
    }
    return (text.replacing(/\ if\(\d+ >= \d+\)/, with: ""), usesBatch)
  }

  /// Puts the layer into the name of each function that every call uses for the same layer
  /// (`paths`: the DSL paths of each function's calls, nil for a call outside any layer):
  /// `fmnist_resnet_small_k0003_backbone_block1_reduce_mean`. A function shared by several
  /// layers keeps its op alone; the call tables name the layer of every call.
  mutating func nameLayers(_ paths: [Int: Set<String?>]) {
    for (index, layers) in paths where layers.count == 1 {
      guard let path = layers.first!, !path.isEmpty else { continue }
      let old = kernels[index].name
      let number = old.dropFirst(prefix.count + 1).prefix(5)
      let op = old.dropFirst(prefix.count + 7)
      let name = "\(prefix)_\(number)_\(CSyntax.identifier(path))_\(op)"
      kernels[index].name = name
      kernels[index].text = kernels[index].text.replacing(old, with: name)
      layerNamed.insert(index)
    }
  }

  /// Whether function `index` carries its layer in its name.
  func hasLayerName(_ index: Int) -> Bool { layerNamed.contains(index) }

  /// The C name of function `index`.
  func name(_ index: Int) -> String { kernels[index].name }

  /// The kernels table every entry's `kernels` field points at.
  var table: String { "\(prefix)_kernels" }

  /// The C names of the constant arrays a graph's kernels read (unstored `values` constants),
  /// adding them to the library.
  mutating func constants(of graph: Graph) -> [NodeID: String] {
    var names: [NodeID: String] = [:]
    for id in graph.ids {
      if case .constant(.values(let values)) = graph[id].op, graph[id].kernel == nil {
        names[id] = constant(values)
      }
    }
    return names
  }

  /// The name of the static array holding `values`.
  mutating func constant(_ values: [Double]) -> String {
    let text = values.map(CSyntax.float).joined(separator: ", ")
    if let name = constantsByValues[text] { return name }
    let name = "\(prefix)_c\(constants.count)"
    constantsByValues[text] = name
    constants.append((name, text, values.count))
    return name
  }

  /// The constants, then each kernel with its provenance and its launcher (the one signature
  /// the schedules call through: `a` holds one pointer per buffer, `c` the batch size and the
  /// scratch's size), then their table. The kernels are split in two halves by size, so that
  /// clang compiles them on two cores: the first half goes into `code` with the table, the
  /// second into `other` (another translation unit), whose launchers `code` declares.
  func emit(into code: inout CodePrinter, other: inout CodePrinter) {
    for constant in constants {
      code.line("const float \(constant.name)[\(constant.count)] = {")
      code.indented { code in code.line(constant.values) }
      code.line("};")
      other.line("extern const float \(constant.name)[\(constant.count)];")
    }
    code.line()
    other.line()
    let total = kernels.reduce(0) { $0 + $1.text.utf8.count }
    var size = 0
    let split = kernels.firstIndex {
      size += $0.text.utf8.count; return 2 * size > total
    }
    let firstHalf = split.map { $0 + 1 } ?? kernels.count
    for kernel in kernels[firstHalf...] {
      code.line("void \(kernel.name)_launch(void *const *a, const hw_call_context *c);")
    }
    if firstHalf < kernels.count { code.line() }
    for kernel in kernels[..<firstHalf] { Self.emit(kernel, linkage: "static ", into: &code) }
    for kernel in kernels[firstHalf...] { Self.emit(kernel, linkage: "", into: &other) }
    guard !kernels.isEmpty else { return }
    code.line("static const hw_kernel \(table)[] = {")
    code.indented { code in
      for kernel in kernels {
        code.line("{\(CSyntax.string(kernel.name)), \(kernel.name)_launch},")
      }
    }
    code.line("};")
    code.line()
  }

  private static func emit(
    _ kernel: (name: String, provenance: String, text: String, parameters: [String]),
    linkage: String, into code: inout CodePrinter
  ) {
    code.line("/* \(kernel.provenance) */")
    code.verbatim(kernel.text)
    let signature = "\(linkage)void \(kernel.name)_launch(void *const *a, const hw_call_context *c)"
    code.block(signature) { code in
      if !kernel.parameters.contains(where: { $0.hasPrefix("c->") }) { code.line("(void)c;") }
      code.wrapped("\(kernel.name)(", kernel.parameters, ");")
    }
    code.line()
  }
}

extension String {
  func leftPadded(to width: Int) -> String {
    String(repeating: "0", count: max(0, width - count)) + self
  }
}
