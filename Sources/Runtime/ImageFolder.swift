import Foundation

/// Loader for the ImageFolder layout: `DIR/train/<class>/*.png|*.jpg|*.jpeg` and
/// `DIR/test/<class>/...`, decoded with libpng and libjpeg-turbo.
///
/// Classes are the sorted subdirectory names of `DIR/train`; a test class must be one of them.
/// Files are recognised by extension (case-insensitive) and decoded by content; hidden files and
/// other extensions are skipped. Images are listed class by class in turn (the first file of
/// every class, then the second, ...), so a `limit` prefix spans the classes. Grey images become
/// three channels when any image of the split is colour. Images of one size keep it; images of
/// several sizes are each centre-cropped to the aspect of `size` and resized to it (when no size
/// is given that is an error naming two of the sizes).
public enum ImageFolder {
  /// The file extensions read.
  public static let extensions: Set<String> = ["png", "jpg", "jpeg"]

  /// The class names of the data set: the sorted subdirectories of `directory/train`.
  public static func classNames(directory: String) throws(DatasetError) -> [String] {
    let train = (directory as NSString).appendingPathComponent("train")
    let names = try entries(of: train, directories: true)
    guard !names.isEmpty else {
      throw DatasetError(
        file: train, message: "no class directories here; expected train/<class>/*.png|*.jpg")
    }
    return names
  }

  /// Loads `split` (`train` or `test`); `limit` keeps the first `limit` images of the listing,
  /// `size` (height, width) is the size images of several sizes are brought to.
  public static func load(
    split: FashionMNIST.Split, directory: String, limit: Int? = nil, size: (Int, Int)? = nil
  ) throws(DatasetError) -> LabeledImages {
    let classes = try classNames(directory: directory)
    var files = try listing(split: split, directory: directory, classes: classes)
    files = Array(files.prefix(max(0, limit ?? Int.max)))
    let decoded = try decodeAll(files.map(\.path))
    return try assemble(decoded, labels: files.map(\.label), paths: files.map(\.path), size: size)
  }

  /// The image files of a split with their labels, interleaved across classes.
  static func listing(
    split: FashionMNIST.Split, directory: String, classes: [String]
  ) throws(DatasetError) -> [(path: String, label: Int32)] {
    let root = (directory as NSString).appendingPathComponent(split.rawValue)
    var perClass: [[(path: String, label: Int32)]] = []
    for name in try entries(of: root, directories: true) {
      let folder = (root as NSString).appendingPathComponent(name)
      guard let label = classes.firstIndex(of: name) else {
        throw DatasetError(
          file: folder,
          message: "class '\(name)' is not among the training classes (\(classes.count) in "
            + "\(directory)/train)")
      }
      let images = try entries(of: folder, directories: false).filter {
        extensions.contains(($0 as NSString).pathExtension.lowercased())
      }
      guard !images.isEmpty else {
        throw DatasetError(file: folder, message: "no .png, .jpg or .jpeg files in this class")
      }
      perClass.append(
        images.map { ((folder as NSString).appendingPathComponent($0), Int32(label)) })
    }
    var files: [(path: String, label: Int32)] = []
    for round in 0..<(perClass.map(\.count).max() ?? 0) {
      for list in perClass where round < list.count { files.append(list[round]) }
    }
    return files
  }

  /// The sorted non-hidden entries of `path` that are directories (or files).
  static func entries(of path: String, directories: Bool) throws(DatasetError) -> [String] {
    let names: [String]
    do {
      names = try FileManager.default.contentsOfDirectory(atPath: path)
    } catch {
      throw DatasetError(
        file: path,
        message: "cannot list this directory (expected the layout train/<class>/*.png|*.jpg "
          + "and test/<class>/...): \(error.localizedDescription)")
    }
    return names.filter { name in
      var isDirectory: ObjCBool = false
      let full = (path as NSString).appendingPathComponent(name)
      return !name.hasPrefix(".")
        && FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory)
        && isDirectory.boolValue == directories
    }.sorted()
  }
}
