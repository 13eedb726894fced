import Foundation

/// A numeric chart axis: its range, whether it is logarithmic, and its ticks and their labels.
struct ChartAxis {
  var lower: Double
  var upper: Double
  var logarithmic: Bool
  var ticks: [Double]
  var labels: [String]

  /// A linear axis covering `lower...upper`, widened to whole steps of about `target` ticks.
  static func linear(_ lower: Double, _ upper: Double, target: Int = 6) -> ChartAxis {
    var (lo, hi) = (lower, upper)
    if !(lo.isFinite && hi.isFinite) { (lo, hi) = (0, 1) }
    if hi - lo <= 1e-12 * max(abs(lo), abs(hi), 1e-300) {
      let pad = lo == 0 ? 1 : abs(lo) * 0.1
      (lo, hi) = (lo - pad, hi + pad)
    }
    let step = niceStep((hi - lo) / Double(target))
    let first = (lo / step + 1e-9).rounded(.down)
    let last = (hi / step - 1e-9).rounded(.up)
    let ticks = stride(from: first, through: last + 0.5, by: 1).map { $0 * step }
    return ChartAxis(
      lower: first * step, upper: last * step, logarithmic: false, ticks: ticks,
      labels: ticks.map { formatTick($0, step: step) })
  }

  /// A base-10 logarithmic axis covering the positive range `lower...upper`, widened to whole
  /// decades; ticks at powers of ten (and at 2 and 5 times them when the range is short).
  static func logarithmic(_ lower: Double, _ upper: Double) -> ChartAxis {
    let lo = lower > 0 && lower.isFinite ? lower : 1
    let hi = upper > 0 && upper.isFinite ? max(upper, lo) : lo * 10
    let bottom = Int((log10(lo) + 1e-9).rounded(.down))
    let last = max(Int((log10(hi) - 1e-9).rounded(.up)), bottom + 1)
    let every = max(1, (last - bottom + 7) / 8)
    let first = last - (last - bottom + every - 1) / every * every
    var ticks: [Double] = []
    for k in stride(from: first, through: last, by: every) {
      let decade = pow(10, Double(k))
      ticks.append(decade)
      if last - first <= 2 && k < last { ticks += [2 * decade, 5 * decade] }
    }
    return ChartAxis(
      lower: pow(10, Double(first)), upper: pow(10, Double(last)), logarithmic: true,
      ticks: ticks, labels: ticks.map(formatLogTick))
  }

  /// Where `value` falls along the axis, 0 at `lower` and 1 at `upper` (nil if it cannot be
  /// drawn: not finite, or not positive on a logarithmic axis).
  func fraction(_ value: Double) -> Double? {
    guard value.isFinite else { return nil }
    if logarithmic {
      guard value > 0 else { return nil }
      return (log10(value) - log10(lower)) / (log10(upper) - log10(lower))
    }
    return (value - lower) / (upper - lower)
  }

  /// 1, 2, 2.5 or 5 times a power of ten, the smallest at least `raw`.
  static func niceStep(_ raw: Double) -> Double {
    let power = pow(10, log10(raw).rounded(.down))
    for multiple in [1, 2, 2.5, 5] where multiple * power >= raw * (1 - 1e-9) {
      return multiple * power
    }
    return 10 * power
  }

  /// `value` with as many decimals as `step` needs; very large or small values in exponent form.
  static func formatTick(_ value: Double, step: Double) -> String {
    if abs(value) < step * 1e-6 { return "0" }
    if abs(value) >= 1e6 || step < 1e-4 { return String(format: "%.3g", value) }
    var decimals = max(0, Int((-log10(step)).rounded(.up)))
    if (step * pow(10, Double(decimals))).rounded() != step * pow(10, Double(decimals)) {
      decimals += 1
    }
    return String(format: "%.\(decimals)f", value)
  }

  /// A tick on a logarithmic axis: plain digits from 0.001 to 10000, else like "1e-6".
  static func formatLogTick(_ value: Double) -> String {
    let exponent = Int(log10(value).rounded(.down))
    let mantissa = (value / pow(10, Double(exponent))).rounded()
    if (-3...4).contains(exponent) {
      return String(format: "%.\(max(0, -exponent))f", value)
    }
    return mantissa == 1 ? "1e\(exponent)" : "\(Int(mantissa))e\(exponent)"
  }
}

/// Pixel layout of a chart: the canvas size and the margins around the plot area.
struct ChartFrame {
  var width = 760.0
  var height = 460.0
  var left = 70.0
  var right = 24.0
  var top = 48.0
  var bottom = 60.0

  var plotWidth: Double { width - left - right }
  var plotHeight: Double { height - top - bottom }
  var plotRight: Double { width - right }
  var plotBottom: Double { height - bottom }

  /// Approximate width in pixels of `text` at `size` (sans-serif averages about 0.6 em).
  static func textWidth(_ text: String, size: Double = 12) -> Double {
    Double(text.count) * size * 0.6
  }

  /// Leaves room on the left for the widest of `labels` and on the right for a legend of
  /// `names` (none when there are no names).
  mutating func fit(yLabels labels: [String], legend names: [String]) {
    left = 40 + (labels.map { ChartFrame.textWidth($0) }.max() ?? 0)
    if let widest = names.map({ ChartFrame.textWidth($0) }).max() {
      right = 52 + widest
    }
  }
}

/// The colours of successive series (Tableau 10).
let chartPalette = [
  "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
  "#9c755f", "#bab0ac",
]

/// `text` with the five XML special characters escaped.
func xmlEscaped(_ text: String) -> String {
  var out = ""
  for character in text {
    switch character {
    case "&": out += "&amp;"
    case "<": out += "&lt;"
    case ">": out += "&gt;"
    case "\"": out += "&quot;"
    case "'": out += "&apos;"
    default: out.append(character)
    }
  }
  return out
}

/// A coordinate with one decimal, as SVG attributes want it.
func px(_ value: Double) -> String { String(format: "%.1f", value) }
