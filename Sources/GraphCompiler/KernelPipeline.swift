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
    plan(try schedule(program, verify: verify, channelsLast: channelsLast), batch: batch)
  }

  /// Lowered, fused and scheduled: every stored value has its kernel, in execution order.
  public static func schedule(
    _ program: Program, verify: Bool = true, channelsLast: Bool = true
  ) throws(IRError) -> Program {
    let lowered = try Lowering.run(program, verify: verify)
    let layout: [any GraphPass] = channelsLast ? [UseChannelsLast()] : []
    let passes = Pipeline(layout + [FuseKernels(), ScheduleKernels()], verifyEachPass: verify)
    return try passes.run(lowered)
  }

  /// Memory plans (with the given in-place stores per entry, else the planner's own) and
  /// costs of a scheduled program; `costs: false` skips the estimates.
  static func plan(
    _ scheduled: Program, batch: Int, inPlace: [String: [NodeID: NodeID]]? = nil,
    costs: Bool = true
  ) -> PlannedProgram {
    let entries = scheduled.entries.map { entry in
      PlannedEntry(
        name: entry.name, graph: entry.graph,
        memory: PlanMemory().plan(entry.graph, inPlace: inPlace?[entry.name]),
        costs: costs ? entry.graph.kernelCosts() : [])
    }
    return PlannedProgram(
      program: scheduled, batch: batch, state: StateLayout(scheduled), entries: entries)
  }
}
