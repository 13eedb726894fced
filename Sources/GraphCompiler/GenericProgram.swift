import Dispatch
import GraphIR

/// A program compiled once for every batch size: scheduled at the two marker sizes of
/// `GenericBatch`, whose texts must agree up to polynomials in the batch size. Its kernels are
/// generic in N; `instantiated(batch:)` gives the program at any N with the same kernels, order
/// and in-place stores, and the memory plan and costs of that N.
public struct GenericProgram: Sendable {
  /// The program planned at `GenericBatch.markers.0` (without costs: the tables count them as
  /// polynomials in N, `EntrySchedule.costs`).
  public private(set) var first: PlannedProgram
  /// The same at `GenericBatch.markers.1`.
  public private(set) var second: PlannedProgram

  /// Schedules `make(batch)` at both markers (at once, one on each of two threads) and checks
  /// that every entry agrees.
  public init(
    _ make: @Sendable (Int) throws -> Program, verify: Bool = true, channelsLast: Bool = true
  ) throws {
    let results = ParallelResults<PlannedProgram>(count: 2)
    DispatchQueue.concurrentPerform(iterations: 2) { index in
      let batch = index == 0 ? GenericBatch.markers.0 : GenericBatch.markers.1
      results.set(index) {
        let scheduled = try KernelPipeline.schedule(
          try make(batch), verify: verify, channelsLast: channelsLast)
        return KernelPipeline.plan(scheduled, batch: batch, costs: false)
      }
    }
    first = try results.get(0)
    second = try results.get(1)
    guard first.entries.map(\.name) == second.entries.map(\.name),
      first.program.variables == second.program.variables
    else {
      throw GenericBatch.Mismatch(
        place: "program '\(first.program.name)'", first: "entries or variables",
        second: "others", context: "")
    }
    for (a, b) in zip(first.entries, second.entries) where a.memory.inPlace != b.memory.inPlace {
      throw GenericBatch.Mismatch(
        place: "the in-place stores of '\(a.name)'", first: "\(a.memory.inPlace.count)",
        second: "\(b.memory.inPlace.count)", context: "")
    }
  }

  /// Keeps only the named entries (for tests and tools that look at a few).
  public mutating func keepEntries(_ names: [String]) {
    for planned in [\GenericProgram.first, \GenericProgram.second] {
      self[keyPath: planned].entries.removeAll { !names.contains($0.name) }
      self[keyPath: planned].program.entries.removeAll { !names.contains($0.name) }
    }
  }

  /// The program at batch size `batch`: each entry's graph with every batch-dependent integer
  /// evaluated there, checked by the verifier, then planned with the markers' in-place stores.
  public func instantiated(batch: Int, verify: Bool = true) throws -> PlannedProgram {
    var program = first.program
    for index in program.entries.indices {
      let graph = try Self.instantiate(
        first.entries[index].graph, second.entries[index].graph, batch: batch,
        entry: first.entries[index].name)
      if verify {
        try Verifier().verify(
          graph,
          variables: Dictionary(uniqueKeysWithValues: program.variables.map { ($0.name, $0.type) }))
      }
      program.entries[index].graph = graph
    }
    let inPlace = Dictionary(
      uniqueKeysWithValues: first.entries.map { ($0.name, $0.memory.inPlace) })
    return KernelPipeline.plan(program, batch: batch, inPlace: inPlace)
  }

  /// Node by node: equal nodes are kept, others are printed at both markers, paired, and read
  /// back with each polynomial evaluated at `batch`.
  static func instantiate(_ a: Graph, _ b: Graph, batch: Int, entry: String) throws -> Graph {
    guard a.nodes.count == b.nodes.count, a.outputs == b.outputs else {
      throw GenericBatch.Mismatch(
        place: "entry '\(entry)'", first: "\(a.nodes.count) nodes", second: "\(b.nodes.count)",
        context: "")
    }
    let printer = Printer()
    var lines: [String] = []
    for id in a.ids {
      let text = printer.print(a[id], id: id)
      lines.append(
        a[id] == b[id]
          ? text
          : try GenericBatch.pair(
            text, printer.print(b[id], id: id), place: "node \(id) of '\(entry)'"
          ) { "\($0.evaluate(batch))" })
    }
    for output in a.outputs { lines.append("output \"\(output.name)\" = \(output.node)") }
    return try Parser.parseGraph(lines.joined(separator: "\n"))
  }
}

/// Results computed on several threads at once (`DispatchQueue.concurrentPerform`), each slot
/// written by its own thread before any is read.
package final class ParallelResults<Value>: @unchecked Sendable {
  private var results: [Result<Value, any Error>?]
  private let lock = DispatchSemaphore(value: 1)

  package init(count: Int) { results = Array(repeating: nil, count: count) }

  package func set(_ index: Int, _ body: () throws -> Value) {
    let result = Result { try body() }
    lock.wait()
    results[index] = result
    lock.signal()
  }

  package func get(_ index: Int) throws -> Value { try results[index]!.get() }
}
