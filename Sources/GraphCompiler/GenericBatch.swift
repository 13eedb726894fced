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

  /// Pairs the texts of one thing compiled at the two markers, replacing every integer that
  /// differs by `replace(polynomial)`; `place` names the thing in errors.
  public static func pair(
    _ first: String, _ second: String, place: String, replace: (BatchPolynomial) -> String
  ) throws(Mismatch) -> String {
    if first == second { return first }
    let a = tokens(first)
    let b = tokens(second)
    var result = ""
    result.reserveCapacity(first.utf8.count)
    var index = 0
    while index < a.count || index < b.count {
      let (x, y) = (index < a.count ? a[index] : "", index < b.count ? b[index] : "")
      if x == y {
        result += x
      } else if let u = Int(x), let v = Int(y), let polynomial = BatchPolynomial(u, v) {
        result += replace(polynomial)
      } else {
        let context = a[max(0, index - 12)..<min(a.count, index + 4)].joined()
        throw Mismatch(place: place, first: String(x), second: String(y), context: context)
      }
      index += 1
    }
    return result
  }

  /// Numbers (digits with an optional fraction and exponent), identifiers, runs of spaces, and
  /// single other characters; concatenated they give the text back.
  static func tokens(_ text: String) -> [Substring] {
    var result: [Substring] = []
    var index = text.startIndex
    while index < text.endIndex {
      let start = index
      let c = text[index]
      if c.isNumber && c.isASCII {
        index = text[index...].firstIndex { !($0.isASCII && $0.isNumber) } ?? text.endIndex
        index = number(text, from: start, digitsEnd: index)
      } else if c.isLetter || c == "_" {
        index =
          text[index...].firstIndex { !($0.isLetter || $0.isNumber || $0 == "_") }
          ?? text.endIndex
      } else if c == " " {
        index = text[index...].firstIndex { $0 != " " } ?? text.endIndex
      } else {
        index = text.index(after: index)
      }
      result.append(text[start..<index])
    }
    return result
  }

  /// The end of a number whose leading digits end at `digitsEnd`: a fraction and exponent make
  /// it a float token, kept whole so that its digits are never read as integers.
  private static func number(
    _ text: String, from start: String.Index, digitsEnd: String.Index
  ) -> String.Index {
    var index = digitsEnd
    func digits(_ from: String.Index) -> String.Index {
      text[from...].firstIndex { !($0.isASCII && $0.isNumber) } ?? text.endIndex
    }
    if index < text.endIndex, text[index] == ".", text.index(after: index) < text.endIndex,
      text[text.index(after: index)].isNumber
    {
      index = digits(text.index(after: index))
    }
    if index < text.endIndex, text[index] == "e" || text[index] == "E" {
      var next = text.index(after: index)
      if next < text.endIndex, text[next] == "-" || text[next] == "+" {
        next = text.index(after: next)
      }
      if next < text.endIndex, text[next].isNumber { index = digits(next) }
    }
    return index
  }
}
