/// An attribute value in the textual IR: `{stride=2, perm=[1,0], name="x"}`.
public enum Attribute: Hashable, Sendable, CustomStringConvertible {
  case int(Int)
  case ints([Int])
  case double(Double)
  case doubles([Double])
  case string(String)
  case bool(Bool)

  public var description: String {
    switch self {
    case .int(let v): "\(v)"
    case .ints(let v): "[\(v.map(String.init).joined(separator: ","))]"
    case .double(let v): Self.format(v)
    case .doubles(let v): "[\(v.map(Self.format).joined(separator: ","))]"
    case .string(let v): "\"\(v)\""
    case .bool(let v): "\(v)"
    }
  }

  /// Doubles always carry a '.', 'e', "inf" or "nan" so the parser tells them from ints.
  static func format(_ value: Double) -> String {
    let text = "\(value)"
    return text.contains(where: { ".einf".contains($0) }) ? text : text + ".0"
  }
}

/// Named attributes of one op, in printing order.
public typealias Attributes = [(key: String, value: Attribute)]

/// Reads typed attributes for the parser, naming what is missing.
struct AttributeReader {
  var attributes: [String: Attribute]
  var mnemonic: String

  func value(_ key: String) throws(ShapeError) -> Attribute {
    guard let value = attributes[key] else {
      throw ShapeError("\(mnemonic) needs attribute '\(key)'")
    }
    return value
  }
  func int(_ key: String) throws(ShapeError) -> Int {
    guard case .int(let v) = try value(key) else { throw mismatch(key, "an integer") }
    return v
  }
  func ints(_ key: String) throws(ShapeError) -> [Int] {
    switch try value(key) {
    case .ints(let v): return v
    case .doubles(let v) where v.isEmpty: return []
    default: throw mismatch(key, "a list of integers")
    }
  }
  func double(_ key: String) throws(ShapeError) -> Double {
    switch try value(key) {
    case .double(let v): return v
    case .int(let v): return Double(v)
    default: throw mismatch(key, "a number")
    }
  }
  func doubles(_ key: String) throws(ShapeError) -> [Double] {
    switch try value(key) {
    case .doubles(let v): return v
    case .ints(let v): return v.map(Double.init)
    default: throw mismatch(key, "a list of numbers")
    }
  }
  func string(_ key: String) throws(ShapeError) -> String {
    guard case .string(let v) = try value(key) else { throw mismatch(key, "a string") }
    return v
  }
  func bool(_ key: String) throws(ShapeError) -> Bool {
    guard case .bool(let v) = try value(key) else { throw mismatch(key, "true or false") }
    return v
  }
  private func mismatch(_ key: String, _ expected: String) -> ShapeError {
    ShapeError("\(mnemonic) attribute '\(key)' must be \(expected)")
  }
}
