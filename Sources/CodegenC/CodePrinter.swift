/// Accumulates C source line by line with two-space indentation.
struct CodePrinter {
  private(set) var text = ""
  private var depth = 0

  mutating func line(_ content: String = "") {
    text += content.isEmpty ? "\n" : String(repeating: "  ", count: depth) + content + "\n"
  }

  /// `header {` ... `}` with the body indented.
  mutating func block(_ header: String, _ body: (inout CodePrinter) -> Void) {
    line(header + " {")
    depth += 1
    body(&self)
    depth -= 1
    line("}")
  }

  /// Another printer's lines, indented at this printer's depth.
  mutating func append(_ other: CodePrinter) {
    for line in other.text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
      self.line(String(line))
    }
  }

  /// `head`, the items separated by ", ", then `tail`; when a line would pass `width` columns
  /// the items go on continuation lines indented twice more.
  mutating func wrapped(_ head: String, _ items: [String], _ tail: String, width: Int = 120) {
    let indent = String(repeating: "  ", count: depth)
    var current = indent + head
    for (index, item) in items.enumerated() {
      let piece = item + (index == items.count - 1 ? tail : ",")
      if index == 0 {
        current += piece
      } else if current.count + 1 + piece.count > width {
        text += current + "\n"
        current = indent + "    " + piece
      } else {
        current += " " + piece
      }
    }
    if items.isEmpty { current += tail }
    text += current + "\n"
  }

  /// A block whose header is `head`, the items and `) {`, wrapped as `wrapped` does.
  mutating func block(
    _ head: String, wrapping items: [String], _ body: (inout CodePrinter) -> Void
  ) {
    wrapped(head, items, ") {")
    depth += 1
    body(&self)
    depth -= 1
    line("}")
  }

  /// `text` with every line longer than `width` columns broken at spaces into continuation
  /// lines indented four columns more (never inside a string literal, never a preprocessor
  /// line: a pragma cannot continue without a backslash). Run on whole files after the
  /// kernels are paired and shared, so the breaks change nothing the compiler compares.
  static func wrappingLongLines(_ text: String, width: Int = 120) -> String {
    var result: [Substring] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
      guard line.count > width, !line.drop(while: { $0 == " " }).hasPrefix("#") else {
        result.append(line)
        continue
      }
      let indent = String(repeating: " ", count: line.prefix { $0 == " " }.count + 4)
      var rest = Substring(line)
      var first = true
      while rest.count > width - (first ? 0 : indent.count) {
        let limit = width - (first ? 0 : indent.count)
        guard let cut = breakPoint(in: rest, limit: limit) else { break }
        result.append((first ? "" : Substring(indent)) + rest[..<cut])
        rest = rest[rest.index(after: cut)...]
        first = false
      }
      result.append(first ? rest : Substring(indent) + rest)
    }
    return result.joined(separator: "\n")
  }

  /// The last space within `limit` columns outside string literals and past the indentation,
  /// or the first such space when none is that early.
  private static func breakPoint(in line: Substring, limit: Int) -> String.Index? {
    var inString = false
    var last: String.Index?
    var column = 0
    var index = line.startIndex
    let indentation = line.prefix { $0 == " " }.count
    while index < line.endIndex {
      let c = line[index]
      if c == "\"" && (index == line.startIndex || line[line.index(before: index)] != "\\") {
        inString.toggle()
      } else if c == " " && !inString && column > indentation {
        if column <= limit || last == nil { last = index }
        if column > limit { break }
      }
      column += 1
      index = line.index(after: index)
    }
    return last
  }

  /// Text that is already formatted, appended as it is.
  mutating func verbatim(_ formatted: String) { text += formatted }

  mutating func indented(_ body: (inout CodePrinter) -> Void) {
    depth += 1
    body(&self)
    depth -= 1
  }
}

/// C spellings of names and numbers.
public enum CSyntax {
  /// A C identifier from any name: letters, digits and underscores only.
  static func identifier(_ name: String) -> String {
    var result = String(name.map { $0.isLetter || $0.isNumber ? $0 : "_" })
    if let first = result.first, first.isNumber { result = "_" + result }
    return result
  }

  /// A float literal that reads back as the same float.
  static func float(_ value: Double) -> String {
    if value.isNaN { return "NAN" }
    if value.isInfinite { return value > 0 ? "INFINITY" : "(-INFINITY)" }
    let single = Float(value)
    var text = "\(single)"
    if !text.contains(".") && !text.contains("e") { text += ".0" }
    return text.hasPrefix("-") ? "(\(text)f)" : text + "f"
  }

  /// A C string literal.
  static func string(_ value: String) -> String {
    var result = "\""
    for character in value {
      if character == "\\" || character == "\"" { result.append("\\") }
      result.append(character)
    }
    return result + "\""
  }
}

extension CSyntax {
  /// `FMNISTResNetSmall` from `graphs/FMNISTResNetSmall.swift`.
  public static func fileBase(_ path: String) -> String {
    let name = path.split(separator: "/").last.map(String.init) ?? path
    return name.hasSuffix(".swift") ? String(name.dropLast(6)) : name
  }
}
