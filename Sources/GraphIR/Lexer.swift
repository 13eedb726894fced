/// Tokens of the textual IR.
enum Token: Hashable {
  case identifier(String)
  case string(String)
  case number(String)
  case value(Int)
  case punctuation(Character)
  case end
}

/// Splits textual IR into tokens, remembering each token's line for error messages.
struct Lexer {
  private let characters: [Character]
  private var position = 0
  private(set) var line = 1

  init(_ text: String) { characters = Array(text) }

  mutating func next() throws(IRError) -> (Token, Int) {
    skipSpaceAndComments()
    guard position < characters.count else { return (.end, line) }
    let c = characters[position]
    let startLine = line
    if c == "\"" { return (.string(try readString()), startLine) }
    if c == "%" {
      position += 1
      let digits = read { $0.isNumber }
      guard let index = Int(digits) else { throw error("expected a value number after '%'") }
      return (.value(index), startLine)
    }
    if c.isNumber || (c == "-" && peek(1)?.isNumber == true) {
      return (.number(read { $0.isNumber || "+-.e".contains($0) }), startLine)
    }
    if c.isLetter || c == "_" || c == "-" {
      return (.identifier(read { $0.isLetter || $0.isNumber || "_-".contains($0) }), startLine)
    }
    position += 1
    return (.punctuation(c), startLine)
  }

  private func peek(_ offset: Int) -> Character? {
    position + offset < characters.count ? characters[position + offset] : nil
  }

  private mutating func read(while accept: (Character) -> Bool) -> String {
    let start = position
    while position < characters.count, accept(characters[position]) { position += 1 }
    return String(characters[start..<position])
  }

  private mutating func readString() throws(IRError) -> String {
    position += 1
    let text = read { $0 != "\"" && $0 != "\n" }
    guard position < characters.count, characters[position] == "\"" else {
      throw error("unterminated string")
    }
    position += 1
    return text
  }

  private mutating func skipSpaceAndComments() {
    while position < characters.count {
      let c = characters[position]
      if c == "\n" {
        line += 1
        position += 1
      } else if c.isWhitespace {
        position += 1
      } else if c == "/", peek(1) == "/" {
        _ = read { $0 != "\n" }
      } else {
        return
      }
    }
  }

  func error(_ message: String) -> IRError {
    IRError(message: "line \(line): \(message)")
  }
}
