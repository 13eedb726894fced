import GraphIR

/// A program in graphs/: a name the CLI, tests and benchmarks use, and the batch sizes its
/// checks and tools default to. The compiled program runs at any batch size (its kernels are
/// generic in it); the DSL builds it at whatever size the compiler asks for.
public struct ProgramDefinition: Sendable {
  public let name: String
  public let summary: String
  /// The sizes the build's checks, memory-plan tests and tools' defaults use.
  public let batchSizes: [Int]
  /// The graphs/ file that defines it.
  public let file: String
  /// The processes of a data-parallel run it is one rank's program of (1: one process). Such a
  /// program runs under `mpirun -np <ranks>` only; its collectives stop a single process.
  public let ranks: Int
  private let make: @Sendable (Int) throws(IRError) -> Program

  public init(
    name: String, summary: String, batchSizes: [Int], ranks: Int = 1, file: String = #filePath,
    make: @escaping @Sendable (Int) throws(IRError) -> Program
  ) {
    self.name = name
    self.summary = summary
    self.batchSizes = batchSizes
    self.ranks = ranks
    self.file = SourceLocation(filePath: file, line: 0).file
    self.make = make
  }

  /// The program at `batch` images per step (at least 1).
  public func program(batch: Int) throws -> Program {
    guard batch >= 1 else {
      throw IRError(message: "program '\(name)': the batch size must be at least 1, got \(batch)")
    }
    return try make(batch)
  }
}
