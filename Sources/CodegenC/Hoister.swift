import GraphCompiler

/// Loop-invariant subexpressions of one loop nest, computed once where the loop indices they
/// use are fixed instead of at every element: BatchNorm's `1 / sqrt(var + eps)` and the
/// per-channel products of its backward pass run once per channel, not once per pixel.
///
/// A costly expression (a square root, a division, `exp`, `log`) that varies only with the
/// innermost loop's index becomes a table over that loop, filled before the first loop: in a
/// channels-last nest that is BatchNorm's `1 / sqrt(var + eps)` per channel.
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
  private var definitions: [(level: Int, name: String, text: String, table: Bool)] = []
  private var names: [String: String] = [:]
  private var levels: [String: Int] = [:]
  private let innermostLoop: (index: String, extent: Int)?
  /// The buffers the nest stores: a table must not read them.
  private let written: Set<String>
  /// The names of the tables made so far.
  private var tables: Set<String> = []

  /// `loops`: the index variables outermost first; `closed`: positions whose body must begin
  /// with the next loop; `innermostExtent`: the innermost loop's trip count, to allow tables.
  init(
    loops: [String], closed: Set<Int>, prefix: String, inDouble: Bool,
    innermostExtent: Int? = nil, written: Set<String> = []
  ) {
    self.written = written
    self.prefix = prefix
    position = Dictionary(uniqueKeysWithValues: loops.enumerated().map { ($1, $0) })
    innermost = loops.count - 1
    openings = [-1] + (0..<max(innermost, 0)).filter { !closed.contains($0) }
    type = inDouble ? "double" : "float"
    // A table over the only loop would save nothing.
    innermostLoop =
      loops.count < 2 ? nil : innermostExtent.flatMap { extent in loops.last.map { ($0, extent) } }
  }

  /// The name of a hoisted copy of `text` (a table entry for a costly one that varies only in
  /// the innermost loop), or `text` itself when it varies in the innermost loop (or in a run
  /// that cannot take statements).
  func hoist(_ text: String) -> String {
    // The innermost loop of its indices, and of the hoisted values it reads.
    let identifiers = Self.identifiers(in: text)
    let level = identifiers.compactMap { position[$0] ?? levels[$0] }.max() ?? -1
    if level == innermost, let table = tableEntry(text, identifiers) { return table }
    guard let at = openings.first(where: { $0 >= level }), at < innermost else { return text }
    if let name = names[text] { return name }
    let name = "\(prefix)\(definitions.count)"
    definitions.append((at, name, text, false))
    names[text] = name
    levels[name] = at
    return name
  }

  /// `name[index]` of a table for a costly `text` that reads only the innermost index, values
  /// hoisted before the loops, other tables and buffers the nest does not write (a table is
  /// filled before the nest runs); nil for any other text.
  private func tableEntry(_ text: String, _ identifiers: Set<String>) -> String? {
    guard let (index, extent) = innermostLoop, extent <= 4096, Self.isCostly(text),
      identifiers.isDisjoint(with: written)
    else { return nil }
    for identifier in identifiers where identifier != index {
      if position[identifier] != nil { return nil }
      if let level = levels[identifier], level != -1, !tables.contains(identifier) { return nil }
    }
    if let entry = names[text] { return entry }
    let name = "\(prefix)\(definitions.count)"
    definitions.append((-1, name, text, true))
    tables.insert(name)
    levels[name] = innermost
    names[text] = "\(name)[\(index)]"
    return "\(name)[\(index)]"
  }

  private static let costlyNeedles = ["sqrt(", "exp(", "log(", " / "].map { Array($0.utf8) }

  private static func isCostly(_ text: String) -> Bool {
    // Byte search: this runs for most expressions of every kernel the compiler prints.
    let bytes = Array(text.utf8)
    return costlyNeedles.contains { needle in
      bytes.count >= needle.count
        && (0...(bytes.count - needle.count)).contains { start in
          bytes[start] == needle[0] && bytes[start..<(start + needle.count)].elementsEqual(needle)
        }
    }
  }

  /// The definitions that go at the top of the loop at `level` (-1: before the first loop), in
  /// the order they were made (every operand's definition comes first).
  func emit(at level: Int, into code: inout CodePrinter) {
    for definition in definitions where definition.level == level {
      if definition.table, let (index, extent) = innermostLoop {
        code.line("\(type) \(definition.name)[\(extent)];")
        code.block("for (int64_t \(index) = 0; \(index) < \(extent); \(index)++)") { code in
          code.line("\(definition.name)[\(index)] = \(definition.text);")
        }
      } else {
        code.line("const \(type) \(definition.name) = \(definition.text);")
      }
    }
  }

  /// The identifiers a C expression mentions (index variables, buffers, hoisted values).
  static func identifiers(in text: String) -> Set<String> {
    // ASCII bytes: generated expressions hold nothing else.
    var result = Set<String>()
    let bytes = Array(text.utf8)
    var start: Int?
    for index in 0...bytes.count {
      let byte = index < bytes.count ? bytes[index] : 0
      if byte.isIdentifierByte {
        if start == nil { start = index }
      } else if let first = start {
        if !bytes[first].isDigit {
          result.insert(String(decoding: bytes[first..<index], as: UTF8.self))
        }
        start = nil
      }
    }
    return result
  }
}
