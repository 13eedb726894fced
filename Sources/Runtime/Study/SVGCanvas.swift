import Foundation

/// An SVG document under construction: a chart's frame, title, axes, legend and marks.
struct SVGCanvas {
  var frame: ChartFrame
  private var elements: [String] = []

  init(frame: ChartFrame) { self.frame = frame }

  /// The finished document.
  func render() -> String {
    let (w, h) = (px(frame.width), px(frame.height))
    var lines = [
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(w)\" height=\"\(h)\" "
        + "viewBox=\"0 0 \(w) \(h)\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">",
      "<rect x=\"0\" y=\"0\" width=\"\(w)\" height=\"\(h)\" fill=\"white\"/>",
    ]
    lines += elements
    lines.append("</svg>")
    return lines.joined(separator: "\n") + "\n"
  }

  /// Adds a raw SVG element.
  mutating func add(_ element: String) { elements.append(element) }

  /// Adds `text` anchored at (`x`, `y`), vertically centred on `y`, optionally rotated.
  mutating func text(
    _ text: String, x: Double, y: Double, size: Double = 12, anchor: String = "middle",
    bold: Bool = false, rotate: Double = 0, fill: String = "#222"
  ) {
    let weight = bold ? " font-weight=\"bold\"" : ""
    let transform =
      rotate == 0 ? "" : " transform=\"rotate(\(px(rotate)) \(px(x)) \(px(y)))\""
    add(
      "<text x=\"\(px(x))\" y=\"\(px(y))\" dy=\"0.35em\" font-size=\"\(px(size))\" "
        + "text-anchor=\"\(anchor)\" fill=\"\(fill)\"\(weight)\(transform)>"
        + "\(xmlEscaped(text))</text>")
  }

  /// The chart title, centred above the plot area.
  mutating func title(_ title: String) {
    text(title, x: frame.width / 2, y: 22, size: 16, bold: true)
  }

  /// The pixel row of a value at `fraction` of the vertical axis.
  func yPixel(_ fraction: Double) -> Double { frame.plotBottom - fraction * frame.plotHeight }

  /// The pixel column of a value at `fraction` of the horizontal axis.
  func xPixel(_ fraction: Double) -> Double { frame.left + fraction * frame.plotWidth }

  /// Horizontal grid lines and tick labels of `axis`, and the rotated axis label.
  mutating func yAxis(_ axis: ChartAxis, label: String) {
    for (tick, name) in zip(axis.ticks, axis.labels) {
      guard let f = axis.fraction(tick) else { continue }
      let y = px(yPixel(f))
      add(
        "<line x1=\"\(px(frame.left))\" y1=\"\(y)\" x2=\"\(px(frame.plotRight))\" y2=\"\(y)\" "
          + "stroke=\"#e3e3e3\" stroke-width=\"1\"/>")
      text(name, x: frame.left - 7, y: yPixel(f), size: 11, anchor: "end")
    }
    text(label, x: 16, y: frame.top + frame.plotHeight / 2, size: 13, rotate: -90)
  }

  /// Vertical grid lines and tick labels of `axis`, and the axis label below them.
  mutating func xAxis(_ axis: ChartAxis, label: String) {
    for (tick, name) in zip(axis.ticks, axis.labels) {
      guard let f = axis.fraction(tick) else { continue }
      let x = px(xPixel(f))
      add(
        "<line x1=\"\(x)\" y1=\"\(px(frame.top))\" x2=\"\(x)\" y2=\"\(px(frame.plotBottom))\" "
          + "stroke=\"#e3e3e3\" stroke-width=\"1\"/>")
      text(name, x: xPixel(f), y: frame.plotBottom + 14, size: 11)
    }
    text(label, x: frame.left + frame.plotWidth / 2, y: frame.height - 16, size: 13)
  }

  /// The left and bottom axis lines, drawn over the grid.
  mutating func axisLines() {
    let (l, b) = (px(frame.left), px(frame.plotBottom))
    add(
      "<path d=\"M\(l),\(px(frame.top)) L\(l),\(b) L\(px(frame.plotRight)),\(b)\" "
        + "fill=\"none\" stroke=\"#444\" stroke-width=\"1\"/>")
  }

  /// A legend right of the plot area: one entry per name, in palette order, with a line
  /// sample (`boxes` false) or a filled square (`boxes` true).
  mutating func legend(_ names: [String], boxes: Bool) {
    guard !names.isEmpty else { return }
    let x = frame.plotRight + 14
    let height = Double(names.count) * 20 + 8
    let width = frame.width - x - 6
    add(
      "<rect x=\"\(px(x - 6))\" y=\"\(px(frame.top))\" width=\"\(px(width))\" "
        + "height=\"\(px(height))\" fill=\"white\" stroke=\"#cccccc\"/>")
    for (k, name) in names.enumerated() {
      let y = frame.top + 14 + Double(k) * 20
      let color = chartPalette[k % chartPalette.count]
      if boxes {
        add(
          "<rect x=\"\(px(x))\" y=\"\(px(y - 6))\" width=\"18\" height=\"12\" "
            + "fill=\"\(color)\"/>")
      } else {
        add(
          "<line x1=\"\(px(x))\" y1=\"\(px(y))\" x2=\"\(px(x + 18))\" y2=\"\(px(y))\" "
            + "stroke=\"\(color)\" stroke-width=\"2.5\"/>")
      }
      text(name, x: x + 24, y: y, size: 12, anchor: "start")
    }
  }

  /// A clip path named `id` around the plot area.
  mutating func plotClip(id: String) {
    add(
      "<clipPath id=\"\(id)\"><rect x=\"\(px(frame.left))\" y=\"\(px(frame.top))\" "
        + "width=\"\(px(frame.plotWidth))\" height=\"\(px(frame.plotHeight))\"/></clipPath>")
  }
}
