/// A JSON value and the file offset where it starts.
struct JSONNode {
  struct Member {
    var key: String
    var keyAt: Int
    var value: JSONNode
  }
  indirect enum Kind {
    case object([Member]), array([JSONNode]), string(String), number(String), literal(String)

    /// How messages refer to a value of this kind.
    var name: String {
      switch self {
      case .object: "an object"
      case .array: "an array"
      case .string(let text): "the string \(quoted(text))"
      case .number(let text): "the number \(text)"
      case .literal(let text): text
      }
    }
  }
  var at: Int
  var kind: Kind
}

/// A small strict JSON parser (RFC 8259) that keeps integers as text, so offsets of any size
/// are exact, keeps duplicate keys, so they can be reported, and records where values start.
struct JSONParser {
  let text: [UInt8]
  /// The file offset of `text[0]`.
  let base: Int
  let file: String
  var i = 0

  init(text: [UInt8], base: Int, file: String) {
    (self.text, self.base, self.file) = (text, base, file)
  }

  func fail(_ message: String, at position: Int? = nil) -> CheckpointError {
    CheckpointError(file: file, offset: base + (position ?? i), message: "header JSON: \(message)")
  }

  /// What is at the current position, for messages.
  var here: String {
    guard i < text.count else { return "the end of the header" }
    return text[i] < 0x80 ? "'\(Unicode.Scalar(text[i]))'" : "a non-ASCII character"
  }

  mutating func document() throws(CheckpointError) -> JSONNode {
    let root = try value(depth: 0)
    skipSpace()
    guard i == text.count else { throw fail("unexpected \(here) after the top-level value") }
    return root
  }

  mutating func skipSpace() {
    while i < text.count, [9, 10, 13, 32].contains(text[i]) { i += 1 }
  }

  mutating func consume(_ c: Unicode.Scalar) -> Bool {
    skipSpace()
    guard i < text.count, text[i] == UInt8(ascii: c) else { return false }
    i += 1
    return true
  }

  mutating func digits() -> Int {
    let start = i
    while i < text.count, (48...57).contains(text[i]) { i += 1 }
    return i - start
  }

  mutating func value(depth: Int) throws(CheckpointError) -> JSONNode {
    skipSpace()
    guard depth < 64 else { throw fail("nested more than 64 levels deep") }
    guard i < text.count else { throw fail("unexpected end of the header, expected a value") }
    let start = i
    func node(_ kind: JSONNode.Kind) -> JSONNode { JSONNode(at: base + start, kind: kind) }
    switch text[i] {
    case UInt8(ascii: "{"):
      i += 1
      var members: [JSONNode.Member] = []
      if consume("}") { return node(.object(members)) }
      repeat {
        skipSpace()
        let keyAt = i
        guard i < text.count, text[i] == UInt8(ascii: "\"") else {
          throw fail("expected a string key, found \(here)")
        }
        let key = try string()
        guard consume(":") else { throw fail("expected ':' after a key, found \(here)") }
        members.append(.init(key: key, keyAt: base + keyAt, value: try value(depth: depth + 1)))
      } while consume(",")
      guard consume("}") else { throw fail("expected ',' or '}' in an object, found \(here)") }
      return node(.object(members))
    case UInt8(ascii: "["):
      i += 1
      var items: [JSONNode] = []
      if consume("]") { return node(.array(items)) }
      repeat { items.append(try value(depth: depth + 1)) } while consume(",")
      guard consume("]") else { throw fail("expected ',' or ']' in an array, found \(here)") }
      return node(.array(items))
    case UInt8(ascii: "\""):
      return node(.string(try string()))
    case UInt8(ascii: "-"), 48...57:
      if text[i] == UInt8(ascii: "-") { i += 1 }
      let leadingZero = i < text.count && text[i] == 48
      let count = digits()
      guard count == 1 || (count > 1 && !leadingZero) else {
        throw fail("malformed number", at: start)
      }
      if i < text.count, text[i] == UInt8(ascii: ".") {
        i += 1
        guard digits() > 0 else { throw fail("malformed number", at: start) }
      }
      if i < text.count, text[i] | 0x20 == UInt8(ascii: "e") {
        i += 1
        if i < text.count, text[i] == UInt8(ascii: "+") || text[i] == UInt8(ascii: "-") { i += 1 }
        guard digits() > 0 else { throw fail("malformed number", at: start) }
      }
      return node(.number(String(decoding: text[start..<i], as: UTF8.self)))
    default:
      for word in ["true", "false", "null"] where text[i...].starts(with: word.utf8) {
        i += word.utf8.count
        return node(.literal(word))
      }
      throw fail("unexpected \(here), expected a value")
    }
  }

  /// Parses the string starting at the current '"', escapes included.
  mutating func string() throws(CheckpointError) -> String {
    let start = i
    i += 1
    var out: [UInt8] = []
    while i < text.count {
      let c = text[i]
      i += 1
      switch c {
      case UInt8(ascii: "\""): return String(decoding: out, as: UTF8.self)
      case 0..<0x20: throw fail("unescaped control character in a string", at: i - 1)
      case UInt8(ascii: "\\") where i < text.count:
        let escape = text[i]
        i += 1
        if let byte = escapes[escape] {
          out.append(byte)
          continue
        }
        guard escape == UInt8(ascii: "u") else { throw fail("invalid escape", at: i - 2) }
        var scalar = try hex4()
        if (0xD800..<0xDC00).contains(scalar), text[i...].starts(with: "\\u".utf8) {
          i += 2
          let low = try hex4()
          guard (0xDC00..<0xE000).contains(low) else { throw fail("invalid surrogate pair") }
          scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let unicode = Unicode.Scalar(scalar) else { throw fail("lone surrogate in \\u") }
        out += String(unicode).utf8
      default: out.append(c)
      }
    }
    throw fail("unterminated string", at: start)
  }

  mutating func hex4() throws(CheckpointError) -> UInt32 {
    let end = min(i + 4, text.count)
    guard end == i + 4, text[i..<end].allSatisfy({ Character(Unicode.Scalar($0)).isHexDigit }),
      let value = UInt32(String(decoding: text[i..<end], as: UTF8.self), radix: 16)
    else { throw fail("expected four hex digits after \\u") }
    i = end
    return value
  }
}

/// The byte each one-character JSON escape stands for.
let escapes: [UInt8: UInt8] = [
  34: 34, 92: 92, 47: 47, 98: 8, 102: 12, 110: 10, 114: 13, 116: 9,
]

/// `text` as a JSON string literal (also how messages quote names).
func quoted(_ text: String) -> String {
  var out = "\""
  for scalar in text.unicodeScalars {
    switch scalar {
    case "\"", "\\": out += "\\" + String(scalar)
    case "\0"..<" ":
      let hex = String(scalar.value, radix: 16)
      out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
    default: out.unicodeScalars.append(scalar)
    }
  }
  return out + "\""
}
