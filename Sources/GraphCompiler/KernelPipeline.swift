import GraphIR

/// One entry point ready for code generation: fused and scheduled graph, arena plan, costs.
public struct PlannedEntry: Sendable {
  public var name: String
  public var graph: Graph
  public var memory: MemoryPlan
  public var costs: [KernelCost]
}

/// A program ready for code generation.
public struct PlannedProgram: Sendable {
  public var program: Program
  public var batch: Int
  public var state: StateLayout
  public var entries: [PlannedEntry]
}

/// The back half of the pass list: after `Lowering`, move convolutions to channels-last, fuse
/// kernels, schedule them, plan memory.
public enum KernelPipeline {
  /// `channelsLast: false` keeps every activation NCHW (convolutions then reorder for oneDNN or
  /// run im2col + BLAS, whichever is faster per shape).
  public static func run(
    _ program: Program, batch: Int, verify: Bool = true, channelsLast: Bool = true
  ) throws(IRError) -> PlannedProgram {
    let lowered = try Lowering.run(program, verify: verify)
    let layout: [any GraphPass] = channelsLast ? [UseChannelsLast()] : []
    let passes = Pipeline(layout + [FuseKernels(), ScheduleKernels()], verifyEachPass: verify)
    let scheduled = try passes.run(lowered)
    let entries = scheduled.entries.map { entry in
      PlannedEntry(
        name: entry.name, graph: entry.graph, memory: PlanMemory().plan(entry.graph),
        costs: entry.graph.kernelCosts())
    }
    return PlannedProgram(
      program: scheduled, batch: batch, state: StateLayout(scheduled), entries: entries)
  }
}
