import GraphCompiler
import Testing

@Suite struct EliminateDeadCodeTests {
  let pass = EliminateDeadCode()

  @Test func `Nodes no output depends on are dropped and the rest renumbered`() throws {
    try expectPass(
      pass,
      """
      %0 = input() {name="x"} : f32[2,3]
      %1 = exp(%0) : f32[2,3]
      %2 = log(%0) : f32[2,3]
      %3 = neg(%2) : f32[2,3]
      output "y" = %3
      """,
      """
      %0 = input() {name="x"} : f32[2,3]
      %1 = log(%0) : f32[2,3]
      %2 = neg(%1) : f32[2,3]
      output "y" = %2
      """, changed: true)
  }

  @Test func `An assign whose value is not an output is kept with its operands`() throws {
    try expectUnchanged(
      pass,
      """
      %0 = variable() {var="w"} : f32[3]
      %1 = constant() {splat=2.0} : f32[3]
      %2 = mul(%0, %1) : f32[3]
      %3 = assign(%2) {var="w"} : f32[3]
      %4 = input() {name="x"} : f32[3]
      output "y" = %4
      """)
  }

  @Test func `An update keeps its gradient and learning rate alive`() throws {
    try expectPass(
      pass,
      """
      %0 = input() {name="g"} : f32[3]
      %1 = constant() {splat=0.1} : f32[]
      %2 = exp(%0) : f32[3]
      %3 = sgd_update(%0, %1) {var="w", momentum=0.9, weight_decay=0.0} : f32[3]
      """,
      """
      %0 = input() {name="g"} : f32[3]
      %1 = constant() {splat=0.1} : f32[]
      %2 = sgd_update(%0, %1) {var="w", momentum=0.9, weight_decay=0.0} : f32[3]
      """, changed: true)
  }

  @Test func `Unused inputs and constants are dropped`() throws {
    try expectPass(
      pass,
      """
      %0 = input() {name="x"} : f32[2]
      %1 = input() {name="unused"} : f32[2]
      %2 = constant() {splat=1.0} : f32[2]
      output "y" = %0
      """,
      """
      %0 = input() {name="x"} : f32[2]
      output "y" = %0
      """, changed: true)
  }

  @Test func `A graph whose nodes are all used is unchanged`() throws {
    try expectUnchanged(
      pass,
      """
      %0 = input() {name="x"} : f32[2]
      %1 = exp(%0) : f32[2]
      %2 = add(%0, %1) : f32[2]
      output "y" = %2
      output "e" = %1
      """)
  }
}
