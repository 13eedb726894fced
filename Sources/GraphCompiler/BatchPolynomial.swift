/// An integer that depends on the batch size N as a polynomial with integer coefficients
/// (`2 * n * 784`, `4 * n * n`), recovered from its values at two marker sizes.
///
/// Shapes are linear in N (the batch axis is N or 2N, or N times fixed dimensions after a
/// reshape), so the sizes, strides and counts computed from them are polynomials of low degree.
/// At a marker M much larger than any coefficient, a value's balanced base-M digits are its
/// coefficients; the value at the second marker confirms them.
public struct BatchPolynomial: Hashable, Sendable, CustomStringConvertible, CostNumber {
  /// Coefficients of n^0, n^1, ..., without trailing zeros.
  public var coefficients: [Int]

  /// The polynomial whose value is `first` at `GenericBatch.markers.0` and `second` at
  /// `.1`: a constant when they are equal, else nil when there is none of degree at most 3 with
  /// coefficients below half a marker.
  public init?(_ first: Int, _ second: Int) {
    if first == second {
      coefficients = first == 0 ? [] : [first]
      return
    }
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

  public static func + (a: BatchPolynomial, b: BatchPolynomial) -> BatchPolynomial {
    var sum = Array(repeating: 0, count: max(a.coefficients.count, b.coefficients.count))
    for (index, c) in a.coefficients.enumerated() { sum[index] += c }
    for (index, c) in b.coefficients.enumerated() { sum[index] += c }
    while sum.last == 0 { sum.removeLast() }
    return BatchPolynomial(coefficients: sum)
  }

  /// A constant.
  public init(_ constant: Int) { coefficients = constant == 0 ? [] : [constant] }

  public static func * (a: BatchPolynomial, b: BatchPolynomial) -> BatchPolynomial {
    guard !a.coefficients.isEmpty, !b.coefficients.isEmpty else { return .zero }
    var product = Array(repeating: 0, count: a.coefficients.count + b.coefficients.count - 1)
    for (i, x) in a.coefficients.enumerated() {
      for (j, y) in b.coefficients.enumerated() { product[i + j] += x * y }
    }
    while product.last == 0 { product.removeLast() }
    return BatchPolynomial(coefficients: product)
  }

  /// The polynomial 0.
  public static let zero = BatchPolynomial(coefficients: [])

  private init(coefficients: [Int]) { self.coefficients = coefficients }

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

  /// The coefficients of n^0, n^1 and n^2 as an `hw_poly` initializer (`{0, 2, 0}`); nil
  /// beyond degree 2.
  public var hwPoly: String? {
    guard coefficients.count <= 3 else { return nil }
    let padded = coefficients + Array(repeating: 0, count: 3 - coefficients.count)
    return "{\(padded.map(String.init).joined(separator: ", "))}"
  }

  /// The expression, parenthesised unless it is `n` alone.
  public var parenthesized: String {
    coefficients == [0, 1] ? "n" : "(\(description))"
  }
}
