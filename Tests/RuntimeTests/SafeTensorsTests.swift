import Foundation
import Runtime
import Testing

/// The bytes of a safetensors file with this header text (unpadded) and data.
private func file(_ header: String, _ data: [UInt8] = []) -> [UInt8] {
  file(Array(header.utf8), data)
}

private func file(_ header: [UInt8], _ data: [UInt8] = []) -> [UInt8] {
  (0..<8).map { UInt8(truncatingIfNeeded: header.count >> (8 * $0)) } + header + data
}

/// The file offset of the first `needle` in `header` (which starts at byte 8).
private func at(_ needle: String, _ header: String) -> Int {
  8 + header.utf8.distance(from: header.startIndex, to: header.range(of: needle)!.lowerBound)
}

/// A one-tensor header entry.
private func entry(_ name: String, _ shape: String, _ offsets: String, dtype: String = "F32")
  -> String
{
  "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":\(offsets)}"
}

/// A malformed file, the offset its error should name and a fragment of its message.
struct CorruptCase: Sendable, CustomTestStringConvertible {
  var label: String
  var bytes: [UInt8]
  var offset: Int?
  var fragment: String
  var testDescription: String { label }

  /// A file whose header is `{` + `entries` + `}`, with `data`, failing at `needle`.
  init(_ label: String, _ entries: String, _ data: Int, at needle: String?, _ fragment: String) {
    let header = "{" + entries + "}"
    self.init(
      label, file(header, [UInt8](repeating: 0, count: data)), needle.map { at($0, header) },
      fragment)
  }

  init(_ label: String, _ bytes: [UInt8], _ offset: Int?, _ fragment: String) {
    (self.label, self.bytes, self.offset, self.fragment) = (label, bytes, offset, fragment)
  }
}

private let w8 = entry("w", "[2]", "[0,8]")

private let corruptCases: [CorruptCase] = [
  CorruptCase("a file shorter than 8 bytes", [1, 2, 3], 0, "file too short"),
  CorruptCase(
    "a header length past the end", [255, 255, 255, 255, 255, 255, 255, 255], 8,
    "header length 18446744073709551615 exceeds the file (8 bytes)"),
  CorruptCase("a header that is not UTF-8", file([0x7b, 0xff, 0x7d]), 8, "not valid UTF-8"),
  CorruptCase("a truncated JSON header", file("{\"w\": "), 14, "unexpected end of the header"),
  CorruptCase(
    "garbage after the JSON", file("{} x"), 11, "unexpected 'x' after the top-level value"),
  CorruptCase("a header that is not an object", file("[1, 2]"), 8, "not a JSON object"),
  CorruptCase(
    "deeply nested JSON", file(String(repeating: "[", count: 100_000)), 8 + 64,
    "nested more than 64 levels"),
  CorruptCase("an unterminated string", file("{\"w"), 9, "unterminated string"),
  CorruptCase("an entry that is not an object", "\"w\":[]", 0, at: "[]", "the entry is an array"),
  CorruptCase(
    "a missing field", "\"w\":{\"dtype\":\"F32\",\"shape\":[2]}", 8, at: "{\"dtype",
    "missing field data_offsets"),
  CorruptCase(
    "an unexpected field", "\"w\":{\"dtype\":\"F32\",\"sharp\":[2]}", 8, at: "\"sharp",
    "unexpected field \"sharp\""),
  CorruptCase(
    "a shape that is not an array", entry("w", "\"2\"", "[0,8]"), 8, at: "\"2\"",
    "shape is not an array"),
  CorruptCase(
    "a dtype that is not a string", "\"w\":{\"dtype\":32}", 8, at: "32",
    "dtype is the number 32, not a string"),
  CorruptCase(
    "a negative offset", entry("w", "[2]", "[0,-8]"), 8, at: "-8",
    "data_offsets holds the number -8"),
  CorruptCase("a fractional offset", entry("w", "[2]", "[0,8.0]"), 8, at: "8.0", "not an integer"),
  CorruptCase(
    "an offset beyond 64 bits", entry("w", "[2]", "[0,18446744073709551616]"), 8, at: "1844",
    "not an integer in 0..<2^63"),
  CorruptCase(
    "a huge offset", entry("w", "[2]", "[0,9223372036854775807]"), 8, at: "[0,9",
    "span 9223372036854775807"),
  CorruptCase(
    "a shape whose size overflows", entry("w", "[4294967296,4294967296,4]", "[0,8]"), 8,
    at: "[0,8]", "needs more than 2^63 bytes"),
  CorruptCase(
    "an unknown dtype", entry("w", "[2]", "[0,8]", dtype: "F33"), 8, at: "{\"dtype",
    "unknown dtype \"F33\""),
  CorruptCase(
    "a non-F32 dtype", entry("w", "[2]", "[0,8]", dtype: "I32"), 8, at: "{\"dtype",
    "dtype I32 is not supported, only F32"),
  CorruptCase(
    "a shape that does not match the offsets", entry("w", "[3]", "[0,8]"), 8, at: "[0,8]",
    "needs 12 bytes of F32, but data_offsets [0, 8] span 8"),
  CorruptCase("reversed offsets", entry("w", "[0]", "[8,0]"), 8, at: "[8,0]", "reversed"),
  CorruptCase("three offsets", entry("w", "[2]", "[0,8,8]"), 8, at: "[0,8,8]", "expected 2"),
  CorruptCase(
    "offsets past the data", entry("w", "[2]", "[8,16]"), 8, at: "[8,16]",
    "run past the data (8 bytes)"),
  CorruptCase(
    "overlapping tensors", w8 + "," + entry("v", "[2]", "[4,12]"), 12, at: "[4,12]",
    "overlap a tensor ending at 8"),
  CorruptCase(
    "a gap between tensors", w8 + "," + entry("v", "[2]", "[12,20]"), 20, at: "[12,20]",
    "leave 4 bytes unused before them"),
  CorruptCase(
    "a gap before the first tensor", entry("w", "[2]", "[4,12]"), 12, at: "[4,12]",
    "leave 4 bytes unused before them"),
  CorruptCase("trailing bytes after the last tensor", w8, 12, at: nil, "4 trailing bytes"),
  CorruptCase(
    "duplicate tensor names", w8 + "," + entry("w", "[0]", "[8,8]"), 8,
    at: "\"w\":{\"dtype\":\"F32\",\"shape\":[0]", "duplicate tensor name \"w\""),
  CorruptCase(
    "a metadata value that is not a string", "\"__metadata__\":{\"step\":1}", 0, at: "1}",
    "value for \"step\" is not a string"),
  CorruptCase(
    "a number with a leading zero", entry("w", "[2]", "[0,08]"), 8, at: "08]", "malformed"),
  CorruptCase("a bad escape in a string", "\"w\\q\":1", 0, at: "\\q", "invalid escape"),
]

@Suite struct SafeTensorsTests {
  let directory = TemporaryDirectory()

  /// Tensors in non-alphabetical order, a scalar, an empty tensor and awkward metadata.
  let checkpoint = Checkpoint(
    tensors: [
      CheckpointTensor(
        name: "conv.weight", shape: [2, 1, 2, 2], values: (0..<8).map { Float($0) / 4 - 1 }),
      CheckpointTensor(
        name: "bn.mean", shape: [3], values: [-0.0, .infinity, .leastNonzeroMagnitude]),
      CheckpointTensor(name: "empty", shape: [0, 4], values: []),
      CheckpointTensor(name: "step", shape: [], values: [42]),
      CheckpointTensor(
        name: "Ünïcode \"name\"", shape: [1, 2], values: [.pi, -.greatestFiniteMagnitude]),
    ],
    metadata: ["format": "headway-checkpoint-1", "note": "β \"quoted\"\n\\ end", "": "empty key"])

  @Test func `encode then decode gives the same checkpoint bit for bit`() throws {
    let decoded = try SafeTensors.decode(SafeTensors.encode(checkpoint), file: "memory")
    #expect(decoded == checkpoint)
    #expect(
      decoded.tensors.map { $0.values.map(\.bitPattern) }
        == checkpoint.tensors.map { $0.values.map(\.bitPattern) })
  }

  @Test func `write then read gives the same checkpoint`() throws {
    let path = directory.file("ckpt.safetensors")
    try SafeTensors.write(checkpoint, to: path)
    #expect(try SafeTensors.read(path: path) == checkpoint)
    #expect(try SafeTensors.read(path: path).tensor(named: "step")?.values == [42])
  }

  @Test func `the same checkpoint always encodes to the same bytes`() {
    var reordered = checkpoint
    reordered.metadata = [:]
    for key in checkpoint.metadata.keys.sorted().reversed() {
      reordered.metadata[key] = checkpoint.metadata[key]
    }
    #expect(SafeTensors.encode(checkpoint) == SafeTensors.encode(checkpoint))
    #expect(SafeTensors.encode(reordered) == SafeTensors.encode(checkpoint))
  }

  @Test func `a small checkpoint encodes to exactly the expected bytes`() {
    let bytes = SafeTensors.encode(
      Checkpoint(
        tensors: [CheckpointTensor(name: "x", shape: [1], values: [1])], metadata: ["a": "b"]))
    let json = #"{"__metadata__":{"a":"b"},"x":{"data_offsets":[0,4],"dtype":"F32","shape":[1]}}"#
    let header = Array(json.utf8) + [UInt8](repeating: 0x20, count: 8 - json.utf8.count % 8)
    #expect(bytes == file(header, [0x00, 0x00, 0x80, 0x3f]))
  }

  @Test func `the header is 8-byte aligned JSON with keys shapes and offsets in data order`() throws
  {
    let bytes = SafeTensors.encode(checkpoint)
    let length = (0..<8).reduce(0) { $0 | Int(bytes[$1]) << (8 * $1) }
    #expect(length % 8 == 0)
    let header = try #require(
      JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + length)])) as? [String: Any])
    #expect(Set(header.keys) == Set(checkpoint.tensors.map(\.name) + ["__metadata__"]))
    #expect(header["__metadata__"] as? [String: String] == checkpoint.metadata)
    var offset = 0
    for tensor in checkpoint.tensors {
      let entry = try #require(header[tensor.name] as? [String: Any])
      #expect(entry["dtype"] as? String == "F32")
      #expect(entry["shape"] as? [Int] == tensor.shape)
      #expect(entry["data_offsets"] as? [Int] == [offset, offset + 4 * tensor.values.count])
      offset += 4 * tensor.values.count
    }
    #expect(bytes.count == 8 + length + offset)
  }

  @Test func `decode accepts any key order padding and no metadata`() throws {
    let header = "{" + entry("b", "[1]", "[4,8]") + "," + entry("a", "[1]", "[0,4]") + "}   \n "
    let decoded = try SafeTensors.decode(file(header, [0, 0, 128, 63, 0, 0, 0, 64]), file: "f")
    #expect(
      decoded
        == Checkpoint(tensors: [
          CheckpointTensor(name: "a", shape: [1], values: [1]),
          CheckpointTensor(name: "b", shape: [1], values: [2]),
        ]))
  }

  @Test(arguments: corruptCases)
  func `a corrupt file gives an error naming the file and the offset`(_ corrupt: CorruptCase) {
    let name = "run/ckpt.safetensors"
    #expect(throws: CheckpointError.self) { try SafeTensors.decode(corrupt.bytes, file: name) }
    do {
      _ = try SafeTensors.decode(corrupt.bytes, file: name)
    } catch {
      #expect(error.offset == corrupt.offset ?? error.offset)
      #expect(
        error.description.hasPrefix(name + ": " + (error.offset.map { "offset \($0): " } ?? "")))
      #expect(error.description.contains(corrupt.fragment), "\(error)")
    }
  }

  @Test func `the header-length error reads as documented`() {
    let bytes = [UInt8](file([UInt8](repeating: 0x20, count: 112)))
    var patched = bytes
    patched.replaceSubrange(
      0..<8, with: (0..<8).map { UInt8(truncatingIfNeeded: 999_999 >> (8 * $0)) })
    #expect(
      throws: CheckpointError(
        file: "run/ckpt.safetensors", offset: 8,
        message: "header length 999999 exceeds the file (120 bytes)")
    ) {
      try SafeTensors.decode(patched, file: "run/ckpt.safetensors")
    }
  }

  @Test func `trailing bytes are reported at the end of the last tensor`() {
    let header = "{" + w8 + "}"
    #expect(
      throws: CheckpointError(
        file: "f", offset: 8 + header.utf8.count + 8,
        message: "4 trailing bytes after the last tensor's data")
    ) {
      try SafeTensors.decode(file(header, [UInt8](repeating: 0, count: 12)), file: "f")
    }
  }

  @Test func `reading a missing file names it`() {
    let path = directory.file("missing.safetensors")
    #expect(throws: CheckpointError(file: path, message: "cannot open: No such file or directory"))
    {
      try SafeTensors.read(path: path)
    }
  }

  @Test func `writing an unencodable checkpoint is an error and creates nothing`() {
    let path = directory.file("bad.safetensors")
    for tensors in [
      [CheckpointTensor(name: "a", shape: [2], values: [1])],
      [
        CheckpointTensor(name: "a", shape: [], values: [1]),
        CheckpointTensor(name: "a", shape: [], values: [2]),
      ],
      [CheckpointTensor(name: "__metadata__", shape: [], values: [1])],
    ] {
      #expect(throws: CheckpointError.self) {
        try SafeTensors.write(Checkpoint(tensors: tensors), to: path)
      }
    }
    #expect(!FileManager.default.fileExists(atPath: path))
  }

  @Test func `writing into a missing directory fails and creates nothing`() {
    let missing = directory.file("no-such-dir")
    let path = missing + "/ckpt.safetensors"
    #expect(throws: CheckpointError.self) { try SafeTensors.write(checkpoint, to: path) }
    #expect(!FileManager.default.fileExists(atPath: missing))
  }

  @Test func `a failed write leaves the old file intact and no temporary file`() throws {
    let path = directory.file("ckpt.safetensors")
    try SafeTensors.write(checkpoint, to: path)
    let old = try Data(contentsOf: URL(fileURLWithPath: path))
    // The temporary file cannot be created where a directory already stands.
    let blocker = "\(path).tmp-\(ProcessInfo.processInfo.processIdentifier)"
    try FileManager.default.createDirectory(atPath: blocker, withIntermediateDirectories: false)
    #expect(throws: CheckpointError.self) { try SafeTensors.write(Checkpoint(), to: path) }
    #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == old)
    try FileManager.default.removeItem(atPath: blocker)
    // The rename fails over a non-empty directory; the temporary file is removed.
    let target = directory.file("occupied")
    try FileManager.default.createDirectory(
      atPath: target + "/inside", withIntermediateDirectories: true)
    #expect(throws: CheckpointError.self) { try SafeTensors.write(checkpoint, to: target) }
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == [
        "ckpt.safetensors", "occupied",
      ])
  }

  @Test func `a successful write replaces the file and leaves no temporary file`() throws {
    let path = directory.file("ckpt.safetensors")
    try SafeTensors.write(Checkpoint(metadata: ["old": "yes"]), to: path)
    try SafeTensors.write(checkpoint, to: path)
    #expect(try SafeTensors.read(path: path) == checkpoint)
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["ckpt.safetensors"])
  }

  @Test func `truncated or bit-flipped files are rejected or decoded without crashing`() {
    let bytes = SafeTensors.encode(checkpoint)
    for count in 0..<bytes.count {
      #expect(throws: CheckpointError.self) {
        try SafeTensors.decode(Array(bytes[..<count]), file: "f")
      }
    }
    for index in bytes.indices {
      for flip: UInt8 in [0x01, 0x20, 0x80, 0xff] {
        var damaged = bytes
        damaged[index] ^= flip
        _ = try? SafeTensors.decode(damaged, file: "f")
      }
    }
  }

  /// Whether the project's Python (tools/setup makes `.venv` with safetensors and numpy) is
  /// there; under CI it must be, so the interop tests fail there instead of skipping.
  static var pythonHasSafetensors: Bool {
    ProcessInfo.processInfo.environment["CI"] == "true"
      || python(["-c", "import safetensors, numpy"]).status == 0
  }

  @Test(.enabled(if: SafeTensorsTests.pythonHasSafetensors))
  func `the python safetensors package loads a written checkpoint`() throws {
    var finite = checkpoint
    finite.tensors[1].values = [-0.0, 7.5, 0.25]
    finite.tensors[4].values = [1.5, -2]
    let path = directory.file("python.safetensors")
    try SafeTensors.write(finite, to: path)
    let script = """
      import json, sys, numpy as np
      from safetensors import safe_open
      from safetensors.numpy import load_file
      tensors = load_file(sys.argv[1])
      with safe_open(sys.argv[1], framework="np") as f:
          print(json.dumps(f.metadata(), sort_keys=True))
      for name in sorted(tensors):
          a = tensors[name]
          weights = np.arange(1, a.size + 1, dtype=np.float64)
          total = float((a.astype(np.float64).ravel() * weights).sum())
          print(json.dumps([name, str(a.dtype), list(a.shape), total]))
      """
    let (status, output) = python(["-c", script, path])
    #expect(status == 0, "\(output)")
    let lines = output.split(separator: "\n").map { Data($0.utf8) }
    let metadata = try JSONSerialization.jsonObject(with: try #require(lines.first))
    #expect(metadata as? [String: String] == finite.metadata)
    let rows = try lines.dropFirst().map {
      try #require(JSONSerialization.jsonObject(with: $0) as? [Any])
    }
    let expected = finite.tensors.sorted {
      $0.name.unicodeScalars.lexicographicallyPrecedes($1.name.unicodeScalars)
    }
    #expect(rows.count == expected.count)
    for (row, tensor) in zip(rows, expected) {
      let checksum = tensor.values.enumerated().reduce(0.0) {
        $0 + Double($1.element) * Double($1.offset + 1)
      }
      #expect(row[0] as? String == tensor.name)
      #expect(row[1] as? String == "float32")
      #expect(row[2] as? [Int] == tensor.shape)
      #expect((row[3] as? NSNumber)?.doubleValue == checksum)
    }
  }
}

extension SafeTensorsTests {
  @Test(.enabled(if: SafeTensorsTests.pythonHasSafetensors))
  func `a file written by the python safetensors package decodes`() throws {
    let path = directory.file("from-python.safetensors")
    let script = """
      import sys, numpy as np
      from safetensors.numpy import save_file
      save_file({"b": np.arange(6, dtype=np.float32).reshape(2, 3) / 4, "a": np.float32([-1.5])},
                sys.argv[1], metadata={"step": "7"})
      """
    let (status, output) = python(["-c", script, path])
    #expect(status == 0, "\(output)")
    let decoded = try SafeTensors.read(path: path)
    #expect(decoded.metadata == ["step": "7"])
    #expect(Set(decoded.tensors.map(\.name)) == ["a", "b"])
    #expect(decoded.tensor(named: "a") == CheckpointTensor(name: "a", shape: [1], values: [-1.5]))
    #expect(decoded.tensor(named: "b")?.shape == [2, 3])
    #expect(decoded.tensor(named: "b")?.values == (0..<6).map { Float($0) / 4 })
  }
}

/// Runs python3 with `arguments`; returns its exit status and its standard output and error.
/// The project's virtual environment's Python (`.venv`, made by tools/setup).
private let projectPython = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
    ".venv/bin/python")

private func python(_ arguments: [String]) -> (status: Int32, output: String) {
  let process = Process()
  process.executableURL = projectPython
  process.arguments = arguments
  let pipe = Pipe()
  process.standardOutput = pipe
  process.standardError = pipe
  do { try process.run() } catch { return (-1, "\(error)") }
  let data = pipe.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
