/// An integer that depends on the batch size N as a polynomial with integer coefficients
/// (`2 * n * 784`, `4 * n * n`), recovered from its values at two marker sizes.
///
/// Shapes are linear in N (the batch axis is N or 2N, or N times fixed dimensions after a
/// reshape), so the sizes, strides and counts computed from them are polynomials of low degree.
/// At a marker M much larger than any coefficient, a value's balanced base-M digits are its
/// coefficients; the value at the second marker confirms them.
public struct BatchPolynomial: Hashable, Sendable, CustomStringConvertible {
  /// Coefficients of n^0, n^1, ..., without trailing zeros.
  public var coefficients: [Int]

  /// The polynomial whose value is `first` at `GenericBatch.markers.0` and `second` at
  /// `.1`; nil when there is none of degree at most 3 with coefficients below half a marker.
  public init?(_ first: Int, _ second: Int) {
    let marker = GenericBatch.markers.0
    var digits: [Int] = []
    var rest = first
    while rest != 0 && digits.count < 4 {
      var digit = rest % marker
      if digit > marker / 2 { digit -= marker }
      if digit < -marker / 2 { digit += marker }
      digits.append(digit)
      rest = (rest - digit) / marker
    }
    guard rest == 0 else { return nil }
    coefficients = digits
    guard evaluate(GenericBatch.markers.1) == second else { return nil }
  }

  /// The value at batch size `n`.
  public func evaluate(_ n: Int) -> Int {
    coefficients.reversed().reduce(0) { $0 * n + $1 }
  }

  /// The C expression in `n`, highest power first: `2 * n * 784` reads `1568 * n`.
  public var description: String {
    var terms: [String] = []
    for (power, coefficient) in coefficients.enumerated().reversed() where coefficient != 0 {
      let factors = Array(repeating: "n", count: power)
      let magnitude = abs(coefficient)
      let term =
        power == 0
        ? "\(magnitude)"
        : (magnitude == 1 ? factors : ["\(magnitude)"] + factors).joined(
          separator: " * ")
      if terms.isEmpty {
        terms.append(coefficient < 0 ? "-" + term : term)
      } else {
        terms.append((coefficient < 0 ? "- " : "+ ") + term)
      }
    }
    return terms.isEmpty ? "0" : terms.joined(separator: " ")
  }

  /// The expression, parenthesised unless it is `n` alone.
  public var parenthesized: String {
    coefficients == [0, 1] ? "n" : "(\(description))"
  }
}
