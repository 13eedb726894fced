import GraphCompiler
import GraphIR
import GraphInterpreter
import Testing

/// A one-entry program: `step` applies `update` (textual attributes included) to `w` : f32[2]
/// with gradient input `g` and learning rate input `lr`.
private func updateProgram(_ update: String) -> String {
  """
  program "p"
  variable "w" : f32[2] parameter zeros

  entry "step" {
    %0 = input() {name="g"} : f32[2]
    %1 = input() {name="lr"} : f32[]
    %2 = \(update) : f32[2]
  }
  """
}

/// Parses and verifies `text`, runs the pass, verifies and prints the result.
private func lower(_ text: String) throws -> (program: Program, printed: String, changed: Bool) {
  let program = try Parser.parseProgram(text)
  try Verifier().verify(program)
  let result = try LowerOptimizerUpdates().run(program)
  try Verifier().verify(result.program)
  return (result.program, Printer(includeLocations: false).print(result.program), result.changed)
}

/// Expects the slots to be declared zero-initialised slot variables of the given types, the
/// parameter and every slot to be assigned, and no update node to remain.
private func expectLowered(
  _ program: Program, slots: [String: TensorType],
  sourceLocation: Testing.SourceLocation = #_sourceLocation
) throws {
  for (name, type) in slots {
    let slot = program.variable(named: name)
    #expect(slot?.role == .slot, "\(name)", sourceLocation: sourceLocation)
    #expect(slot?.initializer == .zeros, "\(name)", sourceLocation: sourceLocation)
    #expect(slot?.type == type, "\(name)", sourceLocation: sourceLocation)
  }
  #expect(program.variables.count == 1 + slots.count, sourceLocation: sourceLocation)
  let graph = try #require(program.entry(named: "step")).graph
  #expect(
    !graph.nodes.contains { if case .update = $0.op { true } else { false } },
    sourceLocation: sourceLocation)
  let assigned = Set(
    graph.nodes.compactMap { node -> String? in
      if case .assign(let name) = node.op { return name }
      return nil
    })
  #expect(assigned == Set(["w"] + slots.keys), sourceLocation: sourceLocation)
}

@Suite struct LowerOptimizerUpdatesTests {
  @Test func `SGD becomes momentum arithmetic with a zero-initialised momentum slot`() throws {
    let (program, printed, changed) = try lower(
      updateProgram(#"sgd_update(%0, %1) {var="w", momentum=0.9, weight_decay=0.01}"#))
    #expect(changed)
    #expect(
      printed == """
        program "p"
        variable "w" : f32[2] parameter zeros
        variable "w.momentum" : f32[2] slot zeros

        entry "step" {
          %0 = input() {name="g"} : f32[2]
          %1 = input() {name="lr"} : f32[]
          %2 = variable() {var="w"} : f32[2]
          %3 = broadcast(%1) {shape=[2]} : f32[2]
          %4 = variable() {var="w.momentum"} : f32[2]
          %5 = constant() {splat=0.01} : f32[2]
          %6 = mul(%2, %5) : f32[2]
          %7 = add(%0, %6) : f32[2]
          %8 = constant() {splat=0.9} : f32[2]
          %9 = mul(%4, %8) : f32[2]
          %10 = add(%7, %9) : f32[2]
          %11 = mul(%3, %10) : f32[2]
          %12 = assign(%10) {var="w.momentum"} : f32[2]
          %13 = sub(%2, %11) : f32[2]
          %14 = assign(%13) {var="w"} : f32[2]
        }

        """)
    try expectLowered(program, slots: ["w.momentum": .f32([2])])
  }

  @Test func `LARS scales the step by a trust ratio of the parameter and gradient norms`()
    throws
  {
    let (program, printed, changed) = try lower(
      updateProgram(
        #"lars_update(%0, %1) {var="w", momentum=0.9, weight_decay=0.01, trust=0.001, "#
          + #"exclude=false}"#))
    #expect(changed)
    try expectLowered(program, slots: ["w.momentum": .f32([2])])
    check(
      printed,
      """
      CHECK: variable "w.momentum" : f32[2] slot zeros
      CHECK: %4 = variable() {var="w.momentum"}
      CHECK: %5 = constant() {splat=0.01}
      CHECK-NEXT: %6 = mul(%2, %5)
      CHECK-NEXT: %7 = add(%0, %6)
      CHECK: %11 = sqrt(%10) : f32[]
      CHECK: %12 = mul(%7, %7)
      CHECK: %15 = sqrt(%14) : f32[]
      CHECK: %22 = div(%11, %21) : f32[]
      CHECK-NEXT: %23 = constant() {splat=0.001}
      CHECK-NEXT: %24 = mul(%22, %23)
      CHECK: %29 = mul(%28, %7)
      CHECK: %33 = assign(%32) {var="w.momentum"}
      CHECK-NEXT: %34 = sub(%2, %32)
      CHECK-NEXT: %35 = assign(%34) {var="w"}
      CHECK-NOT: _update
      """)
  }

  @Test func `LARS on an excluded parameter is plain momentum SGD without a trust ratio`() throws {
    let (program, printed, changed) = try lower(
      updateProgram(
        #"lars_update(%0, %1) {var="w", momentum=0.9, weight_decay=0.01, trust=0.001, "#
          + #"exclude=true}"#))
    #expect(changed)
    try expectLowered(program, slots: ["w.momentum": .f32([2])])
    check(
      printed,
      """
      CHECK: %4 = variable() {var="w.momentum"}
      CHECK-NEXT: %5 = mul(%3, %0)
      CHECK-NEXT: %6 = constant() {splat=0.9}
      CHECK-NEXT: %7 = mul(%4, %6)
      CHECK-NEXT: %8 = add(%5, %7)
      CHECK-NEXT: %9 = assign(%8) {var="w.momentum"}
      CHECK-NEXT: %10 = sub(%2, %8)
      CHECK-NEXT: %11 = assign(%10) {var="w"}
      CHECK-NOT: reduce_sum
      """)
  }

  @Test func `AdamW declares first and second moment slots and a scalar step counter`() throws {
    let (program, printed, changed) = try lower(
      updateProgram(
        #"adamw_update(%0, %1) {var="w", beta1=0.9, beta2=0.999, epsilon=1e-08, "#
          + #"weight_decay=0.01}"#))
    #expect(changed)
    try expectLowered(
      program, slots: ["w.adam_m": .f32([2]), "w.adam_v": .f32([2]), "w.adam_step": .scalar])
    check(
      printed,
      """
      CHECK: variable "w.adam_m" : f32[2] slot zeros
      CHECK-NEXT: variable "w.adam_v" : f32[2] slot zeros
      CHECK-NEXT: variable "w.adam_step" : f32[] slot zeros
      CHECK: %4 = variable() {var="w.adam_m"} : f32[2]
      CHECK-NEXT: %5 = variable() {var="w.adam_v"} : f32[2]
      CHECK-NEXT: %6 = variable() {var="w.adam_step"} : f32[]
      CHECK-NEXT: %7 = constant() {splat=1.0} : f32[]
      CHECK-NEXT: %8 = add(%6, %7) : f32[]
      CHECK: %14 = mul(%0, %0)
      CHECK: %34 = sqrt(%33)
      CHECK: %39 = mul(%2, %38)
      CHECK: %41 = assign(%13) {var="w.adam_m"}
      CHECK-NEXT: %42 = assign(%19) {var="w.adam_v"}
      CHECK-NEXT: %43 = assign(%8) {var="w.adam_step"}
      CHECK: assign(%45) {var="w"}
      CHECK-NOT: _update
      """)
  }

  @Test func `A program without updates is unchanged`() throws {
    let text = updateProgram(#"exp(%0)"#) + "\n"
    let (program, printed, changed) = try lower(text)
    #expect(!changed)
    #expect(program == (try Parser.parseProgram(text)))
    #expect(printed == text)
  }

  @Test func `Slots already declared are not declared again`() throws {
    let text = """
      program "p"
      variable "w" : f32[2] parameter zeros
      variable "w.momentum" : f32[2] slot zeros

      entry "step" {
        %0 = input() {name="g"} : f32[2]
        %1 = input() {name="lr"} : f32[]
        %2 = sgd_update(%0, %1) {var="w", momentum=0.9, weight_decay=0.0} : f32[2]
      }
      """
    let (program, _, changed) = try lower(text)
    #expect(changed)
    try expectLowered(program, slots: ["w.momentum": .f32([2])])
  }
}
