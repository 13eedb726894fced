import Foundation

extension SVGChart {
  /// A grouped bar chart (for example linear-probe and kNN accuracy per representation): one
  /// group per category along the horizontal axis, one coloured bar per series in each group,
  /// the value printed above each bar when there is room. The vertical axis always includes 0.
  public static func barChart(
    title: String, xLabel: String = "", yLabel: String, categories: [String],
    series: [BarSeries]
  ) -> String {
    for s in series {
      precondition(s.values.count == categories.count, "each series needs one value per category")
      precondition(s.errors.map { $0.count == categories.count } ?? true, "one error per value")
    }
    let tops = series.flatMap { s in s.values.indices.map { s.values[$0] + (s.errors?[$0] ?? 0) } }
    let values = (series.flatMap(\.values) + tops).filter(\.isFinite)
    let yAxis = ChartAxis.linear(min(0, values.min() ?? 0), max(0, values.max() ?? 1))
    var frame = ChartFrame()
    frame.fit(yLabels: yAxis.labels, legend: series.map(\.name))
    let count = Double(max(categories.count, 1))
    var band = frame.plotWidth / count
    let widest = categories.map { ChartFrame.textWidth($0, size: 11) }.max() ?? 0
    let slanted = widest > band - 6
    if slanted {
      // Labels slanted at 35 degrees: room below for their height and on the left for the
      // first one's width.
      frame.bottom += widest * 0.58
      frame.left = max(frame.left, widest * 0.82 - band / 2 + 10)
      band = frame.plotWidth / count
    }
    var canvas = SVGCanvas(frame: frame)
    canvas.title(title)
    canvas.yAxis(yAxis, label: yLabel)
    let barWidth = band * 0.8 / Double(max(series.count, 1))
    let zero = canvas.yPixel(yAxis.fraction(0) ?? 0)
    for (k, category) in categories.enumerated() {
      let groupLeft = frame.left + Double(k) * band + band * 0.1
      for (s, bars) in series.enumerated() {
        let value = bars.values[k]
        guard let f = yAxis.fraction(value) else { continue }
        let top = canvas.yPixel(f)
        let x = groupLeft + Double(s) * barWidth
        canvas.add(
          "<rect x=\"\(px(x + 1))\" y=\"\(px(min(top, zero)))\" width=\"\(px(barWidth - 2))\" "
            + "height=\"\(px(abs(zero - top)))\" fill=\"\(chartPalette[s % chartPalette.count])\"/>"
        )
        var labelTop = top
        if let error = bars.errors?[k], error > 0, let high = yAxis.fraction(value + error),
          let low = yAxis.fraction(value - error)
        {
          let (center, y1, y2) = (x + barWidth / 2, canvas.yPixel(high), canvas.yPixel(low))
          canvas.add(
            "<path d=\"M\(px(center)) \(px(y1))V\(px(y2))M\(px(center - 4)) \(px(y1))"
              + "H\(px(center + 4))M\(px(center - 4)) \(px(y2))H\(px(center + 4))\" "
              + "stroke=\"#222\" stroke-width=\"1.2\" fill=\"none\"/>")
          labelTop = min(top, y1)
        }
        let label = formatBarValue(value)
        if ChartFrame.textWidth(label, size: 10) <= barWidth + 4 {
          let y = value >= 0 ? labelTop - 8 : top + 8
          canvas.text(label, x: x + barWidth / 2, y: y, size: 10, fill: "#333")
        }
      }
      let center = frame.left + (Double(k) + 0.5) * band
      if slanted {
        canvas.text(
          category, x: center, y: frame.plotBottom + 12, size: 11, anchor: "end", rotate: -35)
      } else {
        canvas.text(category, x: center, y: frame.plotBottom + 14, size: 11)
      }
    }
    if yAxis.lower < 0 {
      canvas.add(
        "<line x1=\"\(px(frame.left))\" y1=\"\(px(zero))\" x2=\"\(px(frame.plotRight))\" "
          + "y2=\"\(px(zero))\" stroke=\"#444\" stroke-width=\"1\"/>")
    }
    canvas.text(xLabel, x: frame.left + frame.plotWidth / 2, y: frame.height - 16, size: 13)
    canvas.axisLines()
    canvas.legend(series.map(\.name), boxes: true)
    return canvas.render()
  }

  /// A bar's value with about three significant digits.
  static func formatBarValue(_ value: Double) -> String {
    switch abs(value) {
    case 100...: return String(format: "%.0f", value)
    case 10..<100: return String(format: "%.1f", value)
    case 1..<10: return String(format: "%.2f", value)
    default: return String(format: "%.3f", value)
    }
  }
}
