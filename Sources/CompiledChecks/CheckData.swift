import GraphIR
import GraphInterpreter
import Runtime

/// Random but plausible state and inputs for comparing compiled code with the interpreter.
enum CheckData {
  /// A generator of its own for each entry, so checking one entry alone sees the same data.
  static func random(seed: UInt64, entry: String) -> SplitMix64 {
    SplitMix64(seed: SplitMix64.seed(seed, entry.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) }))
  }

  /// Initial parameters; statistics and optimizer slots filled with random values of the right
  /// sign so their update paths are exercised. Every value is rounded to float32.
  static func state(_ program: Program, _ random: inout SplitMix64) -> [String: HostTensor] {
    var state = initialState(for: program)
    for variable in program.variables where variable.role != .parameter {
      let positive = ["running_var", "adam_v", "adam_step"].contains {
        variable.name.hasSuffix($0)
      }
      state[variable.name] = HostTensor(
        variable.type,
        (0..<variable.type.elementCount).map { _ in
          let r = Double(random.uniform(-1...1))
          return positive ? 1 + abs(r) : 0.1 * r
        })
    }
    return state.mapValues { HostTensor($0.type, $0.scalars.map { Double(Float($0)) }) }
  }

  /// Scalar inputs of training entries that should not be 0.1: the temperature of R1 and R2.
  static let defaultScalars = ["temperature": 0.5]

  /// Pixel-like floats in [0, 1), labels 0...9, scalars from `scalars` or `defaultScalars`,
  /// else 0.1 (learning rates, momentum and weight decay; `optimizer` 0.1 selects SGD).
  static func inputs(
    _ entry: CompiledEntry, _ random: inout SplitMix64, scalars: [String: Double] = [:]
  ) -> [String: HostTensor] {
    var inputs: [String: HostTensor] = [:]
    for input in entry.inputs {
      let count = input.type.elementCount
      let values: [Double]
      if input.type.dtype == .i32 {
        values = (0..<count).map { _ in Double(random.next() % 10) }
      } else if input.type.shape.isEmpty {
        values = [scalars[input.name] ?? defaultScalars[input.name] ?? 0.1]
      } else {
        values = (0..<count).map { _ in Double(random.unit()) }
      }
      inputs[input.name] = HostTensor(input.type, values)
    }
    return inputs
  }
}
