import Foundation
import Runtime
import Testing

/// A checkpoint that does not fit the program is refused, naming the tensor, before any
/// variable is overwritten.
@Suite struct ResumeErrorTests {
  static func session() throws -> CompiledSession {
    CompiledSession(program: try CompiledProgram.named("fmnist-resnet-small", batch: 2))
  }

  static func checkpoint(of session: CompiledSession) -> Checkpoint {
    Checkpoint(
      tensors: session.program.variables.map {
        CheckpointTensor(name: $0.name, shape: $0.type.shape, values: session.read($0.name))
      })
  }

  @Test func aMissingTensorIsNamed() throws {
    let session = try Self.session()
    var checkpoint = Self.checkpoint(of: session)
    let removed = checkpoint.tensors.remove(at: 3)
    #expect {
      try session.restore(from: checkpoint, path: "run/checkpoint.safetensors")
    } throws: { "\($0)".contains("no tensor '\(removed.name)'") }
  }

  @Test func aWrongShapeIsNamedWithBothShapes() throws {
    let session = try Self.session()
    var checkpoint = Self.checkpoint(of: session)
    let name = checkpoint.tensors[0].name
    checkpoint.tensors[0].shape = [checkpoint.tensors[0].values.count]
    #expect {
      try session.restore(from: checkpoint, path: "run/checkpoint.safetensors")
    } throws: { "\($0)".contains("'\(name)' has shape [") && "\($0)".contains("expects") }
  }

  @Test func anotherProgramsTensorsAreRefusedAndNothingIsOverwritten() throws {
    let session = try Self.session()
    let other = CompiledSession(program: try CompiledProgram.named("cifar-resnet18", batch: 2))
    let before = Self.checkpoint(of: session)
    #expect {
      try session.restore(from: Self.checkpoint(of: other), path: "r2.safetensors")
    } throws: { error in
      "\(error)".contains("r2.safetensors") && "\(error)".contains("fmnist-resnet-small")
    }
    #expect(Self.checkpoint(of: session) == before)
  }

  @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: headwayExecutable)))
  func theReferenceEngineRefusesResumeAndCheckpointOptions() throws {
    for option in [["--resume"], ["--checkpoint-every", "5"], ["--stop-after", "3"]] {
      let process = Process()
      process.executableURL = URL(fileURLWithPath: headwayExecutable)
      process.arguments =
        ["train", "--engine", "reference", "--batch", "2", "--out", NSTemporaryDirectory()]
        + option
      let pipe = Pipe()
      process.standardError = pipe
      process.standardOutput = FileHandle.nullDevice
      try process.run()
      let message = String(
        decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      process.waitUntilExit()
      #expect(process.terminationStatus != 0)
      #expect(message.contains(option[0]) && message.contains("--engine compiled"), "\(message)")
    }
  }
}
