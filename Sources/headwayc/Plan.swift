import ArgumentParser
import Foundation
import GraphCompiler
import GraphIR
import Graphs

/// `headwayc plan PROGRAM [--batch N]`: the kernels of each entry point with their costs, and
/// the arenas, at any batch size (the kernels are generic in it).
struct Plan: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Print each entry point's kernels (FLOPs, bytes moved) and the arena sizes.")

  @OptionGroup var options: ProgramOptions

  @Option(help: "Print only this entry point.")
  var entry: String?

  @Flag(help: "Print only the summary line of each entry point.")
  var summary = false

  func run() throws {
    let definition = try options.definition()
    let batch = options.batch ?? definition.batchSizes.min()!
    guard batch >= 1 else { throw ValidationError("--batch must be at least 1, got \(batch)") }
    let planned = try GenericProgram(definition.program).instantiated(batch: batch)
    let program = planned.program
    print(
      "program \(program.name), batch \(batch): state arena \(planned.state.bytes) bytes "
        + "(\(planned.state.variables.count) variables)")
    for entry in planned.entries where entry.name == (self.entry ?? entry.name) {
      let flops = entry.costs.reduce(0) { $0 + $1.flops }
      let bytes = entry.costs.reduce(0) { $0 + $1.bytes }
      print(
        "entry \(entry.name): \(entry.costs.count) kernels, \(Self.giga(flops)) GFLOP, "
          + "\(Self.mega(bytes)) MB moved; activation arena \(Self.mega(entry.memory.arenaBytes)) MB "
          + "peak, \(Self.mega(entry.memory.unplannedBytes)) MB if every intermediate had its own buffer"
      )
      let updates = entry.graph.nodes.filter { if case .assign = $0.op { true } else { false } }
      if !updates.isEmpty {
        print(
          "  state updates: \(entry.memory.stateStores.count) of \(updates.count) stored in place "
            + "by their kernel, the rest copied after the last kernel")
      }
      for group in entry.graph.optimizerGroups() {
        let updates = group.updates
        let elements = updates.reduce(0) { $0 + entry.graph[$1].type.elementCount }
        print(
          "  optimizer: \(entry.graph[updates[0]].op.mnemonic) of \(updates.count) parameters "
            + "(\(elements) elements), one call after the copies")
      }
      if let line = Self.collectives(entry.graph) { print(line) }
      guard !summary else { continue }
      for (index, members) in entry.graph.kernelMembers().enumerated() {
        let ops = members.map { "\($0)=\(entry.graph[$0].op.mnemonic)" }.joined(separator: " ")
        let cost = entry.costs[index]
        let spare =
          members.contains { PlanMemory.isChannelsLastConvolution(entry.graph[$0]) }
          ? entry.memory.scratch[index].map { ", spare \(Self.mega($0.bytes)) MB" } ?? "" : ""
        print("  k\(index): \(ops)  \(cost.flops) FLOP, \(cost.bytes) B\(spare)")
      }
    }
  }

  /// The calls of each collective and the bytes of their operands (what each rank puts in),
  /// for a data-parallel program's entry; nil when it has none.
  static func collectives(_ graph: Graph) -> String? {
    var calls: [Collective.Kind: (count: Int, bytes: Int)] = [:]
    for node in graph.nodes {
      guard case .collective(let c) = node.op else { continue }
      let bytes = 4 * graph[node.operands[0]].type.elementCount
      calls[c.kind, default: (0, 0)].count += 1
      calls[c.kind, default: (0, 0)].bytes += bytes
    }
    guard !calls.isEmpty else { return nil }
    let parts = Collective.Kind.allCases.compactMap { kind in
      calls[kind].map { "\(kind.rawValue) \($0.count) calls, \(mega($0.bytes)) MB" }
    }
    return "  collectives (operand bytes per rank): " + parts.joined(separator: "; ")
  }

  static func giga(_ value: Int) -> String { String(format: "%.3f", Double(value) / 1e9) }
  static func mega(_ value: Int) -> String { String(format: "%.2f", Double(value) / 1e6) }
}
