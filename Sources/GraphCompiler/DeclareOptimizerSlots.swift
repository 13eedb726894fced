import GraphIR

// Declare optimizer slots: declares, for every `<kind>_update` statement, the zero-initialised
// program variables its rule keeps (`UpdateRule.slots`) and leaves the statements in place: the
// compiled path runs each entry's updates as one flat loop per rule over the state arena
// (`hw_optimize`), the interpreter applies them directly. `LowerOptimizerUpdates` declares the
// same slots and writes the arithmetic out instead (the reference path).
// Requires: updates only on declared variables. Guarantees: every slot an update uses is
// declared once, with role `slot`, after the variables declared before.

/// Declares the optimizer slots of every update statement, keeping the statements.
public struct DeclareOptimizerSlots: ProgramPass {
  public let name = "declare-optimizer-slots"
  public init() {}

  public func run(_ program: Program) throws(IRError) -> ProgramPassResult {
    var program = program
    let before = program.variables.count
    for entry in program.entries {
      for node in entry.graph.nodes {
        guard case .update(let rule) = node.op else { continue }
        program.declareSlots(of: rule, type: node.type)
      }
    }
    return ProgramPassResult(program: program, changed: program.variables.count != before)
  }
}

extension Program {
  /// Declares the rule's slots that are not declared yet, zero-initialised.
  mutating func declareSlots(of rule: UpdateRule, type: TensorType) {
    for slot in rule.slots(of: type) where variable(named: slot.name) == nil {
      variables.append(Variable(name: slot.name, type: slot.type, role: .slot, initializer: .zeros))
    }
  }
}
