import GraphCompiler
import GraphIR
import Testing

@Suite struct FoldConstantsTests {
  let pass = FoldConstants()

  @Test func `Elementwise ops of splats fold and leave their operands for DCE`() throws {
    try expectPass(
      pass,
      """
      %0 = constant() {splat=2.0} : f32[2,3]
      %1 = constant() {splat=3.0} : f32[2,3]
      %2 = add(%0, %1) : f32[2,3]
      %3 = neg(%2) : f32[2,3]
      %4 = input() {name="x"} : f32[2,3]
      %5 = mul(%4, %3) : f32[2,3]
      output "y" = %5
      """,
      """
      %0 = constant() {splat=2.0} : f32[2,3]
      %1 = constant() {splat=3.0} : f32[2,3]
      %2 = constant() {splat=5.0} : f32[2,3]
      %3 = constant() {splat=-5.0} : f32[2,3]
      %4 = input() {name="x"} : f32[2,3]
      %5 = mul(%4, %3) : f32[2,3]
      output "y" = %5
      """, changed: true)
  }

  @Test func `Unary ops, pow, compare and select of splats evaluate`() throws {
    try expectPass(
      pass,
      """
      %0 = constant() {splat=4.0} : f32[]
      %1 = rsqrt(%0) : f32[]
      %2 = pow(%0) {exponent=-1.5} : f32[]
      %3 = constant() {splat=-2.0} : f32[]
      %4 = relu(%3) : f32[]
      %5 = cmp_lt(%3, %0) : f32[]
      %6 = select(%5, %0, %3) : f32[]
      %7 = max(%3, %0) : f32[]
      output "a" = %1
      output "b" = %2
      output "c" = %4
      output "d" = %6
      output "e" = %7
      """,
      """
      %0 = constant() {splat=4.0} : f32[]
      %1 = constant() {splat=0.5} : f32[]
      %2 = constant() {splat=0.125} : f32[]
      %3 = constant() {splat=-2.0} : f32[]
      %4 = constant() {splat=0.0} : f32[]
      %5 = constant() {splat=1.0} : f32[]
      %6 = constant() {splat=4.0} : f32[]
      %7 = constant() {splat=4.0} : f32[]
      output "a" = %1
      output "b" = %2
      output "c" = %4
      output "d" = %6
      output "e" = %7
      """, changed: true)
  }

  @Test func `Movement of a splat keeps its value with the new type`() throws {
    try expectPass(
      pass,
      """
      %0 = constant() {splat=2.5} : f32[]
      %1 = broadcast(%0) {shape=[2,3]} : f32[2,3]
      %2 = reshape(%1) {shape=[3,2]} : f32[3,2]
      %3 = transpose(%2) {perm=[1,0]} : f32[2,3]
      %4 = slice(%3) {start=[0,1], size=[2,2]} : f32[2,2]
      output "y" = %4
      """,
      """
      %0 = constant() {splat=2.5} : f32[]
      %1 = constant() {splat=2.5} : f32[2,3]
      %2 = constant() {splat=2.5} : f32[3,2]
      %3 = constant() {splat=2.5} : f32[2,3]
      %4 = constant() {splat=2.5} : f32[2,2]
      output "y" = %4
      """, changed: true)
  }

  @Test func `Sum multiplies by the reduced count while mean and max keep the value`() throws {
    try expectPass(
      pass,
      """
      %0 = constant() {splat=1.5} : f32[2,3,4]
      %1 = reduce_sum(%0) {axes=[0,2]} : f32[1,3,1]
      %2 = reduce_mean(%0) {axes=[1]} : f32[2,1,4]
      %3 = reduce_max(%0) {axes=[0,1,2]} : f32[1,1,1]
      output "s" = %1
      output "m" = %2
      output "x" = %3
      """,
      """
      %0 = constant() {splat=1.5} : f32[2,3,4]
      %1 = constant() {splat=12.0} : f32[1,3,1]
      %2 = constant() {splat=1.5} : f32[2,1,4]
      %3 = constant() {splat=1.5} : f32[1,1,1]
      output "s" = %1
      output "m" = %2
      output "x" = %3
      """, changed: true)
  }

  @Test func `Padding a zero splat folds`() throws {
    try expectPass(
      pass,
      """
      %0 = constant() {splat=0.0} : f32[2]
      %1 = pad(%0) {low=[1], high=[2]} : f32[5]
      output "y" = %1
      """,
      """
      %0 = constant() {splat=0.0} : f32[2]
      %1 = constant() {splat=0.0} : f32[5]
      output "y" = %1
      """, changed: true)
  }

  @Test func `Padding a nonzero splat, concat and non-splat constants are left alone`() throws {
    try expectUnchanged(
      pass,
      """
      %0 = constant() {splat=1.0} : f32[2]
      %1 = pad(%0) {low=[1], high=[0]} : f32[3]
      %2 = concat(%0, %0) {axis=0} : f32[4]
      %3 = constant() {values=[1.0,2.0]} : f32[2]
      %4 = exp(%3) : f32[2]
      %5 = constant() {diagonal=0, value=1.0} : f32[2,2]
      %6 = neg(%5) : f32[2,2]
      output "a" = %1
      output "b" = %2
      output "c" = %4
      output "d" = %6
      """)
  }

  @Test func `Ops on non-constant operands, stop_gradient and assigns are not folded`() throws {
    try expectUnchanged(
      pass,
      """
      %0 = input() {name="x"} : f32[2]
      %1 = constant() {splat=1.0} : f32[2]
      %2 = add(%0, %1) : f32[2]
      %3 = stop_gradient(%1) : f32[2]
      %4 = assign(%1) {var="v"} : f32[2]
      output "y" = %2
      output "z" = %3
      """)
  }

  @Test func `A folded constant keeps the folded node's location`() throws {
    let graph = try Parser.parseGraph(
      """
      %0 = constant() {splat=1.0} : f32[] loc("graphs/a.swift":1)
      %1 = exp(%0) : f32[] loc("graphs/a.swift":7)
      output "y" = %1
      """)
    let result = try pass.run(graph)
    let folded = result.graph[result.graph.outputs[0].node]
    #expect(folded.op == .constant(.splat(2.718281828459045)))
    #expect(folded.location == GraphIR.SourceLocation(file: "graphs/a.swift", line: 7))
  }
}
