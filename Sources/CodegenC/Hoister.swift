/// Loop-invariant subexpressions of one loop nest, computed once where the loop indices they
/// use are fixed instead of at every element: BatchNorm's `1 / sqrt(var + eps)` and the
/// per-channel products of its backward pass run once per channel, not once per pixel.
///
/// A hoisted value is the same double expression computed at an outer level, so results are
/// bitwise unchanged. Statements can go before the first loop and at the top of any loop body
/// except inside a `collapse` or `omp simd` run, which must stay perfectly nested; an expression
/// whose innermost index is inside such a run stays where it is.
final class Hoister {
  /// Each index variable's loop position, outermost 0.
  private let position: [String: Int]
  /// Positions whose loop body may start with statements (-1: before the first loop).
  private let openings: [Int]
  private let innermost: Int
  private let type: String
  private let prefix: String
  private var definitions: [(level: Int, name: String, text: String)] = []
  private var names: [String: String] = [:]
  private var levels: [String: Int] = [:]

  /// `loops`: the index variables outermost first; `closed`: positions whose body must begin
  /// with the next loop.
  init(loops: [String], closed: Set<Int>, prefix: String, inDouble: Bool) {
    self.prefix = prefix
    position = Dictionary(uniqueKeysWithValues: loops.enumerated().map { ($1, $0) })
    innermost = loops.count - 1
    openings = [-1] + (0..<max(innermost, 0)).filter { !closed.contains($0) }
    type = inDouble ? "double" : "float"
  }

  /// The name of a hoisted copy of `text`, or `text` itself when it varies in the innermost
  /// loop (or in a run that cannot take statements).
  func hoist(_ text: String) -> String {
    // The innermost loop of its indices, and of the hoisted values it reads.
    let level = Self.identifiers(in: text).compactMap { position[$0] ?? levels[$0] }.max() ?? -1
    guard let at = openings.first(where: { $0 >= level }), at < innermost else { return text }
    if let name = names[text] { return name }
    let name = "\(prefix)\(definitions.count)"
    definitions.append((at, name, text))
    names[text] = name
    levels[name] = at
    return name
  }

  /// The definitions that go at the top of the loop at `level` (-1: before the first loop), in
  /// the order they were made (every operand's definition comes first).
  func emit(at level: Int, into code: inout CodePrinter) {
    for definition in definitions where definition.level == level {
      code.line("const \(type) \(definition.name) = \(definition.text);")
    }
  }

  /// The identifiers a C expression mentions (index variables, buffers, hoisted values).
  static func identifiers(in text: String) -> Set<String> {
    var result = Set<String>()
    var current = ""
    for character in text {
      if character.isLetter || character.isNumber || character == "_" {
        current.append(character)
      } else if !current.isEmpty {
        if !current.first!.isNumber { result.insert(current) }
        current = ""
      }
    }
    if !current.isEmpty && !current.first!.isNumber { result.insert(current) }
    return result
  }
}
