/// How the projection head takes part in training (see DESIGN.md, section 1).
public enum TrainingMode: String, CaseIterable, Sendable {
  /// Head trained with the backbone, same step (plain SimCLR).
  case joint
  /// No head: InfoNCE on the backbone output.
  case none
  /// A random head, never updated.
  case fixed
  /// K inner head steps per backbone step; first-order backbone gradient at the final head.
  case bilevel
  /// As bilevel, with the hypergradient through the K unrolled inner steps.
  case bilevelUnrolled = "bilevel-unrolled"

  /// Whether the mode has an inner head loop.
  public var isBilevel: Bool { self == .bilevel || self == .bilevelUnrolled }

  /// The name of the mode's training entry point: one per listed K for `bilevel-unrolled`, one
  /// for every K for `bilevel`.
  public func stepEntry(innerSteps: Int) -> String {
    self == .bilevelUnrolled ? "\(rawValue).k\(innerSteps).step" : "\(rawValue).step"
  }

  /// How many times the step entry's loop runs for `innerSteps` inner steps (`bilevel.step`
  /// has the second inner step as its loop); nil: as compiled.
  public func loopRepeats(innerSteps: Int) -> Int? {
    self == .bilevel ? innerSteps - 1 : nil
  }
}
