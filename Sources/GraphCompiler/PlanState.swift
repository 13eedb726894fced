import GraphIR

// Plan state: lays out every variable of a program in one state arena.
// Parameters come first in declaration order, then statistics, then each kind of optimizer
// slot in the same parameter order, so the momentum of parameter i sits at the same offset
// from the momentum block as parameter i from the parameter block: identical layouts, and an
// optimizer over the whole model is one flat loop. Offsets are 64-byte aligned.

/// Where each variable lives in the state arena.
public struct StateLayout: Sendable {
  /// Variables in arena order.
  public var variables: [Variable] = []
  /// Byte offset of each variable.
  public var offsets: [String: Int] = [:]
  public var bytes = 0

  public init(_ program: Program) {
    let parameters = program.variables.filter { $0.role == .parameter }
    let statistics = program.variables.filter { $0.role == .state }
    let slots = program.variables.filter { $0.role == .slot }
    let slotKinds = slots.map { $0.name.split(separator: ".").last.map(String.init) ?? "" }
    var orderedSlots: [Variable] = []
    for kind in Self.unique(slotKinds) {
      for owner in parameters {
        if let slot = slots.first(where: { $0.name == owner.name + "." + kind }) {
          orderedSlots.append(slot)
        }
      }
    }
    orderedSlots += slots.filter { slot in !orderedSlots.contains { $0.name == slot.name } }
    for variable in parameters + statistics + orderedSlots {
      offsets[variable.name] = bytes
      variables.append(variable)
      bytes += PlanMemory.aligned(variable.type.elementCount * 4)
    }
  }

  private static func unique(_ values: [String]) -> [String] {
    var seen = Set<String>()
    return values.filter { seen.insert($0).inserted }
  }
}
