import Foundation

/// The data sets `headway train`, `eval` and `study` read, by their command-line spelling.
public enum DatasetName: String, CaseIterable, Codable, Sendable {
  /// Fashion-MNIST's IDX files (Debian's `dataset-fashion-mnist`, the default).
  case fashionMNIST = "fashion-mnist"
  /// MNIST's IDX files, named and laid out as Fashion-MNIST's.
  case mnist
  /// CIFAR-10's binary version (`cifar-10-batches-bin/`).
  case cifar10
  /// CIFAR-100's binary version (`cifar-100-binary/`), fine labels.
  case cifar100
  /// STL-10's binary version (`stl10_binary/`): trains on the unlabelled split.
  case stl10
  /// PNG and JPEG files in the ImageFolder layout, `train/<class>/` and `test/<class>/`.
  case folder

  /// Where the data set lives when `--data` is not given, if it has a standard place.
  public var defaultDirectory: String? {
    self == .fashionMNIST ? FashionMNIST.defaultDirectory : nil
  }
}

/// Which images of a data set a command reads.
public enum DatasetPart: String, Sendable {
  /// The images self-supervised training sees (STL-10: its unlabelled split).
  case training
  /// The labelled training images an evaluation fits its probe on.
  case labeledTrain
  /// The labelled test images an evaluation scores.
  case test
}

/// A data set in a directory: what `--dataset` and `--data` name.
public struct Dataset: Equatable, Sendable {
  public var name: DatasetName
  public var directory: String

  /// The data set `name` in `directory`, or in its default place when `directory` is nil.
  /// - Throws: `TrainingError` when there is no directory and the data set has no default.
  public init(name: DatasetName, directory: String?) throws(TrainingError) {
    guard let directory = directory ?? name.defaultDirectory else {
      throw TrainingError(
        "--dataset \(name.rawValue) needs --data DIR: the directory holding its files "
          + "(\(name.expectedFiles))")
    }
    self.name = name
    self.directory = directory
  }

  /// Loads `part`; `limit` keeps only its first `limit` images. `size` (height, width) is what
  /// a folder of images of several sizes is resized to (the binary formats have one size).
  public func load(
    _ part: DatasetPart, limit: Int? = nil, size: (Int, Int)? = nil
  ) throws(DatasetError) -> LabeledImages {
    let split: FashionMNIST.Split = part == .test ? .test : .train
    switch name {
    case .folder:
      return try ImageFolder.load(split: split, directory: directory, limit: limit, size: size)
    case .fashionMNIST:
      return try FashionMNIST.load(split: split, directory: directory, limit: limit)
    case .mnist:
      return try FashionMNIST.load(
        split: split, directory: directory, limit: limit, dataset: "MNIST",
        hint: "expected \(name.expectedFiles)")
    case .cifar10:
      return try CIFAR10.load(split: split, directory: directory, limit: limit)
    case .cifar100:
      return try CIFAR100.load(split: split, directory: directory, limit: limit)
    case .stl10:
      let stlSplit: STL10.Split =
        switch part {
        case .training: .unlabeled
        case .labeledTrain: .train
        case .test: .test
        }
      return try STL10.load(split: stlSplit, directory: directory, limit: limit)
    }
  }

  /// The data set and its directory, for messages.
  public var description: String { "\(name.rawValue) in \(directory)" }
}

extension DatasetName {
  /// The files a directory of this data set holds, for messages.
  var expectedFiles: String {
    switch self {
    case .fashionMNIST, .mnist:
      "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
        + "t10k-labels-idx1-ubyte, each plain or .gz"
    case .cifar10: "data_batch_1.bin ... data_batch_5.bin and test_batch.bin"
    case .cifar100: "train.bin and test.bin"
    case .stl10: "train_X.bin, train_y.bin, test_X.bin, test_y.bin and unlabeled_X.bin"
    case .folder: "train/<class>/*.png|*.jpg|*.jpeg and test/<class>/..."
    }
  }
}
