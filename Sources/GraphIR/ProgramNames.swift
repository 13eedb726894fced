/// The names a training program and the runtime that runs it agree on: the evaluation entry
/// points, the inputs and outputs the runtime fills and reads, and the scope of the projection
/// head. The DSL builds programs with these names and the runtime looks them up, so neither
/// spells them on its own.
public enum ProgramNames {
  /// Eval-mode backbone features of a batch of images.
  public static let encode = "encode"
  /// The features and every head layer's output (`head.1`, `head.2`, ...).
  public static let embed = "embed"
  /// The input of `encode` and `embed`.
  public static let images = "images"
  /// The output of `encode` and `embed`, and of every training step: the backbone's features
  /// (of the step's views, for the online probe).
  public static let features = "features"
  /// The input of the `none` step: 1 for the backbone dimensions InfoNCE sees, 0 for the rest
  /// (DirectCLR's subvector; all ones for plain `none`).
  public static let subvectorMask = "subvector_mask"
  /// The input of a training step: 2N views, rows i and i + N two views of image i.
  public static let views = "views"
  /// The scalar input of a data-parallel training entry that picks BatchNorm statistics over
  /// the global batch (1) or over the rank's shard (0).
  public static let syncBatchNorm = "sync_bn"
  /// The output of every training step (and of the linear probe's).
  public static let loss = "loss"
  /// The first inner loss of a bilevel step.
  public static let innerLoss = "inner_loss"
  /// The scope of the projection head's variables, and the prefix of `embed`'s head outputs.
  public static let head = "head"
}
