import GraphCompiler
import GraphIR
import GraphInterpreter
import Runtime

extension CompiledSession {
  /// The largest error, relative to the reference's largest magnitude, of the variables an
  /// optimizer call updated (parameters and slots, read back from the state arena) against
  /// their definition (the interpreter's update) on the gradients the call read (`stored`) and
  /// the state the entry started with.
  func optimizerError(
    _ updates: [NodeID], _ plan: PlannedEntry, inputs: [String: HostTensor],
    state: [String: HostTensor], stored: (NodeID) -> [Double]
  ) throws -> Double {
    var worst = 0.0
    for id in updates {
      let expected = try plan.graph.updateWrites(
        of: id, inputs: inputs, state: state, stored: stored)
      for (name, tensor) in expected {
        worst = max(worst, SelfCheck.relativeError(read(name).map(Double.init), tensor.scalars))
      }
    }
    return worst
  }
}
