import Foundation

/// One named series of a line chart: `y[k]` plotted at `x[k]`.
public struct ChartSeries: Sendable, Equatable {
  /// The legend entry.
  public var name: String
  /// The horizontal coordinates.
  public var x: [Double]
  /// The vertical coordinates, one per element of `x`.
  public var y: [Double]

  /// A series of points (`x[k]`, `y[k]`).
  public init(name: String, x: [Double], y: [Double]) {
    precondition(x.count == y.count, "a series needs one y per x")
    (self.name, self.x, self.y) = (name, x, y)
  }

  /// A series plotted at x = 0, 1, 2, ...
  public init(name: String, y: [Double]) {
    self.init(name: name, x: y.indices.map(Double.init), y: y)
  }
}

/// One named series of a bar chart: `values[k]` is the bar in category `k`.
public struct BarSeries: Sendable, Equatable {
  /// The legend entry.
  public var name: String
  /// One value per category.
  public var values: [Double]
  /// Half-lengths of an error bar per category (none when nil).
  public var errors: [Double]?

  /// A series with one value per category, and optionally an error bar each.
  public init(name: String, values: [Double], errors: [Double]? = nil) {
    (self.name, self.values, self.errors) = (name, values, errors)
  }
}

/// Charts rendered as standalone SVG text (no dependencies): a white 760 x 460 canvas with a
/// title, labelled axes with tick values, light grid lines and a legend right of the plot.
public enum SVGChart {
  /// A line chart of several named series (for example the loss per step of each training
  /// mode). The ranges come from the data; with `logY` the vertical axis is logarithmic and
  /// points with y <= 0 are left out. Series of at most 40 points also get a dot per point.
  public static func lineChart(
    title: String, xLabel: String, yLabel: String, series: [ChartSeries], logY: Bool = false
  ) -> String {
    let xs = series.flatMap(\.x).filter(\.isFinite)
    let ys = series.flatMap(\.y).filter { $0.isFinite && (!logY || $0 > 0) }
    let xAxis = ChartAxis.linear(xs.min() ?? 0, xs.max() ?? 1)
    let yAxis =
      logY
      ? ChartAxis.logarithmic(ys.min() ?? 1, ys.max() ?? 10)
      : ChartAxis.linear(ys.min() ?? 0, ys.max() ?? 1)
    var frame = ChartFrame()
    frame.fit(yLabels: yAxis.labels, legend: series.map(\.name))
    var canvas = SVGCanvas(frame: frame)
    canvas.title(title)
    canvas.yAxis(yAxis, label: yLabel)
    canvas.xAxis(xAxis, label: xLabel)
    canvas.plotClip(id: "plot")
    for (k, s) in series.enumerated() {
      let color = chartPalette[k % chartPalette.count]
      let points: [(Double, Double)?] = zip(s.x, s.y).map { x, y in
        guard let fx = xAxis.fraction(x), let fy = yAxis.fraction(y) else { return nil }
        return (canvas.xPixel(fx), canvas.yPixel(fy))
      }
      canvas.add(polyline(points, color: color))
      if s.x.count <= 40 {
        for case let (x, y)? in points {
          canvas.add(
            "<circle cx=\"\(px(x))\" cy=\"\(px(y))\" r=\"3\" fill=\"\(color)\"/>")
        }
      }
    }
    canvas.axisLines()
    canvas.legend(series.map(\.name), boxes: false)
    return canvas.render()
  }

  /// The singular values of several representations against their index (1 = largest) on a
  /// logarithmic axis, one line per representation: the picture of dimensional collapse.
  /// With `normalized` each spectrum is divided by its largest value. Values <= 0 are left out.
  public static func spectrumChart(
    title: String, spectra: [(name: String, singularValues: [Double])], normalized: Bool = false
  ) -> String {
    let series = spectra.map { name, values in
      let largest = values.max() ?? 1
      let scaled = normalized && largest > 0 ? values.map { $0 / largest } : values
      return ChartSeries(name: name, x: scaled.indices.map { Double($0 + 1) }, y: scaled)
    }
    let yLabel = normalized ? "singular value / largest (log)" : "singular value (log)"
    return lineChart(
      title: title, xLabel: "index (largest first)", yLabel: yLabel, series: series, logY: true)
  }

  /// Writes `svg` to the file at `path` as UTF-8, replacing any file there.
  public static func writeSVG(_ svg: String, to path: String) throws {
    try svg.write(toFile: path, atomically: false, encoding: .utf8)
  }

  /// An SVG path through the drawable points, broken where a point is nil.
  static func polyline(_ points: [(Double, Double)?], color: String) -> String {
    var d = ""
    var pen = false
    for point in points {
      guard let (x, y) = point else {
        pen = false
        continue
      }
      d += (pen ? " L" : " M") + "\(px(x)),\(px(y))"
      pen = true
    }
    return "<path d=\"\(d.dropFirst())\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" "
      + "stroke-linejoin=\"round\" clip-path=\"url(#plot)\"/>"
  }
}
