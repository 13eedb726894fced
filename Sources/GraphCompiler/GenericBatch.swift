/// The batch size as a symbol. A program is compiled at two marker batch sizes, far larger than
/// any dimension of a model and than any batch anyone trains with, and the two results are
/// compared token by token: every integer that differs is a function of the batch size
/// (recovered exactly as a `BatchPolynomial`), every other token must be the same. What makes
/// this sound is that the two compilations took the same decisions (the same kernels, order,
/// in-place stores and loop structure); where they did not, or where a number that is not an
/// integer changed, the texts disagree and the program is rejected with the place named.
public enum GenericBatch {
  /// The two marker sizes (no model dimension, and no product of the few dimensions a
  /// coefficient multiplies, comes near half of them).
  public static let markers = (10_000_019, 10_000_079)

  /// A difference between the two compilations that is no polynomial in the batch size.
  public struct Mismatch: Error, CustomStringConvertible {
    public var place: String
    public var first: String
    public var second: String
    public var context: String

    package init(place: String, first: String, second: String, context: String) {
      (self.place, self.first, self.second, self.context) = (place, first, second, context)
    }

    public var description: String {
      "\(place) is not generic in the batch size: '\(first)' at batch \(markers.0) but "
        + "'\(second)' at batch \(markers.1), in: \(context)"
    }
  }

  /// The polynomial of degree at most 2 (what an `hw_poly` holds) whose values at the two
  /// markers are `first` and `second`; `place` names the value in the error.
  public static func polynomial(
    _ first: Int, _ second: Int, place: String
  ) throws(Mismatch) -> BatchPolynomial {
    guard let polynomial = BatchPolynomial(first, second), polynomial.coefficients.count <= 3
    else {
      throw Mismatch(place: place, first: "\(first)", second: "\(second)", context: "")
    }
    return polynomial
  }

  /// Pairs the texts of one thing compiled at the two markers, replacing every integer that
  /// differs by `replace(polynomial)`; `place` names the thing in errors.
  public static func pair(
    _ first: String, _ second: String, place: String, replace: (BatchPolynomial) -> String
  ) throws(Mismatch) -> String {
    if first == second { return first }
    // Bytes, not Characters: the compiler pairs every kernel it prints, twice per entry.
    let (a, b) = (Array(first.utf8), Array(second.utf8))
    let (x, y) = (tokens(a), tokens(b))
    var result: [UInt8] = []
    result.reserveCapacity(a.count + 64)
    for index in 0..<max(x.count, y.count) {
      let u = index < x.count ? a[x[index]] : []
      let v = index < y.count ? b[y[index]] : []
      if u.elementsEqual(v) {
        result += u
      } else if let p = Int(String(decoding: u, as: UTF8.self)),
        let q = Int(String(decoding: v, as: UTF8.self)), let polynomial = BatchPolynomial(p, q)
      {
        result += Array(replace(polynomial).utf8)
      } else {
        let near = x[max(0, index - 12)..<min(x.count, index + 4)]
        let context = near.map { String(decoding: a[$0], as: UTF8.self) }.joined()
        throw Mismatch(
          place: place, first: String(decoding: u, as: UTF8.self),
          second: String(decoding: v, as: UTF8.self), context: context)
      }
    }
    return String(decoding: result, as: UTF8.self)
  }

  /// Numbers (digits with an optional fraction and exponent, kept whole so that a float's
  /// digits are never read as integers), identifiers, runs of spaces, and single other bytes;
  /// concatenated they give the text back.
  static func tokens(_ text: [UInt8]) -> [Range<Int>] {
    var result: [Range<Int>] = []
    var index = 0
    func skip(_ accept: (UInt8) -> Bool) {
      while index < text.count && accept(text[index]) { index += 1 }
    }
    while index < text.count {
      let start = index
      let byte = text[index]
      if byte.isDigit {
        skip(\.isDigit)
        if index + 1 < text.count, text[index] == UInt8(ascii: "."), text[index + 1].isDigit {
          index += 1
          skip(\.isDigit)
        }
        if index + 1 < text.count,
          text[index] == UInt8(ascii: "e") || text[index] == UInt8(ascii: "E")
        {
          var next = index + 1
          if text[next] == UInt8(ascii: "-") || text[next] == UInt8(ascii: "+") { next += 1 }
          if next < text.count, text[next].isDigit {
            index = next
            skip(\.isDigit)
          }
        }
      } else if byte.isIdentifierByte {
        skip(\.isIdentifierByte)
      } else if byte == UInt8(ascii: " ") {
        skip { $0 == UInt8(ascii: " ") }
      } else {
        index += 1
      }
      result.append(start..<index)
    }
    return result
  }
}

extension UInt8 {
  /// An ASCII digit.
  package var isDigit: Bool { self >= 0x30 && self <= 0x39 }
  /// An ASCII letter, digit or underscore.
  package var isIdentifierByte: Bool {
    isDigit || (self >= 0x41 && self <= 0x5A) || (self >= 0x61 && self <= 0x7A) || self == 0x5F
  }
}
