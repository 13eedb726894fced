import ArgumentParser
import Foundation
import GraphIR
import Runtime

/// `headway study RUNDIR`: what each layer of the projection head does.
struct Study: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "The head study: probes, kNN, spectra, alignment and uniformity of every layer.",
    discussion: """
      For the backbone output and the output of every head layer (the `embed` entry, \
      eval-mode BatchNorm): linear-probe and kNN test accuracy, the singular-value spectrum \
      and effective rank of the test features, and alignment and uniformity (Wang and Isola) \
      on two augmented views of test images. Writes RUNDIR/study.md, study.json, loss.svg, \
      accuracy.svg and spectra.svg.
      """)

  @Argument(help: "Run directory written by `headway train`.")
  var runDirectory: String

  @OptionGroup var probeOptions: ProbeOptions

  @Option(help: "Test images used for alignment (two views each).")
  var alignmentImages = 2048

  @Option(help: "OpenMP threads (0: one per core).")
  var threads = 0

  func run() throws {
    let run = try TrainedRun(directory: runDirectory)
    let config = run.config
    let (train, test) = try evaluationImages(config)
    let session = CompiledSession(
      program: try CompiledProgram.named(config.program, batch: config.batch), threads: threads)
    try session.restore(from: run.checkpoint, path: run.path)
    let extractor = try FeatureExtractor(session: session, entry: ProgramNames.embed)
    let trainFeatures = try extractor.extract(train)
    let testFeatures = try extractor.extract(test)
    let layers = extractor.entry.outputs.map(\.name)
    let views = try alignmentViews(test, extractor, seed: config.seed)
    let evaluation = RepresentationEvaluation(
      probe: try probeOptions.probe(threads: threads))
    var rows: [[String]] = []
    var scores: [RepresentationScore] = []
    var spectra: [(name: String, singularValues: [Double])] = []
    var reported: [StudyReport.Layer] = []
    for layer in layers {
      let (trained, tested) = (trainFeatures[layer]!, testFeatures[layer]!)
      let score = try evaluation.score(
        layer, train: trained, test: tested, trainLabels: train.labels, testLabels: test.labels)
      let spectrum = Spectrum(rows: tested.rows, columns: tested.columns, values: tested.values)
      let (first, second) = views[layer]!
      let alignment = Hypersphere.alignment(
        view1: first.values, view2: second.values, columns: first.columns)
      let uniformity = Hypersphere.uniformity(features: tested.values, columns: tested.columns)
      scores.append(score)
      spectra.append((layer, spectrum.singularValues))
      reported.append(
        StudyReport.Layer(
          score: score, spectrum: spectrum, alignment: alignment, uniformity: uniformity))
      rows.append([
        layer, String(tested.columns), percent(score.linearProbe), percent(score.knn),
        String(format: "%.1f", spectrum.effectiveRank), String(spectrum.rank()),
        String(format: "%.3f", alignment), String(format: "%.3f", uniformity),
      ])
      print(
        "\(layer): probe \(percent(score.linearProbe)) (\(score.probeSummary)), "
          + "kNN \(percent(score.knn)), "
          + String(format: "effective rank %.1f", spectrum.effectiveRank))
    }
    let table = MarkdownTable(
      headers: [
        "layer", "dims", "linear probe", "kNN", "effective rank", "rank (1e-3)",
        "alignment", "uniformity",
      ],
      rows: rows
    ).render()
    print("\n" + table)
    try table.write(toFile: runDirectory + "/study.md", atomically: true, encoding: .utf8)
    let step = Int(run.checkpoint.metadata["step"] ?? "") ?? 0
    try StudyReport(step: step, layers: reported).write(to: runDirectory + "/study.json")
    try writePlots(scores: scores, spectra: spectra)
  }

  /// Both views of the first test images, through every layer.
  private func alignmentViews(_ test: LabeledImages, _ extractor: FeatureExtractor, seed: UInt64)
    throws -> [String: (FeatureMatrix, FeatureMatrix)]
  {
    let count = min(alignmentImages, test.count)
    let augmenter = SimCLRAugmenter(seed: seed &+ 1, viewShape: test.imageShape)
    let pixels = augmenter.views(of: test, indices: Array(0..<count), step: 0)
    let size = test.imageSize
    func images(_ half: Int) -> LabeledImages {
      LabeledImages(
        count: count, channels: test.channels, height: test.height, width: test.width,
        pixels: Array(pixels[(half * count * size)..<((half + 1) * count * size)]),
        labels: Array(test.labels.prefix(count)))
    }
    let (first, second) = (try extractor.extract(images(0)), try extractor.extract(images(1)))
    var result: [String: (FeatureMatrix, FeatureMatrix)] = [:]
    for (layer, matrix) in first { result[layer] = (matrix, second[layer]!) }
    return result
  }

  private func writePlots(
    scores: [RepresentationScore], spectra: [(name: String, singularValues: [Double])]
  ) throws {
    try SVGChart.writeSVG(
      SVGChart.barChart(
        title: "Test accuracy per layer", yLabel: "accuracy", categories: scores.map(\.name),
        series: [
          BarSeries(name: "linear probe", values: scores.map(\.linearProbe)),
          BarSeries(name: "kNN (k=200)", values: scores.map(\.knn)),
        ]), to: runDirectory + "/accuracy.svg")
    try SVGChart.writeSVG(
      SVGChart.spectrumChart(
        title: "Singular values of the test features", spectra: spectra,
        normalized: true), to: runDirectory + "/spectra.svg")
    let losses = try stepLosses(runDirectory + "/metrics.jsonl")
    try SVGChart.writeSVG(
      SVGChart.lineChart(
        title: "Training loss", xLabel: "step", yLabel: "InfoNCE loss",
        series: [
          ChartSeries(name: "loss", x: losses.map { Double($0.step) }, y: losses.map(\.loss))
        ]),
      to: runDirectory + "/loss.svg")
  }
}

/// The (step, loss) pairs of a metrics.jsonl file.
func stepLosses(_ path: String) throws -> [(step: Int, loss: Double)] {
  let text = try String(contentsOfFile: path, encoding: .utf8)
  return text.split(separator: "\n").compactMap { line in
    guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
      object["type"] as? String == "step", let step = object["step"] as? Int,
      let loss = object["loss"] as? Double
    else { return nil }
    return (step, loss)
  }
}
