import Foundation
import Runtime
import Testing

#if canImport(FoundationXML)
  import FoundationXML
#endif

/// Parses `svg` as XML and collects the element names and the text content, a line per element.
final class SVGProbe: NSObject, XMLParserDelegate {
  var text = ""
  var elements: [String] = []
  var parsed = false

  init(_ svg: String) {
    super.init()
    let parser = XMLParser(data: Data(svg.utf8))
    parser.delegate = self
    parsed = parser.parse()
  }

  func parser(
    _ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
    qualifiedName: String?, attributes: [String: String] = [:]
  ) { elements.append(name) }

  func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

  func parser(
    _ parser: XMLParser, didEndElement name: String, namespaceURI: String?,
    qualifiedName: String?
  ) { text += "\n" }
}

@Suite struct StudyChartTests {
  let steps = (0..<500).map(Double.init)

  @Test func `a line chart is well-formed XML with its title, labels and series names`() {
    let svg = SVGChart.lineChart(
      title: "Loss per step", xLabel: "step", yLabel: "InfoNCE loss",
      series: [
        ChartSeries(name: "joint", x: steps, y: steps.map { 5 * exp(-$0 / 100) + 1 }),
        ChartSeries(name: "bilevel <k=5> & co", y: steps.map { 4 * exp(-$0 / 50) + 1 }),
      ])
    let probe = SVGProbe(svg)
    #expect(probe.parsed)
    for needle in ["Loss per step", "step", "InfoNCE loss", "joint", "bilevel <k=5> & co"] {
      #expect(probe.text.contains(needle), "missing \(needle)")
    }
    #expect(probe.elements.first == "svg")
    #expect(probe.elements.filter { $0 == "path" }.count >= 3)
    // Tick values of the x axis 0...500.
    #expect(probe.text.contains("500") && probe.text.contains("\n0\n"))
  }

  @Test func `a logarithmic line chart has power-of-ten ticks and skips non-positive values`() {
    let svg = SVGChart.lineChart(
      title: "Log", xLabel: "x", yLabel: "y",
      series: [ChartSeries(name: "s", y: [1e-3, 0.01, 0, 0.1, 1, 10])], logY: true)
    let probe = SVGProbe(svg)
    #expect(probe.parsed)
    for tick in ["0.001", "0.01", "0.1", "\n1\n", "\n10\n"] { #expect(probe.text.contains(tick)) }
    // The zero splits the line in two pieces.
    #expect(svg.components(separatedBy: " M").count == 2)
  }

  @Test func `a bar chart is well-formed XML with categories, series and value labels`() {
    let svg = SVGChart.barChart(
      title: "Accuracy per layer", yLabel: "accuracy",
      categories: ["backbone", "head 1", "head out"],
      series: [
        BarSeries(name: "linear probe", values: [0.87, 0.85, 0.78]),
        BarSeries(name: "kNN", values: [0.86, 0.83, 0.76]),
      ])
    let probe = SVGProbe(svg)
    #expect(probe.parsed)
    for needle in ["Accuracy per layer", "accuracy", "backbone", "head out", "kNN", "0.870"] {
      #expect(probe.text.contains(needle), "missing \(needle)")
    }
    // Background, six bars, two legend swatches.
    #expect(probe.elements.filter { $0 == "rect" }.count == 1 + 6 + 1 + 2)
  }

  @Test func `a spectrum chart plots each representation on a log axis`() {
    let svg = SVGChart.spectrumChart(
      title: "Spectra",
      spectra: [
        (name: "backbone", singularValues: (1...64).map { 100 / Double($0) }),
        (name: "projection", singularValues: (1...64).map { $0 <= 4 ? 50 : 1e-6 }),
      ])
    let probe = SVGProbe(svg)
    #expect(probe.parsed)
    for needle in ["Spectra", "backbone", "projection", "singular value (log)", "1e-6", "100"] {
      #expect(probe.text.contains(needle), "missing \(needle)")
    }
  }

  @Test func `empty and constant data still give well-formed charts`() {
    #expect(SVGProbe(SVGChart.lineChart(title: "t", xLabel: "x", yLabel: "y", series: [])).parsed)
    let flat = SVGChart.lineChart(
      title: "t", xLabel: "x", yLabel: "y", series: [ChartSeries(name: "c", y: [2, 2, 2])])
    #expect(SVGProbe(flat).parsed && !flat.contains("nan") && !flat.contains("inf"))
    let bars = SVGChart.barChart(title: "t", yLabel: "y", categories: [], series: [])
    #expect(SVGProbe(bars).parsed)
  }

  @Test func `writeSVG writes the text to the file`() throws {
    let directory = TemporaryDirectory()
    let path = directory.file("chart.svg")
    let svg = SVGChart.barChart(
      title: "t", yLabel: "y", categories: ["a"], series: [BarSeries(name: "s", values: [1])])
    try SVGChart.writeSVG(svg, to: path)
    #expect(try String(contentsOfFile: path, encoding: .utf8) == svg)
  }
}
