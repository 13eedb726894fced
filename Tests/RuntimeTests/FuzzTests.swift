import Foundation
import GraphIR
import Runtime
import Testing

/// A seeded mutation fuzzer over every reader of untrusted bytes: IDX (raw and gzip), CIFAR-10,
/// CIFAR-100, STL-10, PNG, JPEG, safetensors and the textual IR. Each target starts from a corpus of valid
/// inputs; every iteration mutates one (bit flips, interesting bytes and 32-bit lengths,
/// insertions, deletions, truncation, duplicated chunks) and feeds it to the reader, which must
/// either accept it or reject it with an error that names the file and the byte offset (the
/// line, for IR text), within a second. A crash fails the run. `HEADWAY_FUZZ_ITERATIONS` sets
/// the iterations per target (default 2000; `tools/fuzz` runs more).
@Suite struct FuzzTests {
  static let iterations =
    Int(ProcessInfo.processInfo.environment["HEADWAY_FUZZ_ITERATIONS"] ?? "") ?? 2000

  @Test func idxRejectsMutatedFilesWithTheirOffsets() throws {
    let corpus = [
      idx(dims: [3, 2, 2], data: Array(0..<12)), idx(dims: [5], data: [1, 2, 3, 4, 5]),
      idx(dims: [1, 2, 3], data: Array(repeating: 7, count: 6)),
    ]
    try fuzz("idx", corpus) { bytes in
      do {
        _ = try IDXArray.parse(bytes, file: "t.idx")
        return .accepted
      } catch { return binaryProblem(error, file: "t.idx") }
    }
  }

  @Test func gzipIDXFilesRejectMutationsWithTheirOffsets() throws {
    let directory = TemporaryDirectory()
    let corpus = [directory.write("seed.gz", idx(dims: [2, 2, 2], data: Array(0..<8)), gzip: true)]
      .map { [UInt8](FileManager.default.contents(atPath: $0)!) }
    try fuzzFile("idx.gz", corpus, "fuzz.gz", in: directory) {
      _ = try IDXArray.read(path: directory.file("fuzz.gz"))
    }
  }

  @Test func cifar10RejectsMutatedBatchesWithTheirOffsets() throws {
    let directory = TemporaryDirectory()
    let corpus = [cifarRecords([[3], [9]]), cifarRecords([[0]])]
    try fuzzFile("cifar10", corpus, "test_batch.bin", in: directory) {
      _ = try CIFAR10.load(split: .test, directory: directory.path)
    }
  }

  @Test func cifar100RejectsMutatedFilesWithTheirOffsets() throws {
    let directory = TemporaryDirectory()
    let corpus = [cifarRecords([[3, 70], [19, 99]])]
    try fuzzFile("cifar100", corpus, "test.bin", in: directory) {
      _ = try CIFAR100.load(split: .test, directory: directory.path)
    }
  }

  @Test func stl10RejectsMutatedLabelAndImageFilesWithTheirOffsets() throws {
    let directory = TemporaryDirectory()
    let images = [UInt8]((0..<(2 * 3 * 96 * 96)).map { UInt8($0 % 251) })
    directory.write("test_X.bin", images)
    try fuzzFile("stl10 labels", [[1, 10]], "test_y.bin", in: directory, orOther: "test_X.bin") {
      _ = try STL10.load(split: .test, directory: directory.path)
    }
  }

  @Test func pngAndJPEGFilesRejectMutationsWithTheirOffsets() throws {
    let directory = TemporaryDirectory()
    try FileManager.default.createDirectory(
      atPath: directory.file("train/a"), withIntermediateDirectories: true)
    for (format, jpeg) in [("png", false), ("jpg", true)] {
      let seed = ImageFolderTests.write(
        directory.file("seed.\(format)"), width: 12, height: 9, channels: 3, jpeg: jpeg)
      let corpus = [[UInt8](FileManager.default.contents(atPath: seed)!)]
      try fuzzFile(format, corpus, "train/a/0.\(format)", in: directory) {
        _ = try ImageFolder.load(split: .train, directory: directory.path)
      }
      try FileManager.default.removeItem(atPath: directory.file("train/a/0.\(format)"))
    }
  }

  @Test func safetensorsRejectsMutatedCheckpointsWithTheirOffsets() throws {
    let checkpoint = Checkpoint(
      tensors: [
        CheckpointTensor(name: "a.weight", shape: [2, 3], values: [1, 2, 3, 4, 5, 6]),
        CheckpointTensor(name: "b", shape: [], values: [0.5]),
      ],
      metadata: ["step": "7", "config": "{\"x\": 1}"])
    try fuzz("safetensors", [SafeTensors.encode(checkpoint), SafeTensors.encode(Checkpoint())]) {
      bytes in
      do {
        _ = try SafeTensors.decode(bytes, file: "c.safetensors")
        return .accepted
      } catch { return binaryProblem(error, file: "c.safetensors") }
    }
  }

  @Test func theIRParserRejectsMutatedTextNamingTheLine() throws {
    let corpus = [
      """
      program "p"
      variable "w" : f32[4,3] parameter normal(0.5, 3)
      entry "step" {
        %0 = input() {name="x"} : f32[2,4]
        %1 = variable() {var="w"} : f32[4,3]
        %2 = matmul(%0, %1) {transpose_a=false, transpose_b=false} : f32[2,3]
        %3 = relu(%2) : f32[2,3]
        %4 = reduce_sum(%3) {axes=[0,1]} : f32[1,1]
        output "loss" = %4
      }
      """,
      """
      %0 = input() {name="x"} : f32[2,1,6,6]
      %1 = constant() {splat=1e-05} : f32[4,1,3,3]
      %2 = conv2d(%0, %1) {stride=1, padding=1} : f32[2,4,6,6] loc("g.swift":12)
      output "y" = %2
      """,
    ].map { Array($0.utf8) }
    try fuzz("ir", corpus) { bytes in
      let text = String(decoding: bytes, as: UTF8.self)
      do {
        _ = try Parser.parseProgram(text)
        return .accepted
      } catch {
        do {
          _ = try Parser.parseGraph(text)
          return .accepted
        } catch {
          return "\(error)".contains("line ") ? .rejected : .problem("no line in: \(error)")
        }
      }
    }
  }
}

/// Fuzzes a reader of files: each mutant is written to `name` in `directory` and `load` run; a
/// third of the iterations, since each goes through the file system. A rejection must name that
/// file (or `other`, beside it).
private func fuzzFile(
  _ target: String, _ corpus: [[UInt8]], _ name: String, in directory: TemporaryDirectory,
  orOther other: String? = nil, load: () throws -> Void
) throws {
  try fuzz(target, corpus, iterations: FuzzTests.iterations / 3) { bytes in
    directory.write(name, bytes)
    do {
      try load()
      return .accepted
    } catch {
      return binaryProblem(
        error, file: directory.file(name), orOther: other.map { directory.file($0) })
    }
  }
}

/// What a reader made of one input.
private enum Verdict: Equatable {
  case accepted, rejected
  case problem(String)
}

/// Runs `body` on `iterations` mutants of the corpus. Records each problem (and each input that
/// took more than a second) with the mutant's seed, and expects a tenth of the mutants at least
/// to be rejected (else the mutations miss the format).
private func fuzz(
  _ target: String, _ corpus: [[UInt8]], iterations: Int = FuzzTests.iterations,
  _ body: ([UInt8]) -> Verdict
) throws {
  var random = SplitMix64(seed: SplitMix64.seed(17, UInt64(target.utf8.count)))
  for input in corpus { #expect(body(input) == .accepted, "\(target): a valid input is rejected") }
  var problems = 0
  var rejected = 0
  for iteration in 0..<iterations {
    let seed = random.next()
    var mutant = corpus[Int(seed % UInt64(corpus.count))]
    var generator = SplitMix64(seed: seed)
    for _ in 0...(generator.next() % 3) { mutate(&mutant, &generator) }
    let start = Date()
    switch body(mutant) {
    case .accepted: break
    case .rejected: rejected += 1
    case .problem(let problem):
      problems += 1
      if problems <= 5 {
        Issue.record("\(target) iteration \(iteration) (seed \(seed)): \(problem)")
      }
    }
    let seconds = Date().timeIntervalSince(start)
    if seconds > 1 { Issue.record("\(target) iteration \(iteration): took \(seconds) s") }
  }
  #expect(rejected >= iterations / 10, "\(target): only \(rejected) of \(iterations) rejected")
}

/// One random change to `bytes`.
private func mutate(_ bytes: inout [UInt8], _ random: inout SplitMix64) {
  let interesting: [UInt32] = [0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x7fff_ffff, 0xffff_ffff]
  let at = bytes.isEmpty ? 0 : Int(random.next() % UInt64(bytes.count))
  switch random.next() % 7 {
  case 0 where !bytes.isEmpty: bytes[at] ^= UInt8(1 << (random.next() % 8))
  case 1 where !bytes.isEmpty:
    bytes[at] = [0, 0xff, 0x7f, 0x80, 0x22, 0x7b][Int(random.next() % 6)]
  case 2 where bytes.count >= 4:
    let value = interesting[Int(random.next() % UInt64(interesting.count))]
    let start = min(at, bytes.count - 4)
    for k in 0..<4 { bytes[start + k] = UInt8(truncatingIfNeeded: value >> (8 * (3 - k))) }
  case 3:
    bytes.insert(
      contentsOf: (0..<(1 + random.next() % 8)).map { _ in UInt8(truncatingIfNeeded: random.next())
      }, at: at)
  case 4 where !bytes.isEmpty:
    bytes.removeSubrange(at..<min(bytes.count, at + 1 + Int(random.next() % 16)))
  case 5: bytes.removeSubrange(at..<bytes.count)
  default:
    let chunk = bytes[at..<min(bytes.count, at + 1 + Int(random.next() % 32))]
    bytes.insert(contentsOf: chunk, at: Int(random.next() % UInt64(bytes.count + 1)))
  }
}

/// Rejected when `error` is a file-format error naming `file` (or `other`) with an offset.
private func binaryProblem(_ error: any Error, file: String, orOther other: String? = nil)
  -> Verdict
{
  guard let error = error as? FileFormatError else {
    return .problem("not a FileFormatError: \(error)")
  }
  guard error.file == file || error.file == other else {
    return .problem("names another file: \(error)")
  }
  return error.offset == nil ? .problem("no offset: \(error)") : .rejected
}
