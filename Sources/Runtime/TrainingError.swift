/// A training run that cannot go on: the message says why.
public struct TrainingError: Error, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}
