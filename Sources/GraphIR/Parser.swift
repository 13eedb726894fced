/// Reads the textual IR that `Printer` writes. Value numbers may be any distinct integers; they
/// are renumbered in order. Types are taken as written: run the verifier to check them.
public struct Parser {
  private var lexer: Lexer
  private var token: Token = .end
  private var tokenLine = 1

  private init(_ text: String) throws(IRError) {
    lexer = Lexer(text)
    try advance()
  }

  /// Parses a whole program.
  public static func parseProgram(_ text: String) throws(IRError) -> Program {
    var parser = try Parser(text)
    return try parser.program()
  }

  /// Parses the body of one entry point: node lines and output lines.
  public static func parseGraph(_ text: String) throws(IRError) -> Graph {
    var parser = try Parser(text)
    let graph = try parser.graphBody(until: .end)
    return graph
  }

  private mutating func advance() throws(IRError) {
    (token, tokenLine) = try lexer.next()
  }

  private func error(_ message: String) -> IRError {
    IRError(message: "line \(tokenLine): \(message), found \(describe(token))")
  }

  private func describe(_ token: Token) -> String {
    switch token {
    case .identifier(let s): "'\(s)'"
    case .string(let s): "\"\(s)\""
    case .number(let s): s
    case .value(let i): "%\(i)"
    case .punctuation(let c): "'\(c)'"
    case .end: "end of input"
    }
  }

  private mutating func expect(_ c: Character) throws(IRError) {
    guard token == .punctuation(c) else { throw error("expected '\(c)'") }
    try advance()
  }

  private mutating func keyword(_ word: String) throws(IRError) {
    guard token == .identifier(word) else { throw error("expected '\(word)'") }
    try advance()
  }

  private mutating func identifier() throws(IRError) -> String {
    guard case .identifier(let s) = token else { throw error("expected a name") }
    try advance()
    return s
  }

  private mutating func string() throws(IRError) -> String {
    guard case .string(let s) = token else { throw error("expected a quoted string") }
    try advance()
    return s
  }

  private mutating func number() throws(IRError) -> String {
    switch token {
    case .number(let s): try advance(); return s
    case .identifier(let s) where ["inf", "-inf", "nan"].contains(s): try advance(); return s
    default: throw error("expected a number")
    }
  }

  private mutating func int() throws(IRError) -> Int {
    let text = try number()
    guard let value = Int(text) else { throw error("expected an integer, got \(text)") }
    return value
  }

  private mutating func double() throws(IRError) -> Double {
    let text = try number()
    guard let value = Double(text) else { throw error("expected a number, got \(text)") }
    return value
  }

  private mutating func program() throws(IRError) -> Program {
    try keyword("program")
    var program = Program(name: try string())
    while token == .identifier("variable") {
      try advance()
      program.variables.append(try variable())
    }
    while token == .identifier("entry") {
      try advance()
      let name = try string()
      try expect("{")
      let graph = try graphBody(until: .punctuation("}"))
      try expect("}")
      program.entries.append(EntryPoint(name: name, graph: graph))
    }
    guard token == .end else { throw error("expected 'variable', 'entry' or the end") }
    return program
  }

  private mutating func variable() throws(IRError) -> Variable {
    let name = try string()
    try expect(":")
    let type = try tensorType()
    let roleName = try identifier()
    guard let role = VariableRole(rawValue: roleName) else {
      throw error("unknown variable role '\(roleName)'")
    }
    return Variable(name: name, type: type, role: role, initializer: try initializer())
  }

  private mutating func initializer() throws(IRError) -> Initializer {
    let kind = try identifier()
    if kind == "zeros" { return .zeros }
    try expect("(")
    let value = try double()
    var seed: UInt64 = 0
    if kind != "constant" {
      try expect(",")
      let text = try number()
      guard let value = UInt64(text) else { throw error("expected a seed, got \(text)") }
      seed = value
    }
    try expect(")")
    switch kind {
    case "constant": return .constant(value)
    case "normal": return .normal(std: value, seed: seed)
    case "uniform": return .uniform(bound: value, seed: seed)
    default: throw error("unknown initializer '\(kind)'")
    }
  }

  private mutating func tensorType() throws(IRError) -> TensorType {
    let dtypeName = try identifier()
    guard let dtype = DType(rawValue: dtypeName) else { throw error("unknown dtype") }
    return TensorType(dtype, try intList())
  }

  private mutating func intList() throws(IRError) -> [Int] {
    try expect("[")
    var values: [Int] = []
    while token != .punctuation("]") {
      if !values.isEmpty { try expect(",") }
      values.append(try int())
    }
    try advance()
    return values
  }

  private mutating func graphBody(until terminator: Token) throws(IRError) -> Graph {
    var graph = Graph()
    var numbering: [Int: NodeID] = [:]
    while token != terminator {
      if token == .identifier("output") {
        try advance()
        let name = try string()
        try expect("=")
        graph.outputs.append(GraphOutput(name: name, node: try operand(numbering)))
        continue
      }
      guard case .value(let number) = token else { throw error("expected '%N =' or 'output'") }
      guard numbering[number] == nil else { throw error("%\(number) is defined twice") }
      try advance()
      try expect("=")
      graph.nodes.append(try node(numbering))
      numbering[number] = NodeID(graph.nodes.count - 1)
    }
    return graph
  }

  private mutating func operand(_ numbering: [Int: NodeID]) throws(IRError) -> NodeID {
    guard case .value(let number) = token else { throw error("expected an operand '%N'") }
    guard let id = numbering[number] else { throw error("%\(number) is used before it is defined") }
    try advance()
    return id
  }

  private mutating func node(_ numbering: [Int: NodeID]) throws(IRError) -> Node {
    let mnemonic = try identifier()
    try expect("(")
    var operands: [NodeID] = []
    while token != .punctuation(")") {
      if !operands.isEmpty { try expect(",") }
      operands.append(try operand(numbering))
    }
    try advance()
    var attributes: [String: Attribute] = [:]
    if token == .punctuation("{") { attributes = try attributeDictionary() }
    let op: Op
    do { op = try Op(mnemonic: mnemonic, attributes: attributes) } catch {
      throw IRError(message: "line \(tokenLine): \(error.message)")
    }
    try expect(":")
    let type = try tensorType()
    var kernel: Int?
    if token == .identifier("kernel") {
      try advance()
      try expect("(")
      kernel = try int()
      try expect(")")
    }
    var location: SourceLocation?
    if token == .identifier("loc") {
      try advance()
      try expect("(")
      let file = try string()
      try expect(":")
      location = SourceLocation(file: file, line: try int())
      try expect(")")
    }
    return Node(op: op, operands: operands, type: type, location: location, kernel: kernel)
  }

  private mutating func attributeDictionary() throws(IRError) -> [String: Attribute] {
    try expect("{")
    var result: [String: Attribute] = [:]
    while token != .punctuation("}") {
      if !result.isEmpty { try expect(",") }
      let key = try identifier()
      try expect("=")
      result[key] = try attributeValue()
    }
    try advance()
    return result
  }

  private mutating func attributeValue() throws(IRError) -> Attribute {
    switch token {
    case .string(let s): try advance(); return .string(s)
    case .identifier("true"): try advance(); return .bool(true)
    case .identifier("false"): try advance(); return .bool(false)
    case .punctuation("["):
      try advance()
      var texts: [String] = []
      while token != .punctuation("]") {
        if !texts.isEmpty { try expect(",") }
        texts.append(try number())
      }
      try advance()
      if let ints = Optional(texts.compactMap { Int($0) }), ints.count == texts.count {
        return .ints(ints)
      }
      return .doubles(texts.compactMap { Double($0) })
    default:
      let text = try number()
      if let value = Int(text) { return .int(value) }
      guard let value = Double(text) else { throw error("bad number \(text)") }
      return .double(value)
    }
  }
}
