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

  /// Whether the mode has an inner head loop (and so an entry per listed K).
  public var isBilevel: Bool { self == .bilevel || self == .bilevelUnrolled }

  /// The name of the mode's training entry point.
  public func stepEntry(innerSteps: Int) -> String {
    isBilevel ? "\(rawValue).k\(innerSteps).step" : "\(rawValue).step"
  }
}
