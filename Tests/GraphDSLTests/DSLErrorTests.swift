import GraphDSL
import GraphIR
import Graphs
import Testing

/// The description of the error `build()` throws for a one-entry program recorded by `body`.
private func buildError(_ body: @escaping (GraphBuilder) -> Void) -> String? {
  let builder = ProgramBuilder(name: "bad")
  builder.entry("step", training: true, body)
  let error = #expect(throws: IRError.self) { try builder.build() }
  return error?.description
}

@Suite struct DSLErrorTests {
  @Test func `A convolution with the wrong input channels names its DSL line and both shapes`() {
    let conv = Conv2DLayer("conv", 1, 4, kernel: 3)
    let line = #line - 1
    let message = buildError { b in
      b.output("y", conv(b.input("x", .f32([2, 3, 8, 8]))))
    }
    let text = message ?? ""
    #expect(text.contains("Tests/GraphDSLTests/DSLErrorTests.swift:\(line):"), "\(text)")
    #expect(text.contains("conv2d"), "\(text)")
    #expect(text.contains("f32[2,3,8,8]"), "\(text)")
    #expect(text.contains("f32[4,1,3,3]"), "\(text)")
  }

  @Test func `A linear layer with the wrong inner size names its DSL line and both shapes`() {
    let linear = Linear("fc", 5, 3)
    let line = #line - 1
    let message = buildError { b in
      b.output("y", linear(b.input("x", .f32([2, 4]))))
    }
    let text = message ?? ""
    #expect(text.contains("DSLErrorTests.swift:\(line):"), "\(text)")
    #expect(text.contains("matmul"), "\(text)")
    #expect(text.contains("f32[2,4]"), "\(text)")
    #expect(text.contains("f32[3,5]"), "\(text)")
  }

  @Test func `A layer error inside a Sequential names the layer's line, not the Sequential's`() {
    let wrong = Linear("fc2", 5, 2)
    let line = #line - 1
    let model = Sequential("model", [Linear("fc1", 4, 6), ReLU(), wrong])
    let message = buildError { b in
      b.output("y", model(b.input("x", .f32([2, 4]))))
    }
    let text = message ?? ""
    #expect(text.contains("DSLErrorTests.swift:\(line):"), "\(text)")
    #expect(text.contains("f32[2,6]") && text.contains("f32[2,5]"), "\(text)")
  }

  @Test func `Assigning an undeclared variable is rejected with the variable's name`() {
    let message = buildError { b in
      b.assign("nope", b.input("x", .f32([3])))
    }
    let text = message ?? ""
    #expect(text.contains("'nope'"), "\(text)")
    #expect(text.contains("not declared"), "\(text)")
    #expect(text.contains("step"), "\(text)")
  }

  @Test func `Any batch size from 1 builds and 0 names the program`() throws {
    let definition = try #require(Programs.named("fmnist-resnet-small"))
    #expect(!definition.batchSizes.contains(3))
    let program = try definition.program(batch: 3)
    let views = program.entry(named: "joint.step")?.graph.inputs.first { $0.name == "views" }
    #expect(
      views.map { program.entry(named: "joint.step")!.graph[$0.id].type.shape } == [6, 1, 28, 28])
    do {
      _ = try definition.program(batch: 0)
      Issue.record("batch size 0 was accepted")
    } catch {
      let text = "\(error)"
      #expect(text.contains("fmnist-resnet-small") && text.contains("at least 1"), "\(text)")
    }
  }
}
