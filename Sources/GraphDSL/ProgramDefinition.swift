import GraphIR

/// A program in graphs/: a name the CLI, tests and benchmarks use, and the batch sizes it is
/// built for (shapes are static, so each batch size is its own compiled program).
public struct ProgramDefinition: Sendable {
  public let name: String
  public let summary: String
  public let batchSizes: [Int]
  /// The graphs/ file that defines it, for messages that say where to add a batch size.
  public let file: String
  private let make: @Sendable (Int) throws(IRError) -> Program

  public init(
    name: String, summary: String, batchSizes: [Int], file: String = #filePath,
    make: @escaping @Sendable (Int) throws(IRError) -> Program
  ) {
    self.name = name
    self.summary = summary
    self.batchSizes = batchSizes
    self.file = SourceLocation(filePath: file, line: 0).file
    self.make = make
  }

  /// The program at any batch size (the compiler builds it at marker sizes to make kernels
  /// generic in the batch size).
  public func anyBatch(_ batch: Int) throws -> Program {
    try make(batch)
  }

  /// The program for one of the listed batch sizes.
  public func program(batch: Int) throws -> Program {
    guard batchSizes.contains(batch) else {
      throw UnbuiltBatchError(definition: self, batch: batch)
    }
    return try make(batch)
  }
}

/// A batch size the program was not built for.
public struct UnbuiltBatchError: Error, CustomStringConvertible {
  public let definition: ProgramDefinition
  public let batch: Int

  public var description: String {
    let built = definition.batchSizes.map(String.init).joined(separator: ", ")
    return "program '\(definition.name)' is not built for batch size \(batch) (built: \(built)); "
      + "add \(batch) to batchSizes in \(definition.file) and rebuild"
  }
}
