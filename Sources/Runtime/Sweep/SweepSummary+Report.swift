import Foundation

extension SweepSummary {
  /// results.md: the backbone's scores per configuration, the paired differences against the
  /// baseline, every layer's scores, and the plots.
  public func markdown(header: String) -> String {
    var text = header + "\n\n## Backbone output (`features`), mean ± std over seeds\n\n"
    text += backboneTable() + "\n\n## Paired difference against `\(baseline)` (95% t interval)\n\n"
    text += differenceTable() + "\n\n## Every layer, mean ± std over seeds\n\n" + layerTable()
    text += "\n\n![accuracy](accuracy.svg)\n\n![spectra](spectra.svg)\n\n"
    text += "![online probe](curves.svg)\n"
    return text
  }

  /// The backbone row of every configuration, as a Markdown table.
  public func backboneTable() -> String {
    MarkdownTable(
      headers: [
        "configuration", "seeds", "linear probe", "kNN", "effective rank", "alignment",
        "uniformity", "steps", "s/step",
      ],
      rows: configurations.map { c in
        let f = c.layers.first { $0.name == "features" }
        return [
          c.name, String(c.seeds.count), f.map { Self.percent($0.linearProbe) } ?? "",
          f.map { Self.percent($0.knn) } ?? "", f.map { Self.plain($0.effectiveRank, 1) } ?? "",
          f.map { Self.plain($0.alignment, 3) } ?? "", f.map { Self.plain($0.uniformity, 3) } ?? "",
          String(c.steps), Self.plain(c.secondsPerStep, 3),
        ]
      }
    ).render()
  }

  func differenceTable() -> String {
    MarkdownTable(
      headers: ["configuration", "layer", "linear probe", "kNN"],
      rows: configurations.filter { $0.name != baseline }.flatMap { c in
        c.layers.map { layer in
          [
            c.name, layer.name, Self.difference(layer.linearProbeVersusBaseline),
            Self.difference(layer.knnVersusBaseline),
          ]
        }
      }
    ).render()
  }

  func layerTable() -> String {
    MarkdownTable(
      headers: [
        "configuration", "layer", "dims", "linear probe", "probe refit gap", "kNN",
        "effective rank", "alignment", "uniformity",
      ],
      rows: configurations.flatMap { c in
        c.layers.map { l in
          [
            c.name, l.name, String(l.dimensions), Self.percent(l.linearProbe),
            l.linearProbeRefitGap.map { String(format: "%.2f", 100 * $0) } ?? "",
            Self.percent(l.knn),
            Self.plain(l.effectiveRank, 1), Self.plain(l.alignment, 3),
            Self.plain(l.uniformity, 3),
          ]
        }
      }
    ).render()
  }

  static func percent(_ e: SeedEstimate) -> String {
    String(format: "%.2f%%", 100 * e.mean)
      + (e.std.map { String(format: " ± %.2f", 100 * $0) } ?? "")
  }

  static func plain(_ e: SeedEstimate, _ digits: Int) -> String {
    String(format: "%.\(digits)f", e.mean)
      + (e.std.map { String(format: " ± %.\(digits)f", $0) } ?? "")
  }

  /// "+0.31 [-0.10, +0.72] points", with "(above)" or "(below)" when the interval excludes 0.
  static func difference(_ d: PairedDifference?) -> String {
    guard let d else { return "" }
    var text = String(format: "%+.2f", 100 * d.mean)
    if let low = d.low, let high = d.high {
      text += String(format: " [%+.2f, %+.2f]", 100 * low, 100 * high)
    }
    text += " points"
    if d.excludesZero { text += d.mean > 0 ? " (above)" : " (below)" }
    return text
  }

  /// accuracy.svg, spectra.svg and curves.svg in `directory`.
  public func writePlots(to directory: String) throws {
    let backbone = configurations.compactMap { c in
      c.layers.first { $0.name == "features" }.map { (c, $0) }
    }
    try SVGChart.writeSVG(
      SVGChart.barChart(
        title: "Backbone test accuracy (mean ± std over seeds)", yLabel: "accuracy",
        categories: backbone.map(\.0.name),
        series: [
          BarSeries(
            name: "linear probe", values: backbone.map(\.1.linearProbe.mean),
            errors: backbone.map { $0.1.linearProbe.std ?? 0 }),
          BarSeries(
            name: "kNN (k=200)", values: backbone.map(\.1.knn.mean),
            errors: backbone.map { $0.1.knn.std ?? 0 }),
        ]), to: directory + "/accuracy.svg")
    try SVGChart.writeSVG(
      SVGChart.spectrumChart(
        title: "Singular values of the backbone's test features (mean over seeds)",
        spectra: backbone.map { ($0.0.name, $0.1.normalizedSpectrum) }, normalized: true),
      to: directory + "/spectra.svg")
    let curves = configurations.filter { !$0.probeCurve.isEmpty }.map { c in
      let bins = Double(c.probeCurve.count)
      return ChartSeries(
        name: c.name, x: c.probeCurve.indices.map { Double(c.steps) * (Double($0) + 0.5) / bins },
        y: c.probeCurve)
    }
    try SVGChart.writeSVG(
      SVGChart.lineChart(
        title: "Online linear probe on the training batches (mean over seeds)", xLabel: "step",
        yLabel: "accuracy", series: curves), to: directory + "/curves.svg")
  }
}
