import GraphDSL
import Runtime

extension TrainingMode {
  /// The name of this mode's step entry in `compiled` for `innerSteps`; for `bilevel-unrolled`,
  /// whose K values are compiled, an error lists them when `innerSteps` is not one.
  func checkedStepEntry(in compiled: CompiledProgram, innerSteps: Int) throws -> String {
    let name = stepEntry(innerSteps: innerSteps)
    guard self == .bilevelUnrolled, (try? compiled.entry(named: name)) == nil else { return name }
    let listed = compiled.entries.compactMap { entry -> Int? in
      let prefix = "\(rawValue).k"
      guard entry.name.hasPrefix(prefix), entry.name.hasSuffix(".step") else { return nil }
      return Int(entry.name.dropFirst(prefix.count).dropLast(".step".count))
    }
    throw TrainingError(
      "\(rawValue) differentiates through its K inner steps written out, so K is compiled: "
        + "program '\(compiled.name)' lists K = \(listed.map(String.init).joined(separator: ", "))"
        + " (the ContrastiveModel's innerSteps in graphs/), not \(innerSteps); bilevel takes "
        + "any K")
  }
}
