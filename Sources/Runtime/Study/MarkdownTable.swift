import Foundation

/// A Markdown (GitHub-flavoured) table whose columns line up in plain text too.
public struct MarkdownTable: Sendable, Equatable {
  /// How a column's cells are aligned.
  public enum Alignment: Sendable, Equatable {
    case left, right, center
  }

  /// The column titles.
  public var headers: [String]
  /// The cells, one array per row; short rows are padded with empty cells.
  public var rows: [[String]]
  /// One alignment per column.
  public var alignments: [Alignment]

  /// A table with the given headers and rows. Without `alignments`, a column whose cells are
  /// all numbers (or empty) is right-aligned and any other column left-aligned.
  public init(headers: [String], rows: [[String]], alignments: [Alignment]? = nil) {
    self.headers = headers
    self.rows = rows
    self.alignments =
      alignments
      ?? headers.indices.map { c in
        let cells = rows.compactMap { c < $0.count ? $0[c] : nil }.filter { !$0.isEmpty }
        let numeric = !cells.isEmpty && cells.allSatisfy(MarkdownTable.isNumber)
        return numeric ? .right : .left
      }
    precondition(self.alignments.count == headers.count, "one alignment per column")
  }

  /// The table as Markdown: header, alignment row and body, every cell padded to its column's
  /// width, each line ending in a newline. `|` inside cells is escaped.
  public func render() -> String {
    let columns = headers.count
    let cells = ([headers] + rows).map { row in
      (0..<columns).map { c in
        c < row.count ? row[c].replacingOccurrences(of: "|", with: "\\|") : ""
      }
    }
    let widths = (0..<columns).map { c in max(3, cells.map { $0[c].count }.max() ?? 0) }
    func line(_ row: [String]) -> String {
      let padded = (0..<columns).map { c in
        MarkdownTable.pad(row[c], to: widths[c], alignment: alignments[c])
      }
      return "| " + padded.joined(separator: " | ") + " |"
    }
    let rule = (0..<columns).map { c -> String in
      let dashes = String(repeating: "-", count: widths[c])
      switch alignments[c] {
      case .left: return ":" + dashes.dropFirst()
      case .right: return dashes.dropFirst() + ":"
      case .center: return ":" + dashes.dropFirst().dropFirst() + ":"
      }
    }
    let lines =
      [line(cells[0]), "| " + rule.joined(separator: " | ") + " |"]
      + cells.dropFirst().map(line)
    return lines.joined(separator: "\n") + "\n"
  }

  /// `text` padded with spaces to `width` characters.
  static func pad(_ text: String, to width: Int, alignment: Alignment) -> String {
    let gap = max(0, width - text.count)
    switch alignment {
    case .left: return text + String(repeating: " ", count: gap)
    case .right: return String(repeating: " ", count: gap) + text
    case .center:
      return String(repeating: " ", count: gap / 2) + text
        + String(repeating: " ", count: gap - gap / 2)
    }
  }

  /// Whether `text` reads as a number, allowing a trailing `%`.
  static func isNumber(_ text: String) -> Bool {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    let body = trimmed.hasSuffix("%") ? String(trimmed.dropLast()) : trimmed
    return Double(body) != nil
  }
}
