import GraphCompiler
import GraphIR
import GraphInterpreter
import Runtime

/// Runs one training entry point of a program with the reference interpreter (float64).
///
/// The slow, obviously-correct trainer: the compiled trainer is checked against it, and until
/// compiled programs exist it is what `headway train` runs.
public struct ReferenceTrainer {
  public let program: Program
  public let entry: EntryPoint
  /// Every variable of the program: parameters, statistics and optimizer slots.
  public var state: [String: HostTensor]

  /// Lowers `program` (gradients, optimizer updates, simplification) and initialises its state;
  /// the entry's loop (`GraphLoop`) is written out to run `loopRepeats` times (nil: as built).
  public init(program: Program, entry name: String, loopRepeats: Int? = nil) throws {
    let lowered = try Lowering.run(program, lowerUpdates: true)
    guard var entry = lowered.entry(named: name) else {
      let names = lowered.entries.map(\.name).joined(separator: ", ")
      throw TrainingError("program '\(program.name)' has no entry '\(name)'; entries: \(names)")
    }
    if let loopRepeats { entry.graph = try entry.graph.repeatingLoop(loopRepeats) }
    self.program = lowered
    self.entry = entry
    state = initialState(for: lowered)
  }

  /// The type the entry expects for the named input.
  public func inputType(_ name: String) -> TensorType? {
    entry.graph.inputs.first { $0.name == name }.map { entry.graph[$0.id].type }
  }

  /// Runs one step on `views` (2N images, NCHW; rows i and i+N are views of one image), with
  /// the entry's other inputs taken from `scalars` by name (`TrainingConfig.scalarInputs`) and
  /// from `vectors` (the `none` step's subvector mask; all ones when absent), and returns the
  /// entry's scalar outputs (`loss`, and `inner_loss` for bilevel entries).
  public mutating func step(
    views: [Float], scalars: [String: Double], vectors: [String: [Float]] = [:]
  ) throws -> [String: Double] {
    guard let viewType = inputType("views") else {
      throw TrainingError("entry '\(entry.name)' takes no 'views' input")
    }
    guard views.count == viewType.elementCount else {
      throw TrainingError(
        "entry '\(entry.name)' expects views \(viewType) (\(viewType.elementCount) values), "
          + "got \(views.count) values")
    }
    var inputs = ["views": HostTensor(viewType, views.map(Double.init))]
    for input in entry.graph.inputs where input.name != "views" {
      let type = entry.graph[input.id].type
      if input.name == ProgramNames.subvectorMask {
        let mask = vectors[input.name] ?? [Float](repeating: 1, count: type.elementCount)
        guard mask.count == type.elementCount else {
          throw TrainingError(
            "'\(input.name)' needs \(type.elementCount) values, got \(mask.count)")
        }
        inputs[input.name] = HostTensor(type, mask.map(Double.init))
        continue
      }
      guard let value = scalars[input.name] else {
        throw TrainingError("entry '\(entry.name)' needs a value for input '\(input.name)'")
      }
      inputs[input.name] = HostTensor(scalar: value)
    }
    let outputs = try Interpreter().run(entry.graph, inputs: inputs, state: &state)
    var results: [String: Double] = [:]
    for (name, value) in outputs where value.type.shape.isEmpty { results[name] = value.scalars[0] }
    if let bad = results.first(where: { !$0.value.isFinite }) {
      throw TrainingError("output '\(bad.key)' of '\(entry.name)' is \(bad.value)")
    }
    return results
  }
}

extension ReferenceTrainer {
  /// Draws fresh initial values for the parameters under `prefix` (the head, for bilevel
  /// re-init): random initialisers get a seed derived from their own and `round`, so each
  /// round draws new values, reproducibly.
  public mutating func reinitialize(under prefix: String, round: Int) {
    for variable in program.variables
    where variable.role == .parameter && variable.name.hasPrefix(prefix + ".") {
      let initializer = variable.initializer.salted(round: round)
      state[variable.name] = HostTensor(
        variable.type, initializer.values(count: variable.type.elementCount))
    }
  }
}
