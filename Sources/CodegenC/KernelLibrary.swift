import GraphIR

/// The distinct kernels and constant arrays of one translation unit. A computation that
/// several entries, inner steps or batch sizes perform prints the same text (parameters are
/// named by position), so it is emitted once and every schedule calls that one function.
struct KernelLibrary {
  /// Prefix of every function and constant: the first program's name.
  let prefix: String
  private var kernels: [(name: String, provenance: String, text: String, parameters: Int)] = []
  private var kernelsByText: [String: Int] = [:]
  private var constants: [(name: String, values: String, count: Int)] = []
  private var constantsByValues: [String: String] = [:]

  init(prefix: String) { self.prefix = prefix }

  /// The number of distinct kernels so far.
  var kernelCount: Int { kernels.count }

  /// The index of the function computing `kernel` in the kernels table, emitting it if it is
  /// new.
  mutating func function(for kernel: KernelEmitter) -> Int {
    // A placeholder as long as the name, so that the signature wraps the same.
    let placeholder = "\(prefix)_kXXXX_\(kernel.mnemonic)"
    var code = CodePrinter()
    kernel.emit(named: placeholder, into: &code)
    if let index = kernelsByText[code.text] { return index }
    let name = "\(prefix)_k\(String(kernels.count).leftPadded(to: 4))_\(kernel.mnemonic)"
    precondition(name.count == placeholder.count, "more than 10,000 kernels in one file")
    kernelsByText[code.text] = kernels.count
    let text = code.text.replacing(placeholder, with: name)
    kernels.append((name, kernel.provenance, text, kernel.parameters.count))
    return kernels.count - 1
  }

  /// The C name of function `index`.
  func name(_ index: Int) -> String { kernels[index].name }

  /// The kernels table every entry's `kernels` field points at.
  var table: String { "\(prefix)_kernels" }

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
  /// the schedules call through: `a` holds one pointer per parameter), then their table.
  func emit(into code: inout CodePrinter) {
    for constant in constants {
      code.line("static const float \(constant.name)[\(constant.count)] = {")
      code.indented { code in code.line(constant.values) }
      code.line("};")
      code.line()
    }
    for kernel in kernels {
      code.line("/* \(kernel.provenance) */")
      code.verbatim(kernel.text)
      code.block("static void \(kernel.name)_launch(void *const *a)") { code in
        let arguments = (0..<kernel.parameters).map { "a[\($0)]" }
        code.wrapped("\(kernel.name)(", arguments, ");")
      }
      code.line()
    }
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
}

extension String {
  func leftPadded(to width: Int) -> String {
    String(repeating: "0", count: max(0, width - count)) + self
  }
}
