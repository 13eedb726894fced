import Foundation

/// A quantity over seeds: its mean and sample standard deviation (nil for one seed).
public struct SeedEstimate: Codable, Sendable, Equatable {
  public var mean: Double
  public var std: Double?
  public var count: Int

  public init(_ values: [Double]) {
    count = values.count
    mean = values.reduce(0, +) / Double(max(values.count, 1))
    let m = mean
    std =
      values.count > 1
      ? (values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
      : nil
  }
}

/// The mean paired difference of a configuration against the baseline over the seeds both ran,
/// with its 95% Student-t interval (nil bounds for one seed).
public struct PairedDifference: Codable, Sendable, Equatable {
  public var mean: Double
  public var low: Double?
  public var high: Double?
  public var seeds: Int

  public init(_ differences: [Double]) {
    let estimate = SeedEstimate(differences)
    (mean, seeds) = (estimate.mean, differences.count)
    if let std = estimate.std {
      let half =
        Self.tQuantile975(degrees: differences.count - 1) * std
        / Double(differences.count).squareRoot()
      (low, high) = (mean - half, mean + half)
    }
  }

  /// Whether the interval lies above zero (below: `excludesZero && mean < 0`).
  public var excludesZero: Bool { (low ?? 0) > 0 || (high ?? 0) < 0 }

  /// The 97.5% quantile of Student's t with `degrees` degrees of freedom (table to 30, then
  /// the normal's 1.96; values from any statistics table).
  static func tQuantile975(degrees: Int) -> Double {
    let table = [
      12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
      2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
      2.052, 2.048, 2.045, 2.042,
    ]
    return degrees >= 1 && degrees <= table.count ? table[degrees - 1] : 1.96
  }
}

/// The sweep's results: per configuration and layer, the seeds' mean and spread of every
/// measurement, and the paired difference against the baseline.
public struct SweepSummary: Codable, Sendable {
  public struct LayerSummary: Codable, Sendable {
    public var name: String
    public var dimensions: Int
    public var linearProbe, knn, effectiveRank, alignment, uniformity: SeedEstimate
    /// Singular values over the largest, averaged over seeds.
    public var normalizedSpectrum: [Double]
    /// The largest |refit - fit| of the probe's test accuracy over seeds (nil without refits):
    /// how far the figure depends on where its optimiser started.
    public var linearProbeRefitGap: Double?
    /// Against the baseline's same layer (nil for the baseline itself).
    public var linearProbeVersusBaseline, knnVersusBaseline: PairedDifference?
  }

  public struct ConfigurationSummary: Codable, Sendable {
    public var name: String
    public var arguments: [String]
    public var seeds: [UInt64]
    public var steps: Int
    public var secondsPerStep, trainSeconds: SeedEstimate
    public var layers: [LayerSummary]
    /// The online probe's and the kNN's curves, averaged over seeds.
    public var probeCurve, knnCurve: [Double]
  }

  public var baseline: String
  public var configurations: [ConfigurationSummary]
  public var cells: [SweepCell]

  public init(spec: SweepSpec, cells: [SweepCell]) {
    baseline = spec.baseline
    self.cells = cells
    let base = cells.filter { $0.configuration == spec.baseline }
    configurations = spec.configurations.map { configuration in
      let mine = cells.filter { $0.configuration == configuration.name }
      let layers = (mine.first?.layers ?? []).map { layer in
        Self.summarize(
          layer.name, mine, baseline: configuration.name == spec.baseline ? nil : base)
      }
      return ConfigurationSummary(
        name: configuration.name, arguments: configuration.arguments, seeds: mine.map(\.seed),
        steps: mine.map(\.steps).max() ?? 0,
        secondsPerStep: SeedEstimate(mine.map(\.secondsPerStep)),
        trainSeconds: SeedEstimate(mine.map(\.trainSeconds)), layers: layers,
        probeCurve: Self.meanCurve(mine.map(\.probeCurve)),
        knnCurve: Self.meanCurve(mine.map(\.knnCurve)))
    }
  }

  static func summarize(_ name: String, _ cells: [SweepCell], baseline: [SweepCell]?)
    -> LayerSummary
  {
    let layers = cells.compactMap { $0.layer(name) }
    func paired(_ value: (StudyReport.Layer) -> Double) -> PairedDifference? {
      guard let baseline else { return nil }
      let differences = cells.compactMap { cell -> Double? in
        guard let mine = cell.layer(name),
          let theirs = baseline.first(where: { $0.seed == cell.seed })?.layer(name)
        else { return nil }
        return value(mine) - value(theirs)
      }
      return differences.isEmpty ? nil : PairedDifference(differences)
    }
    let spectra = layers.map { layer in
      layer.singularValues.map { $0 / max(layer.singularValues.first ?? 1, 1e-30) }
    }
    return LayerSummary(
      name: name, dimensions: layers.first?.dimensions ?? 0,
      linearProbe: SeedEstimate(layers.map(\.linearProbe)), knn: SeedEstimate(layers.map(\.knn)),
      effectiveRank: SeedEstimate(layers.map(\.effectiveRank)),
      alignment: SeedEstimate(layers.map(\.alignment)),
      uniformity: SeedEstimate(layers.map(\.uniformity)), normalizedSpectrum: meanCurve(spectra),
      linearProbeRefitGap: layers.compactMap { l in
        l.linearProbeRefit.map { abs($0 - l.linearProbe) }
      }
      .max(),
      linearProbeVersusBaseline: paired(\.linearProbe), knnVersusBaseline: paired(\.knn))
  }

  /// The element-wise mean of curves, over the length they share.
  static func meanCurve(_ curves: [[Double]]) -> [Double] {
    let length = curves.map(\.count).min() ?? 0
    guard length > 0 else { return [] }
    return (0..<length).map { i in curves.map { $0[i] }.reduce(0, +) / Double(curves.count) }
  }

  /// The summary as JSON (sorted keys, snake case), the content of results.json.
  public func json() throws -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.nonConformingFloatEncodingStrategy = .convertToString(
      positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return Array(try encoder.encode(self))
  }
}
