import GraphIR

/// Runs one entry point of a compiled program (`encode`, `embed`) over a whole image set in
/// batches of the program's batch size and gathers each output as a `FeatureMatrix`.
///
/// The entry must take a single f32 input `images` of shape `[batch, C, H, W]`; each output of
/// shape `[batch, ...]` becomes a matrix with one row per image. The last partial batch is
/// padded with zero images and the padded rows are dropped, so an entry whose rows do not
/// depend on each other (eval-mode BatchNorm) gives the same rows at any batch size.
public struct FeatureExtractor {
  /// The session whose variables (the trained or initial backbone) the entry reads.
  public let session: CompiledSession
  /// The entry point run on every batch.
  public let entry: CompiledEntry

  /// Binds an entry of `session`'s program; throws when it does not exist or does not take
  /// exactly one `images` input of shape `[batch, C, H, W]`.
  public init(session: CompiledSession, entry name: String) throws {
    let entry = try session.program.entry(named: name)
    guard entry.inputs.count == 1, let input = entry.inputs.first,
      input.name == ProgramNames.images,
      input.type.dtype == .f32, input.type.rank == 4,
      input.type.shape[0] == session.program.batch
    else {
      let inputs = entry.inputs.map { "\($0.name): \($0.type)" }.joined(separator: ", ")
      throw TrainingError(
        "entry '\(name)' of '\(session.program.name)' must take one input 'images' of shape "
          + "[\(session.program.batch), C, H, W]; it takes \(inputs)")
    }
    for output in entry.outputs
    where output.type.dtype != .f32 || output.type.shape.first != session.program.batch {
      throw TrainingError(
        "output '\(output.name)' of entry '\(name)' is \(output.type); features need f32 "
          + "[\(session.program.batch), ...]")
    }
    self.session = session
    self.entry = entry
  }

  /// The images' shape the entry expects, `[C, H, W]`.
  public var imageShape: [Int] { Array(entry.inputs[0].type.shape.dropFirst()) }

  /// Runs the entry over every image, in order; returns one matrix per output (or only those
  /// named in `outputs`), with `images.count` rows.
  public func extract(_ images: LabeledImages, outputs: Set<String>? = nil) throws -> [String:
    FeatureMatrix]
  {
    guard [images.channels, images.height, images.width] == imageShape else {
      throw TrainingError(
        "entry '\(entry.name)' takes images of shape \(imageShape), got "
          + "\([images.channels, images.height, images.width])")
    }
    let batch = session.program.batch
    let wanted = entry.outputs.filter { outputs?.contains($0.name) ?? true }
    if let outputs, let missing = outputs.first(where: { o in !wanted.contains { $0.name == o } }) {
      throw TrainingError("entry '\(entry.name)' has no output '\(missing)'")
    }
    let widths = wanted.map { $0.type.elementCount / batch }
    var gathered = widths.map { [Float](repeating: 0, count: images.count * $0) }
    let input = UnsafeMutableBufferPointer<Float>.allocate(capacity: batch * images.imageSize)
    input.initialize(repeating: 0)
    defer { input.deallocate() }
    for start in stride(from: 0, to: images.count, by: batch) {
      let valid = min(batch, images.count - start)
      let range = (start * images.imageSize)..<((start + valid) * images.imageSize)
      _ = input.update(fromContentsOf: images.pixels[range])
      input[(valid * images.imageSize)...].update(repeating: 0)
      let results = session.run(entry, inputs: [UnsafeRawPointer(input.baseAddress!)])
      for (index, output) in wanted.enumerated() {
        let source = UnsafeBufferPointer(start: results[output.name]!, count: valid * widths[index])
        gathered[index].withUnsafeMutableBufferPointer { target in
          let offset = start * widths[index]
          _ = target[offset..<(offset + source.count)].update(fromContentsOf: source)
        }
      }
    }
    var matrices: [String: FeatureMatrix] = [:]
    for (index, output) in wanted.enumerated() {
      matrices[output.name] = FeatureMatrix(
        rows: images.count, columns: widths[index], values: gathered[index])
    }
    return matrices
  }
}
