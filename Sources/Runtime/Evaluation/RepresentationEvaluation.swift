import Foundation

/// Linear-probe and kNN test accuracy of one representation.
public struct RepresentationScore: Sendable {
  public var name: String
  public var dimensions: Int
  public var linearProbe: Double
  public var knn: Double
  /// How the probe was fitted (`ProbeResult.summary`).
  public var probeSummary: String = ""
  /// The probe's test accuracy when refitted from another start (`ProbeResult`).
  public var linearProbeRefit: Double? = nil
}

/// Scores representations of a labelled train/test split the same way: a linear probe
/// (`LogisticProbe` by default, or the compiled AdamW `LinearProbe`; standardised features) and
/// weighted kNN (k=200, cosine, T=0.1).
public struct RepresentationEvaluation {
  public var probe: any FeatureProbe
  public var knn: KNNClassifier

  public init(probe: any FeatureProbe = LogisticProbe(), knn: KNNClassifier = KNNClassifier()) {
    self.probe = probe
    self.knn = knn
  }

  public func score(
    _ name: String, train: FeatureMatrix, test: FeatureMatrix, trainLabels: [Int32],
    testLabels: [Int32]
  ) throws -> RepresentationScore {
    let probed = try probe.probe(
      train: train, trainLabels: trainLabels, test: test, testLabels: testLabels)
    let knnAccuracy = knn.accuracy(
      train: train, trainLabels: trainLabels, test: test, testLabels: testLabels)
    return RepresentationScore(
      name: name, dimensions: train.columns, linearProbe: probed.testAccuracy, knn: knnAccuracy,
      probeSummary: probed.summary, linearProbeRefit: probed.refitTestAccuracy)
  }

  /// The scores as a Markdown table.
  public static func table(_ scores: [RepresentationScore]) -> String {
    MarkdownTable(
      headers: ["representation", "dims", "linear probe", "kNN (k=200)"],
      rows: scores.map {
        [
          $0.name, String($0.dimensions), String(format: "%.2f%%", 100 * $0.linearProbe),
          String(format: "%.2f%%", 100 * $0.knn),
        ]
      }
    ).render()
  }

  /// The scores as JSON (one object per representation).
  public static func json(_ scores: [RepresentationScore]) -> String {
    let items = scores.map {
      "{\"representation\": \"\($0.name)\", \"dimensions\": \($0.dimensions), "
        + "\"linear_probe\": \($0.linearProbe), \"knn\": \($0.knn), "
        + "\"probe\": \"\($0.probeSummary)\"}"
    }
    return "[\n  " + items.joined(separator: ",\n  ") + "\n]\n"
  }
}
