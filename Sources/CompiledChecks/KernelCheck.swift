import GraphCompiler
import GraphIR
import GraphInterpreter
import Runtime

/// Checks each compiled kernel alone against the interpreter: the kernel's inputs are the
/// interpreter's values (rounded to float32) placed where the memory plan puts them, and its
/// stored results are compared with the interpreter's. Errors cannot propagate from kernel to
/// kernel, and a ReLU cannot flip between float32 and float64 upstream, so the tolerance can
/// be tight for every entry, including long bilevel-unrolled chains.
///
/// In bf16 the convolutions' references take their operands rounded to bfloat16, as the
/// kernels do; everything else is float32 as in fp32.
public struct KernelCheck {
  public var seed: UInt64
  public var tolerance: Double
  public var precision: Precision

  public init(seed: UInt64 = 5, tolerance: Double = 1e-4, precision: Precision = .fp32) {
    self.seed = seed
    self.tolerance = tolerance
    self.precision = precision
  }

  /// Checks every kernel of every entry of `compiled` (or of `entries`) against `program`
  /// (the same program, compiled generic in the batch size) at the compiled batch size.
  public func run(
    _ program: GenericProgram, _ compiled: CompiledProgram, entries: [String]? = nil
  ) throws -> [SelfCheck.Report] {
    let planned = try program.instantiated(batch: compiled.batch)
    var reports: [SelfCheck.Report] = []
    for entry in compiled.entries where entries?.contains(entry.name) ?? true {
      guard let plan = planned.entries.first(where: { $0.name == entry.name }) else {
        throw TrainingError("entry '\(entry.name)' is compiled but not in the program's IR")
      }
      let calls = plan.costs.count + plan.graph.optimizerGroups().count
      guard plan.memory.arenaBytes == entry.arenaBytes, calls == entry.kernelCount,
        calls - plan.costs.count == entry.optimizerCalls
      else {
        throw TrainingError(
          "the compiled '\(entry.name)' does not match the compiler's plan "
            + "(\(entry.kernelCount) calls, \(entry.arenaBytes) bytes vs \(calls), "
            + "\(plan.memory.arenaBytes)): rebuild")
      }
      reports += try check(entry, plan, planned.program, compiled)
    }
    return reports
  }

  private func check(
    _ entry: CompiledEntry, _ plan: PlannedEntry, _ program: Program, _ compiled: CompiledProgram
  ) throws -> [SelfCheck.Report] {
    var random = CheckData.random(seed: seed, entry: entry.name)
    var state = CheckData.state(program, &random)
    let inputs = CheckData.inputs(entry, &random)
    let session = CompiledSession(program: compiled, precision: precision)
    for (name, value) in state { try session.write(value.scalars.map(Float.init), to: name) }
    let buffers = rawBuffers(inputs)
    var probe = plan.graph
    let kernels = probe.kernelMembers()
    probe.outputs = kernels.flatMap { $0 }.map { GraphOutput(name: "\($0.index)", node: $0) }
    let initial = state
    let values = try Interpreter().run(
      probe, inputs: inputs, state: &state, roundingStoredValues: true)
    func value(_ id: NodeID) -> [Double] { values["\(id.index)"]!.scalars }
    var reports: [SelfCheck.Report] = []
    try withPointers(entry.inputs.map { buffers[$0.name]! }) { pointers in
      for (index, members) in kernels.enumerated() {
        var read = Set<NodeID>()
        for id in members { read.formUnion(plan.graph.storedInputs(of: id)) }
        for id in read.subtracting(members) where plan.graph[id].kernel != nil {
          try session.writeStored(value(id).map(Float.init), id, plan)
        }
        session.runKernel(entry, index, inputs: pointers)
        // A value overwritten in place by a later member of its kernel cannot be read back: it
        // is checked through that member, whose reference reads the value the kernel should
        // have stored (its definition on the kernel's values, rounded to float32), not the
        // interpreter's, which may differ through an earlier member (a float32 matrix
        // product feeding a cancelling sum).
        let overwritten = Set(plan.memory.inPlace.values)
        var computed: [NodeID: [Double]] = [:]
        for id in members where !overwritten.contains(id) {
          computed[id] = session.readStored(id, plan).map(Double.init)
        }
        var worst = SelfCheck.Report(
          entry: entry.name, tensor: entry.kernelNames[index], error: 0, passed: true)
        for id in members {
          // The member's own definition, on exactly the values the kernel read: the
          // interpreter's for values from other kernels, the kernel's own for earlier members.
          let expected = try plan.graph.coneValue(
            of: id, inputs: inputs, state: initial, bf16Operands: precision == .bf16
          ) { computed[$0] ?? value($0) }
          guard let actual = computed[id] else {
            computed[id] = expected.map { Double(Float($0)) }
            continue
          }
          let report = SelfCheck(tolerance: tolerance).compare(
            entry.name, entry.kernelNames[index], actual, expected)
          if report.error > worst.error || report.error.isNaN { worst = report }
        }
        reports.append(worst)
      }
      // The optimizer's calls, on the interpreter's gradients.
      for (offset, group) in plan.graph.optimizerGroups().enumerated() {
        let index = kernels.count + offset
        for id in group.updates {
          let gradient = plan.graph.optimizerGradient(of: id)
          if plan.graph[gradient].kernel != nil {
            try session.writeStored(value(gradient).map(Float.init), gradient, plan)
          }
        }
        session.runKernel(entry, index, inputs: pointers)
        let error = try session.optimizerError(
          group.updates, plan, inputs: inputs, state: initial, stored: value)
        reports.append(
          SelfCheck.Report(
            entry: entry.name, tensor: entry.kernelNames[index], error: error,
            passed: error <= tolerance))
      }
    }
    return reports
  }
}
