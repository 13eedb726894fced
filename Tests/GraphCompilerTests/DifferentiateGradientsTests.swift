import GraphCompiler
import GraphIR
import GraphInterpreter
import Testing

@Suite struct DifferentiateGradientsTests {
  let pass = DifferentiateGradients()

  @Test func `The gradient of sum(x * x) becomes primitive ops multiplying by the other operand`()
    throws
  {
    try expectPass(
      pass,
      """
      %0 = input() {name="x"} : f32[3]
      %1 = mul(%0, %0) : f32[3]
      %2 = reduce_sum(%1) {axes=[0]} : f32[1]
      %3 = reshape(%2) {shape=[]} : f32[]
      %4 = gradient(%3, %0) : f32[3]
      output "g" = %4
      """,
      """
      %0 = input() {name="x"} : f32[3]
      %1 = mul(%0, %0) : f32[3]
      %2 = reduce_sum(%1) {axes=[0]} : f32[1]
      %3 = reshape(%2) {shape=[]} : f32[]
      %4 = constant() {splat=1.0} : f32[]
      %5 = reshape(%4) {shape=[1]} : f32[1]
      %6 = broadcast(%5) {shape=[3]} : f32[3]
      %7 = mul(%6, %0) : f32[3]
      %8 = mul(%6, %0) : f32[3]
      %9 = add(%7, %8) : f32[3]
      output "g" = %9
      """, changed: true)
  }

  @Test func `A graph without gradient or stop_gradient markers is returned unchanged`() throws {
    try expectUnchanged(
      pass,
      """
      %0 = input() {name="x"} : f32[3]
      %1 = mul(%0, %0) : f32[3]
      %2 = reduce_sum(%1) {axes=[0]} : f32[1]
      %3 = reshape(%2) {shape=[]} : f32[]
      output "loss" = %3
      """)
  }

  @Test func `stop_gradient blocks the backward sweep and is removed after expansion`() throws {
    // loss = sum(stop_gradient(x) * x): only the second factor carries a gradient, so
    // d loss / dx = x, with no sum of two contributions. (The product for the stopped
    // factor, %7, is dead; dead-code elimination drops it later.)
    try expectPass(
      pass,
      """
      %0 = input() {name="x"} : f32[3]
      %1 = stop_gradient(%0) : f32[3]
      %2 = mul(%1, %0) : f32[3]
      %3 = reduce_sum(%2) {axes=[0]} : f32[1]
      %4 = reshape(%3) {shape=[]} : f32[]
      %5 = gradient(%4, %0) : f32[3]
      output "g" = %5
      """,
      """
      %0 = input() {name="x"} : f32[3]
      %1 = mul(%0, %0) : f32[3]
      %2 = reduce_sum(%1) {axes=[0]} : f32[1]
      %3 = reshape(%2) {shape=[]} : f32[]
      %4 = constant() {splat=1.0} : f32[]
      %5 = reshape(%4) {shape=[1]} : f32[1]
      %6 = broadcast(%5) {shape=[3]} : f32[3]
      %7 = mul(%6, %0) : f32[3]
      %8 = mul(%6, %0) : f32[3]
      output "g" = %8
      """, changed: true)
  }

  @Test func `A lone stop_gradient is removed and the pass reports a change`() throws {
    try expectPass(
      pass,
      """
      %0 = input() {name="x"} : f32[3]
      %1 = stop_gradient(%0) : f32[3]
      %2 = exp(%1) : f32[3]
      output "y" = %2
      """,
      """
      %0 = input() {name="x"} : f32[3]
      %1 = exp(%0) : f32[3]
      output "y" = %1
      """, changed: true)
  }

  @Test func `The gradient with respect to a value the loss does not depend on is zero`() throws {
    try expectPass(
      pass,
      """
      %0 = input() {name="x"} : f32[3]
      %1 = input() {name="y"} : f32[2,2]
      %2 = exp(%0) : f32[3]
      %3 = reduce_sum(%2) {axes=[0]} : f32[1]
      %4 = reshape(%3) {shape=[]} : f32[]
      %5 = gradient(%4, %1) : f32[2,2]
      output "g" = %5
      """,
      """
      %0 = input() {name="x"} : f32[3]
      %1 = input() {name="y"} : f32[2,2]
      %2 = exp(%0) : f32[3]
      %3 = reduce_sum(%2) {axes=[0]} : f32[1]
      %4 = reshape(%3) {shape=[]} : f32[]
      %5 = constant() {splat=1.0} : f32[]
      %6 = constant() {splat=0.0} : f32[2,2]
      output "g" = %6
      """, changed: true)
  }

  @Test func `Two gradient markers on one loss share one backward sweep`() throws {
    // loss = sum(x * y): one seed, one reshape and one broadcast serve both gradients.
    try expectPass(
      pass,
      """
      %0 = input() {name="x"} : f32[3]
      %1 = input() {name="y"} : f32[3]
      %2 = mul(%0, %1) : f32[3]
      %3 = reduce_sum(%2) {axes=[0]} : f32[1]
      %4 = reshape(%3) {shape=[]} : f32[]
      %5 = gradient(%4, %0) : f32[3]
      %6 = exp(%5) : f32[3]
      %7 = gradient(%4, %1) : f32[3]
      output "gx" = %6
      output "gy" = %7
      """,
      """
      %0 = input() {name="x"} : f32[3]
      %1 = input() {name="y"} : f32[3]
      %2 = mul(%0, %1) : f32[3]
      %3 = reduce_sum(%2) {axes=[0]} : f32[1]
      %4 = reshape(%3) {shape=[]} : f32[]
      %5 = constant() {splat=1.0} : f32[]
      %6 = reshape(%5) {shape=[1]} : f32[1]
      %7 = broadcast(%6) {shape=[3]} : f32[3]
      %8 = mul(%7, %1) : f32[3]
      %9 = mul(%7, %0) : f32[3]
      %10 = exp(%8) : f32[3]
      output "gx" = %10
      output "gy" = %9
      """, changed: true)
  }

  @Test func `A second-order marker expands fully and computes the second derivative`() throws {
    // g = d/dx sum(x^3) = 3 x^2; h = d/dx sum(g * g) = d/dx sum(9 x^4) = 36 x^3.
    let (after, changed) = try runPass(
      pass,
      """
      %0 = input() {name="x"} : f32[3]
      %1 = pow(%0) {exponent=3.0} : f32[3]
      %2 = reduce_sum(%1) {axes=[0]} : f32[1]
      %3 = reshape(%2) {shape=[]} : f32[]
      %4 = gradient(%3, %0) : f32[3]
      %5 = mul(%4, %4) : f32[3]
      %6 = reduce_sum(%5) {axes=[0]} : f32[1]
      %7 = reshape(%6) {shape=[]} : f32[]
      %8 = gradient(%7, %0) : f32[3]
      output "g" = %4
      output "h" = %8
      """)
    #expect(changed)
    check(after, "CHECK-NOT: gradient(\nCHECK-NOT: stop_gradient")
    let x = [0.5, -1.25, 2.0]
    var state: [String: HostTensor] = [:]
    let outputs = try Interpreter().run(
      Parser.parseGraph(after), inputs: ["x": HostTensor(.f32([3]), x)], state: &state)
    let g = try #require(outputs["g"]).scalars
    let h = try #require(outputs["h"]).scalars
    for i in x.indices {
      #expect(abs(g[i] - 3 * x[i] * x[i]) < 1e-12)
      #expect(abs(h[i] - 36 * x[i] * x[i] * x[i]) < 1e-12)
    }
  }

  @Test func `Every marker of a program entry is expanded and the result verifies`() throws {
    let program = try Parser.parseProgram(
      """
      program "p"
      variable "w" : f32[2] parameter zeros

      entry "step" {
        %0 = variable() {var="w"} : f32[2]
        %1 = exp(%0) : f32[2]
        %2 = reduce_sum(%1) {axes=[0]} : f32[1]
        %3 = reshape(%2) {shape=[]} : f32[]
        %4 = gradient(%3, %0) : f32[2]
        %5 = stop_gradient(%4) : f32[2]
        %6 = assign(%5) {var="w"} : f32[2]
        output "loss" = %3
      }
      """)
    let result = try Pipeline([pass]).run(program)
    try Verifier().verify(result)
    let graph = try #require(result.entry(named: "step")).graph
    #expect(!graph.nodes.contains { $0.op == .gradient || $0.op == .stopGradient })
    check(
      Printer(includeLocations: false).print(result),
      """
      CHECK: %1 = exp(%0)
      CHECK: %6 = broadcast(%5) {shape=[2]}
      CHECK-NEXT: %7 = mul(%6, %1) : f32[2]
      CHECK-NEXT: %8 = assign(%7) {var="w"}
      """)
  }
}
