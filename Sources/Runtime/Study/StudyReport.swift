import Foundation

/// What `headway study` measured, as it writes it to RUNDIR/study.json (and `headway sweep`
/// reads it back).
public struct StudyReport: Codable, Sendable {
  /// One representation: the backbone output (`features`) or a head layer (`head.1`, ...).
  public struct Layer: Codable, Sendable {
    public var name: String
    public var dimensions: Int
    public var linearProbe: Double
    public var knn: Double
    public var probeSummary: String
    /// The probe refitted from zero (nil when it was not).
    public var linearProbeRefit: Double?
    public var effectiveRank: Double
    /// Singular values above 1e-3 of the largest.
    public var rank: Int
    public var alignment: Double
    public var uniformity: Double
    /// Of the test features, largest first.
    public var singularValues: [Double]

    public init(
      score: RepresentationScore, spectrum: Spectrum, alignment: Double, uniformity: Double
    ) {
      name = score.name
      dimensions = score.dimensions
      linearProbe = score.linearProbe
      knn = score.knn
      probeSummary = score.probeSummary
      linearProbeRefit = score.linearProbeRefit
      effectiveRank = spectrum.effectiveRank
      rank = spectrum.rank()
      singularValues = spectrum.singularValues
      (self.alignment, self.uniformity) = (alignment, uniformity)
    }
  }

  /// The checkpoint's step.
  public var step: Int
  public var layers: [Layer]

  public init(step: Int, layers: [Layer]) {
    self.step = step
    self.layers = layers
  }

  /// Reads a report `write(to:)` wrote.
  public init(contentsOf path: String) throws {
    do {
      let decoder = JSONDecoder()
      decoder.keyDecodingStrategy = .convertFromSnakeCase
      self = try decoder.decode(Self.self, from: Data(try readWholeFile(path)))
    } catch let error as DecodingError {
      throw TrainingError("\(path): not a study report (\(error))")
    }
  }

  /// Writes the report as JSON, atomically.
  public func write(to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    try writeAtomically(Array(try encoder.encode(self)), to: path)
  }
}
