import GraphCompiler
import Testing

@Suite struct SimplifyAlgebraTests {
  let pass = SimplifyAlgebra()

  @Test func `Adding or subtracting zero and multiplying or dividing by one yield the operand`()
    throws
  {
    try expectPass(
      pass,
      """
      %0 = input() {name="x"} : f32[2,3]
      %1 = constant() {splat=0.0} : f32[2,3]
      %2 = constant() {splat=1.0} : f32[2,3]
      %3 = add(%0, %1) : f32[2,3]
      %4 = add(%1, %3) : f32[2,3]
      %5 = sub(%4, %1) : f32[2,3]
      %6 = mul(%5, %2) : f32[2,3]
      %7 = mul(%2, %6) : f32[2,3]
      %8 = div(%7, %2) : f32[2,3]
      output "y" = %8
      """,
      """
      %0 = input() {name="x"} : f32[2,3]
      %1 = constant() {splat=0.0} : f32[2,3]
      %2 = constant() {splat=1.0} : f32[2,3]
      output "y" = %0
      """, changed: true)
  }

  @Test func `A broadcast splat counts as that splat`() throws {
    try expectPass(
      pass,
      """
      %0 = input() {name="x"} : f32[2,3]
      %1 = constant() {splat=1.0} : f32[]
      %2 = broadcast(%1) {shape=[3]} : f32[3]
      %3 = broadcast(%2) {shape=[2,3]} : f32[2,3]
      %4 = mul(%0, %3) : f32[2,3]
      output "y" = %4
      """,
      """
      %0 = input() {name="x"} : f32[2,3]
      %1 = constant() {splat=1.0} : f32[]
      %2 = broadcast(%1) {shape=[3]} : f32[3]
      %3 = broadcast(%2) {shape=[2,3]} : f32[2,3]
      output "y" = %0
      """, changed: true)
  }

  @Test func `Multiplying by zero yields a zero splat of the type`() throws {
    try expectPass(
      pass,
      """
      %0 = input() {name="x"} : f32[2]
      %1 = constant() {splat=0.0} : f32[]
      %2 = broadcast(%1) {shape=[2]} : f32[2]
      %3 = mul(%0, %2) : f32[2]
      %4 = constant() {splat=0.0} : f32[2]
      %5 = mul(%4, %0) : f32[2]
      output "a" = %3
      output "b" = %5
      """,
      """
      %0 = input() {name="x"} : f32[2]
      %1 = constant() {splat=0.0} : f32[]
      %2 = broadcast(%1) {shape=[2]} : f32[2]
      %3 = constant() {splat=0.0} : f32[2]
      %4 = constant() {splat=0.0} : f32[2]
      output "a" = %3
      output "b" = %4
      """, changed: true)
  }

  @Test func `Double negation cancels`() throws {
    try expectPass(
      pass,
      """
      %0 = input() {name="x"} : f32[2]
      %1 = neg(%0) : f32[2]
      %2 = neg(%1) : f32[2]
      %3 = exp(%2) : f32[2]
      output "y" = %3
      """,
      """
      %0 = input() {name="x"} : f32[2]
      %1 = neg(%0) : f32[2]
      %2 = exp(%0) : f32[2]
      output "y" = %2
      """, changed: true)
  }

  @Test func `Movement ops that change nothing disappear`() throws {
    try expectPass(
      pass,
      """
      %0 = input() {name="x"} : f32[2,3]
      %1 = reshape(%0) {shape=[2,3]} : f32[2,3]
      %2 = transpose(%1) {perm=[0,1]} : f32[2,3]
      %3 = broadcast(%2) {shape=[2,3]} : f32[2,3]
      output "y" = %3
      """,
      """
      %0 = input() {name="x"} : f32[2,3]
      output "y" = %0
      """, changed: true)
  }

  @Test func `A reshape of a reshape becomes one reshape`() throws {
    try expectPass(
      pass,
      """
      %0 = input() {name="x"} : f32[2,3]
      %1 = reshape(%0) {shape=[6]} : f32[6]
      %2 = reshape(%1) {shape=[3,2]} : f32[3,2]
      %3 = reshape(%1) {shape=[2,3]} : f32[2,3]
      output "a" = %2
      output "b" = %3
      """,
      """
      %0 = input() {name="x"} : f32[2,3]
      %1 = reshape(%0) {shape=[6]} : f32[6]
      %2 = reshape(%0) {shape=[3,2]} : f32[3,2]
      output "a" = %2
      output "b" = %0
      """, changed: true)
  }

  @Test func `A select with a splat mask picks one side`() throws {
    try expectPass(
      pass,
      """
      %0 = input() {name="a"} : f32[2]
      %1 = input() {name="b"} : f32[2]
      %2 = constant() {splat=1.0} : f32[2]
      %3 = constant() {splat=0.0} : f32[2]
      %4 = select(%2, %0, %1) : f32[2]
      %5 = select(%3, %0, %1) : f32[2]
      output "t" = %4
      output "f" = %5
      """,
      """
      %0 = input() {name="a"} : f32[2]
      %1 = input() {name="b"} : f32[2]
      %2 = constant() {splat=1.0} : f32[2]
      %3 = constant() {splat=0.0} : f32[2]
      output "t" = %0
      output "f" = %1
      """, changed: true)
  }

  @Test func `Multiplying by two, zero minus x, real movement and stop_gradient are kept`() throws {
    try expectUnchanged(
      pass,
      """
      %0 = input() {name="x"} : f32[2,3]
      %1 = constant() {splat=2.0} : f32[2,3]
      %2 = mul(%0, %1) : f32[2,3]
      %3 = constant() {splat=0.0} : f32[2,3]
      %4 = sub(%3, %0) : f32[2,3]
      %5 = div(%2, %1) : f32[2,3]
      %6 = transpose(%0) {perm=[1,0]} : f32[3,2]
      %7 = reshape(%0) {shape=[6]} : f32[6]
      %8 = stop_gradient(%0) : f32[2,3]
      %9 = input() {name="m"} : f32[2,3]
      %10 = select(%9, %0, %2) : f32[2,3]
      output "a" = %2
      output "b" = %4
      output "c" = %5
      output "d" = %6
      output "e" = %7
      output "f" = %8
      output "g" = %10
      """)
  }
}
