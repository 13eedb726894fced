/// A malformed graph: which op, where the DSL created it, what shapes it saw, what was wrong.
public struct IRError: Error, Hashable, Sendable, CustomStringConvertible {
  public var op: Op?
  public var location: SourceLocation?
  public var operandTypes: [TensorType]
  public var message: String

  public init(
    op: Op? = nil, location: SourceLocation? = nil, operandTypes: [TensorType] = [],
    message: String
  ) {
    self.op = op
    self.location = location
    self.operandTypes = operandTypes
    self.message = message
  }

  public var description: String {
    var text = location.map { "\($0): error: " } ?? "error: "
    if let op { text += "\(op.mnemonic): " }
    text += message
    if !operandTypes.isEmpty {
      text += " (operands: \(operandTypes.map(\.description).joined(separator: ", ")))"
    }
    return text
  }
}

/// A shape rule that does not hold; `Graph.append` wraps it into an `IRError`.
public struct ShapeError: Error, Hashable, Sendable {
  public var message: String
  public init(_ message: String) { self.message = message }
}
