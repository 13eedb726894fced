/// One named F32 tensor of a checkpoint: its shape and its row-major values.
public struct CheckpointTensor: Equatable, Sendable {
  /// The tensor's name, unique within its checkpoint.
  public var name: String
  /// The size of each dimension, outermost first; `[]` for a scalar.
  public var shape: [Int]
  /// The elements, row major; `values.count` is the product of `shape`.
  public var values: [Float]

  /// Creates a tensor; `values.count` should equal the product of `shape`.
  public init(name: String, shape: [Int], values: [Float]) {
    self.name = name
    self.shape = shape
    self.values = values
  }
}

/// Named tensors plus string metadata: what a safetensors file holds.
public struct Checkpoint: Equatable, Sendable {
  /// The tensors, in the order their data is laid out in the file.
  public var tensors: [CheckpointTensor]
  /// Free-form string metadata (the file's `__metadata__`).
  public var metadata: [String: String]

  /// Creates a checkpoint from tensors with unique names and metadata.
  public init(tensors: [CheckpointTensor] = [], metadata: [String: String] = [:]) {
    self.tensors = tensors
    self.metadata = metadata
  }

  /// The tensor named `name`, if there is one.
  public func tensor(named name: String) -> CheckpointTensor? {
    tensors.first { $0.name == name }
  }
}

/// Reads and writes checkpoints in the safetensors format
/// (https://github.com/huggingface/safetensors), F32 tensors only.
///
/// A file is an 8-byte little-endian header length `N`, `N` bytes of UTF-8 JSON mapping each
/// tensor name to `{"data_offsets": [begin, end], "dtype": "F32", "shape": [...]}` (plus an
/// optional `"__metadata__"` object of strings), then the tensors' little-endian data,
/// contiguous, with offsets relative to the end of the header.
public enum SafeTensors {
  /// The byte length of the header-length field that starts every file.
  static let prefixSize = 8

  /// The file's bytes. The data section keeps the order of `checkpoint.tensors`; the header
  /// lists `__metadata__` first (omitted when empty), then the tensors with their names and
  /// every other key in byte order, and is padded with spaces so the data starts at a multiple
  /// of 8. The same checkpoint always gives the same bytes.
  ///
  /// - Precondition: `problem(in: checkpoint)` is nil (`write` reports it as an error instead).
  public static func encode(_ checkpoint: Checkpoint) -> [UInt8] {
    if let problem = problem(in: checkpoint) { preconditionFailure("SafeTensors: \(problem)") }
    var entries: [(name: String, json: String)] = []
    var end = 0
    for tensor in checkpoint.tensors {
      let begin = end
      end += 4 * tensor.values.count
      let shape = tensor.shape.map(String.init).joined(separator: ",")
      let json = "{\"data_offsets\":[\(begin),\(end)],\"dtype\":\"F32\",\"shape\":[\(shape)]}"
      entries.append((tensor.name, json))
    }
    var members: [String] = []
    if !checkpoint.metadata.isEmpty {
      let pairs = checkpoint.metadata.sorted { byteOrder($0.key, $1.key) }
      let object = pairs.map { quoted($0.key) + ":" + quoted($0.value) }.joined(separator: ",")
      members.append(quoted(metadataKey) + ":{" + object + "}")
    }
    members += entries.sorted { byteOrder($0.name, $1.name) }.map {
      quoted($0.name) + ":" + $0.json
    }
    var header = Array(("{" + members.joined(separator: ",") + "}").utf8)
    header += repeatElement(UInt8(ascii: " "), count: (8 - header.count % 8) % 8)
    var bytes: [UInt8] = []
    bytes.reserveCapacity(prefixSize + header.count + end)
    bytes += (0..<prefixSize).map { UInt8(truncatingIfNeeded: UInt64(header.count) >> (8 * $0)) }
    bytes += header
    for tensor in checkpoint.tensors {
      #if _endian(little)
        tensor.values.withUnsafeBytes { bytes += $0 }
      #else
        for value in tensor.values {
          withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 }
        }
      #endif
    }
    return bytes
  }

  /// What makes `checkpoint` impossible to encode, or nil: a duplicate or reserved name, a
  /// negative dimension, or a value count that is not the product of the shape.
  public static func problem(in checkpoint: Checkpoint) -> String? {
    var names = Set<String>()
    for tensor in checkpoint.tensors {
      let name = tensor.name
      guard name != metadataKey else { return "a tensor cannot be named \(quoted(name))" }
      guard names.insert(name).inserted else { return "duplicate tensor name \(quoted(name))" }
      guard tensor.shape.allSatisfy({ $0 >= 0 }) else {
        return "tensor \(quoted(name)) has a negative dimension in shape \(tensor.shape)"
      }
      guard elementCount(tensor.shape) == tensor.values.count else {
        return "tensor \(quoted(name)) has shape \(tensor.shape) but \(tensor.values.count) values"
      }
    }
    return nil
  }

  /// Parses and validates the bytes of a safetensors file; `file` names it in errors.
  ///
  /// Every structural rule is checked: the header length, the JSON, each entry's fields and
  /// types, the dtype (only F32 is accepted), that the shape matches the byte range, that the
  /// ranges lie inside the data and tile it exactly (no overlap, gap or trailing bytes), and
  /// that no name repeats. Tensors come back in the order of their data; empty tensors sharing
  /// an offset come in name order.
  public static func decode(_ bytes: [UInt8], file: String) throws(CheckpointError) -> Checkpoint {
    func fail(_ offset: Int?, _ message: String) -> CheckpointError {
      CheckpointError(file: file, offset: offset, message: message)
    }
    guard bytes.count >= prefixSize else {
      throw fail(0, "file too short for a safetensors header: \(bytes.count) bytes, need 8")
    }
    let length = (0..<prefixSize).reduce(UInt64(0)) { $0 | UInt64(bytes[$1]) << (8 * $1) }
    guard length <= UInt64(bytes.count - prefixSize) else {
      throw fail(prefixSize, "header length \(length) exceeds the file (\(bytes.count) bytes)")
    }
    let dataStart = prefixSize + Int(length)
    let header = Array(bytes[prefixSize..<dataStart])
    guard String(validating: header, as: UTF8.self) != nil else {
      throw fail(prefixSize, "the header is not valid UTF-8")
    }
    var parser = JSONParser(text: header, base: prefixSize, file: file)
    let root = try parser.document()
    guard case .object(let members) = root.kind else {
      throw fail(root.at, "the header is not a JSON object")
    }
    var metadata: [String: String] = [:]
    var entries: [Entry] = []
    var names = Set<String>()
    for member in members {
      guard names.insert(member.key).inserted else {
        throw fail(member.keyAt, "duplicate tensor name \(quoted(member.key))")
      }
      if member.key != metadataKey {
        entries.append(try Entry(member.key, member.value, file: file))
        continue
      }
      guard case .object(let pairs) = member.value.kind else {
        throw fail(member.value.at, "__metadata__ is not an object")
      }
      for pair in pairs {
        guard case .string(let value) = pair.value.kind else {
          throw fail(pair.value.at, "__metadata__ value for \(quoted(pair.key)) is not a string")
        }
        guard metadata.updateValue(value, forKey: pair.key) == nil else {
          throw fail(pair.keyAt, "duplicate __metadata__ key \(quoted(pair.key))")
        }
      }
    }
    let dataCount = bytes.count - dataStart
    entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
    var tensors: [CheckpointTensor] = []
    var previousEnd = 0
    for entry in entries {
      let range = "data_offsets [\(entry.begin), \(entry.end)]"
      let name = quoted(entry.name)
      guard entry.end <= dataCount else {
        throw fail(
          entry.offsetsAt, "tensor \(name): \(range) run past the data (\(dataCount) bytes)")
      }
      guard entry.begin >= previousEnd else {
        throw fail(
          entry.offsetsAt, "tensor \(name): \(range) overlap a tensor ending at \(previousEnd)")
      }
      guard entry.begin == previousEnd else {
        throw fail(
          entry.offsetsAt,
          "tensor \(name): \(range) leave \(entry.begin - previousEnd) bytes unused before them")
      }
      previousEnd = entry.end
      let offset = dataStart + entry.begin
      let values = bytes.withUnsafeBytes { raw in
        (0..<(entry.end - entry.begin) / 4).map { i in
          Float(
            bitPattern: UInt32(
              littleEndian: raw.loadUnaligned(fromByteOffset: offset + 4 * i, as: UInt32.self)))
        }
      }
      tensors.append(CheckpointTensor(name: entry.name, shape: entry.shape, values: values))
    }
    guard previousEnd == dataCount else {
      throw fail(
        dataStart + previousEnd,
        "\(dataCount - previousEnd) trailing bytes after the last tensor's data")
    }
    return Checkpoint(tensors: tensors, metadata: metadata)
  }

  /// Writes `checkpoint` to `path` atomically: a reader or a crash sees the old file or the new
  /// one, and a failed write leaves an existing file untouched and no temporary file behind.
  public static func write(_ checkpoint: Checkpoint, to path: String) throws(CheckpointError) {
    if let problem = problem(in: checkpoint) { throw CheckpointError(file: path, message: problem) }
    do {
      try writeAtomically(encode(checkpoint), to: path)
    } catch {
      throw CheckpointError(file: path, message: error.message)
    }
  }

  /// Reads and validates the safetensors file at `path` (see `decode`).
  public static func read(path: String) throws(CheckpointError) -> Checkpoint {
    let bytes: [UInt8]
    do {
      bytes = try readWholeFile(path)
    } catch {
      throw CheckpointError(file: path, message: error.message)
    }
    return try decode(bytes, file: path)
  }

  static let metadataKey = "__metadata__"
}

/// One tensor's header entry, checked on its own (the ranges are checked together later).
private struct Entry {
  var name: String
  var shape: [Int]
  var begin: Int
  var end: Int
  /// The file offset of the entry's `data_offsets` value, for errors about the range.
  var offsetsAt: Int

  init(_ name: String, _ node: JSONNode, file: String) throws(CheckpointError) {
    func fail(_ at: Int, _ message: String) -> CheckpointError {
      CheckpointError(file: file, offset: at, message: "tensor \(quoted(name)): \(message)")
    }
    func integers(_ node: JSONNode, _ field: String) throws(CheckpointError) -> [Int] {
      guard case .array(let items) = node.kind else {
        throw fail(node.at, "\(field) is not an array")
      }
      var result: [Int] = []
      for item in items {
        guard case .number(let text) = item.kind, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
          let value = Int(text)
        else { throw fail(item.at, "\(field) holds \(item.kind.name), not an integer in 0..<2^63") }
        result.append(value)
      }
      return result
    }
    guard case .object(let fields) = node.kind else {
      throw fail(node.at, "the entry is \(node.kind.name), not an object")
    }
    var dtype: String?
    var shape: [Int]?
    var offsets: [Int]?
    offsetsAt = node.at
    for field in fields {
      switch field.key {
      case "dtype" where dtype == nil:
        guard case .string(let text) = field.value.kind else {
          throw fail(field.value.at, "dtype is \(field.value.kind.name), not a string")
        }
        dtype = text
      case "shape" where shape == nil: shape = try integers(field.value, "shape")
      case "data_offsets" where offsets == nil:
        offsets = try integers(field.value, "data_offsets")
        offsetsAt = field.value.at
      case "dtype", "shape", "data_offsets": throw fail(field.keyAt, "duplicate field \(field.key)")
      default: throw fail(field.keyAt, "unexpected field \(quoted(field.key))")
      }
    }
    guard let dtype, let shape, let offsets else {
      let missing = dtype == nil ? "dtype" : shape == nil ? "shape" : "data_offsets"
      throw fail(node.at, "missing field \(missing)")
    }
    guard dtype == "F32" else {
      let known = "F64 F16 BF16 I64 I32 I16 I8 U64 U32 U16 U8 BOOL".split(separator: " ")
      throw fail(
        node.at,
        known.contains(Substring(dtype)) || dtype.hasPrefix("F8_")
          ? "dtype \(dtype) is not supported, only F32" : "unknown dtype \(quoted(dtype))")
    }
    guard offsets.count == 2 else {
      throw fail(offsetsAt, "data_offsets has \(offsets.count) elements, expected 2")
    }
    (self.name, self.shape, begin, end) = (name, shape, offsets[0], offsets[1])
    guard begin <= end else {
      throw fail(offsetsAt, "data_offsets [\(begin), \(end)] are reversed")
    }
    let count = elementCount(shape)
    guard let count, count <= (end - begin) / 4, count * 4 == end - begin else {
      throw fail(
        offsetsAt,
        "shape \(shape) needs \(count.map { "\($0 * 4)" } ?? "more than 2^63") bytes of F32,"
          + " but data_offsets [\(begin), \(end)] span \(end - begin)")
    }
  }
}

/// Byte order of the UTF-8 encodings, the order of the header's keys.
private func byteOrder(_ a: String, _ b: String) -> Bool {
  a.utf8.lexicographicallyPrecedes(b.utf8)
}

/// The product of `shape`, or nil when it overflows `Int`.
private func elementCount(_ shape: [Int]) -> Int? {
  var count = 1
  for size in shape {
    let (product, overflow) = count.multipliedReportingOverflow(by: size)
    if overflow { return nil }
    count = product
  }
  return count
}
