import CImageCodecs
import Foundation
import Runtime
import Testing

/// `headway train` + `eval` end to end on a tiny generated data set in each format, R1 on
/// MNIST's IDX files and R2 on CIFAR-10, CIFAR-100, STL-10 (96x96 images resized to 32) and an
/// image folder (PNG and JPEG files of two sizes), and the errors for data a program cannot take.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: headwayExecutable)))
struct DatasetCommandTests {
  /// Labelled training images: more than one batch of the probe (256).
  static let trainCount = 260
  static let testCount = 20

  /// Random bytes from a seeded generator.
  static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return UInt8(truncatingIfNeeded: state >> 56)
    }
  }

  static func write(_ bytes: [UInt8], _ directory: URL, _ name: String) throws {
    try Data(bytes).write(to: directory.appendingPathComponent(name))
  }

  static func directory(_ name: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory
      .appendingPathComponent("headway-datasets-\(getpid())-\(name)")
    try? FileManager.default.removeItem(at: url)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }

  /// IDX files as MNIST's: 28x28 images and labels 0-9.
  static func mnist() throws -> URL {
    let dir = try directory("mnist")
    for (prefix, count) in [("train", trainCount), ("t10k", testCount)] {
      let header: [UInt8] = [0, 0, 8, 3] + bigEndian(count) + bigEndian(28) + bigEndian(28)
      try write(header + bytes(count * 784, seed: 1), dir, "\(prefix)-images-idx3-ubyte")
      let labels = bytes(count, seed: 2).map { $0 % 10 }
      try write([0, 0, 8, 1] + bigEndian(count) + labels, dir, "\(prefix)-labels-idx1-ubyte")
    }
    return dir
  }

  static func bigEndian(_ value: Int) -> [UInt8] {
    (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * (3 - $0))) }
  }

  /// CIFAR records: `labels` label bytes (each below its class count), then 3072 pixel bytes.
  static func records(_ count: Int, labels: [Int], seed: UInt64) -> [UInt8] {
    let pixels = bytes(count * 3072, seed: seed)
    let values = bytes(count * labels.count, seed: seed + 1)
    return (0..<count).flatMap { i in
      labels.indices.map { UInt8(Int(values[i * labels.count + $0]) % labels[$0]) }
        + pixels[i * 3072..<(i + 1) * 3072]
    }
  }

  static func cifar10() throws -> URL {
    let dir = try directory("cifar10")
    for batch in 1...5 {
      try write(
        records(trainCount / 5, labels: [10], seed: UInt64(batch)), dir, "data_batch_\(batch).bin")
    }
    try write(records(testCount, labels: [10], seed: 9), dir, "test_batch.bin")
    return dir
  }

  static func cifar100() throws -> URL {
    let dir = try directory("cifar100")
    try write(records(trainCount, labels: [20, 100], seed: 3), dir, "train.bin")
    try write(records(testCount, labels: [20, 100], seed: 4), dir, "test.bin")
    return dir
  }

  static func stl10() throws -> URL {
    let dir = try directory("stl10")
    let image = 3 * 96 * 96
    for (split, count) in [("train", trainCount), ("test", testCount)] {
      try write(bytes(count * image, seed: 5), dir, "\(split)_X.bin")
      try write(bytes(count, seed: 6).map { $0 % 10 + 1 }, dir, "\(split)_y.bin")
    }
    try write(bytes(6 * image, seed: 7), dir, "unlabeled_X.bin")
    return dir
  }

  /// The ImageFolder layout: ten classes, PNG and JPEG files alternating, 32x32 and 40x36.
  static func folder() throws -> URL {
    let dir = try directory("folder")
    for (split, count) in [("train", trainCount), ("test", testCount)] {
      for i in 0..<count {
        let (width, height) = i % 3 == 0 ? (40, 36) : (32, 32)
        let folder = dir.appendingPathComponent("\(split)/class\(i % 10)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let pixels = bytes(width * height * 3, seed: UInt64(i))
        let path = folder.appendingPathComponent("\(i).\(i % 2 == 0 ? "png" : "jpg")").path
        let status =
          i % 2 == 0
          ? hw_image_write_png(path, pixels, Int32(width), Int32(height), 3)
          : hw_image_write_jpeg(path, pixels, Int32(width), Int32(height), 3, 90)
        #expect(status == 0)
      }
    }
    return dir
  }

  /// Runs the headway executable (in `environment`, or this process's); returns its exit
  /// status and standard error.
  static func headway(
    _ arguments: [String], environment: [String: String]? = nil
  ) throws -> (status: Int32, error: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: headwayExecutable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let errors = Pipe()
    process.standardOutput = FileHandle.nullDevice
    process.standardError = errors
    try process.run()
    let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, text)
  }

  static let cases: [(dataset: String, program: String)] = [
    ("mnist", "fmnist-resnet-small"), ("cifar10", "cifar-resnet18"),
    ("cifar100", "cifar-resnet18"), ("stl10", "cifar-resnet18"), ("folder", "cifar-resnet18"),
  ]

  @Test(arguments: cases)
  func trainAndEvalRunOnATinyDataSetInEachFormat(dataset: String, program: String) throws {
    let data =
      switch dataset {
      case "mnist": try Self.mnist()
      case "cifar10": try Self.cifar10()
      case "cifar100": try Self.cifar100()
      case "stl10": try Self.stl10()
      default: try Self.folder()
      }
    defer { try? FileManager.default.removeItem(at: data) }
    let run = data.appendingPathComponent("run").path
    let train = try Self.headway([
      "train", "--program", program, "--dataset", dataset, "--data", data.path, "--batch", "2",
      "--limit", "4", "--epochs", "1", "--threads", "2", "--out", run,
    ])
    #expect(train.status == 0, "\(train.error)")
    let config =
      try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8)
      .split(separator: "\n").first ?? ""
    #expect(config.contains("\"dataset\":\"\(dataset)\""))
    let eval = try Self.headway(["eval", run, "--threads", "2"])
    #expect(eval.status == 0, "\(eval.error)")
    let scores = try JSONSerialization.jsonObject(
      with: Data(contentsOf: URL(fileURLWithPath: run + "/eval.json")))
    let text = String(describing: scores)
    #expect(text.contains("trained backbone"), "\(text)")
  }

  @Test func colourDataInAGrayscaleProgramIsAnErrorNamingBothShapesAndWritesNothing() throws {
    let data = try Self.cifar10()
    defer { try? FileManager.default.removeItem(at: data) }
    let run = data.appendingPathComponent("run").path
    let result = try Self.headway([
      "train", "--dataset", "cifar10", "--data", data.path, "--batch", "2", "--out", run,
    ])
    #expect(result.status != 0)
    #expect(result.error.contains("[3, 32, 32]") && result.error.contains("[1, 28, 28]"))
    #expect(!FileManager.default.fileExists(atPath: run))
  }

  @Test func aDataSetWithoutAStandardPlaceNeedsData() throws {
    let result = try Self.headway(["train", "--dataset", "stl10", "--batch", "2"])
    #expect(result.status != 0)
    #expect(result.error.contains("--data DIR"), "\(result.error)")
  }
}
