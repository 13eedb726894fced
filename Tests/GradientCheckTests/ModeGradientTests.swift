import GradientCheck
import GraphDSL
import GraphIR
import Graphs
import Testing

/// A tiny contrastive model: 1x8x8 images, a stem and one strided basic block, head 8-16-8.
func tinyContrastiveProgram(batch: Int = 2) throws -> Program {
  let backbone = Sequential(
    "backbone",
    [
      Sequential("stem", [Conv2DLayer("conv", 1, 4, kernel: 3), BatchNorm("bn", 4), ReLU()]),
      BasicBlock("block1", 4, 8, stride: 2),
      GlobalAveragePool(),
    ])
  let model = ContrastiveModel(
    name: "tiny", imageShape: [1, 8, 8], backbone: backbone,
    head: ProjectionHead("head", widths: [8, 16, 8]), innerSteps: [2])
  return try model.program(batch: batch)
}

/// The variables an entry's optimizer updates.
func updatedVariables(_ program: Program, entry: String) throws -> [String] {
  try #require(program.entry(named: entry)).graph.nodes.compactMap { node in
    if case .update(let rule) = node.op { return rule.variable }
    return nil
  }
}

/// Runs the gradient check on `entry` and expects one passing report per updated variable.
func expectEntryGradientsMatch(
  _ program: Program, entry: String, tolerance: Double,
  sourceLocation: Testing.SourceLocation = #_sourceLocation
) throws {
  let updated = try updatedVariables(program, entry: entry)
  #expect(!updated.isEmpty, "\(entry) updates nothing", sourceLocation: sourceLocation)
  let check = GradientCheck(tolerance: tolerance, finiteDifferences: false)
  let reports = try check.check(program, entry: entry)
  #expect(reports.count == updated.count, "\(entry)", sourceLocation: sourceLocation)
  #expect(Set(reports.map(\.variable)) == Set(updated), sourceLocation: sourceLocation)
  for report in reports {
    #expect(report.passed, "\(entry): \(report)", sourceLocation: sourceLocation)
  }
}

@Suite struct ModeGradientTests {
  static let trainingEntries = [
    "joint.step", "none.step", "fixed.step", "bilevel.step", "bilevel-unrolled.k2.step",
  ]

  @Test(arguments: trainingEntries)
  func `Every training mode of a tiny contrastive model has correct gradients`(_ entry: String)
    throws
  {
    let program = try tinyContrastiveProgram()
    try expectEntryGradientsMatch(program, entry: entry, tolerance: 1e-8)
  }

  @Test func `The modes update the parameters they should`() throws {
    let program = try tinyContrastiveProgram()
    let head = Set(program.variables.filter { $0.name.hasPrefix("head.") }.map(\.name))
    let backbone = Set(
      program.variables.filter { $0.name.hasPrefix("backbone.") && $0.role == .parameter }
        .map(\.name))
    #expect(Set(try updatedVariables(program, entry: "joint.step")).isSuperset(of: backbone))
    #expect(!Set(try updatedVariables(program, entry: "joint.step")).isDisjoint(with: head))
    for entry in ["none.step", "fixed.step", "bilevel.step", "bilevel-unrolled.k2.step"] {
      #expect(Set(try updatedVariables(program, entry: entry)) == backbone, "\(entry)")
    }
  }

  @Test func `The unrolled hypergradient differs from the first-order bilevel gradient`() throws {
    // Same seed, so the same inputs and directions: only the differentiated function differs.
    let program = try tinyContrastiveProgram()
    let check = GradientCheck(tolerance: 1e-4)
    let firstOrder = try check.check(program, entry: "bilevel.step")
    let unrolled = try check.check(program, entry: "bilevel-unrolled.k2.step")
    #expect(firstOrder.map(\.variable) == unrolled.map(\.variable))
    let differing = zip(firstOrder, unrolled).filter { a, b in
      abs(a.analytic - b.analytic) > 1e-6 * max(abs(a.analytic), abs(b.analytic), 1e-3)
    }
    #expect(!differing.isEmpty)
  }

  @Test(arguments: ["joint.step", "bilevel-unrolled.k1.step"])
  func `The R1 program's reverse-mode gradients match forward mode`(_ entry: String) throws {
    let program = try #require(Programs.named("fmnist-resnet-small")).program(batch: 2)
    try expectEntryGradientsMatch(program, entry: entry, tolerance: 1e-8)
  }
}
