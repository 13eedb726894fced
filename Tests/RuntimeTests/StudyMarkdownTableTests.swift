import Runtime
import Testing

@Suite struct StudyMarkdownTableTests {
  @Test func `numeric columns are right-aligned and text columns left-aligned`() {
    let table = MarkdownTable(
      headers: ["representation", "probe", "kNN"],
      rows: [["backbone", "0.874", "86.2%"], ["head.linear2", "0.78", "76%"]])
    #expect(table.alignments == [.left, .right, .right])
    let expected = """
      | representation | probe |   kNN |
      | :------------- | ----: | ----: |
      | backbone       | 0.874 | 86.2% |
      | head.linear2   |  0.78 |   76% |

      """
    #expect(table.render() == expected)
  }

  @Test func `every line of a table has the same length and cells line up`() {
    let table = MarkdownTable(
      headers: ["a", "long header", "c"], rows: [["x", "1", "centre"], ["longer cell", "22"]],
      alignments: [.left, .right, .center])
    let lines = table.render().split(separator: "\n")
    #expect(lines.count == 4)
    #expect(Set(lines.map(\.count)).count == 1)
    #expect(lines[1] == "| :---------- | ----------: | :----: |")
    #expect(lines[2] == "| x           |           1 | centre |")
    #expect(lines[3] == "| longer cell |          22 |        |")
  }

  @Test func `pipes inside cells are escaped`() {
    let table = MarkdownTable(headers: ["h"], rows: [["a|b"]])
    #expect(table.render().contains("| a\\|b |"))
  }
}
