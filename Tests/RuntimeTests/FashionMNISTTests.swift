import Foundation
import Runtime
import Testing

@Suite struct FashionMNISTTests {
  let directory = TemporaryDirectory()

  /// Writes a small split of `count` 3x2 images (pixel value = image index * 50 + position).
  func writeSplit(
    _ prefix: String, count: Int, labels labelCount: Int? = nil, gzip: Bool = false
  ) {
    let pixels = (0..<count * 6).map { (i: Int) -> UInt8 in UInt8(i / 6 * 50 + i % 6) }
    let labels = (0..<(labelCount ?? count)).map { UInt8($0 % 10) }
    let suffix = gzip ? ".gz" : ""
    directory.write(
      "\(prefix)-images-idx3-ubyte\(suffix)", idx(dims: [count, 3, 2], data: pixels), gzip: gzip)
    directory.write(
      "\(prefix)-labels-idx1-ubyte\(suffix)", idx(dims: [labels.count], data: labels), gzip: gzip)
  }

  func loadError(_ split: FashionMNIST.Split, in path: String) -> DatasetError? {
    do {
      _ = try FashionMNIST.load(split: split, directory: path)
      return nil
    } catch {
      return error
    }
  }

  @Test func `plain and gzipped splits load as scaled NCHW images with labels`() throws {
    writeSplit("train", count: 4)
    writeSplit("t10k", count: 3, gzip: true)
    let train = try FashionMNIST.load(split: .train, directory: directory.path)
    #expect(train.shape == [4, 1, 3, 2])
    #expect(train.labels == [0, 1, 2, 3])
    #expect(Array(train.image(2)) == [100, 101, 102, 103, 104, 105].map { Float($0) / 255 })
    let test = try FashionMNIST.load(split: .test, directory: directory.path)
    #expect(test.count == 3)
    #expect(test.pixels == Array(train.pixels.prefix(18)))
  }

  @Test func `a limit keeps the first images and labels`() throws {
    writeSplit("train", count: 5)
    let all = try FashionMNIST.load(split: .train, directory: directory.path)
    let two = try FashionMNIST.load(split: .train, directory: directory.path, limit: 2)
    #expect(two == all.prefix(2))
    #expect(two.pixels.count == 12)
    #expect(two.labels == [0, 1])
    #expect(try FashionMNIST.load(split: .train, directory: directory.path, limit: 99) == all)
  }

  @Test func `image and label counts that disagree name both files`() throws {
    writeSplit("train", count: 4, labels: 3)
    let error = try #require(loadError(.train, in: directory.path))
    #expect(error.description.contains("train-images-idx3-ubyte"))
    #expect(error.description.contains("train-labels-idx1-ubyte"))
    #expect(error.description.contains("4 images but"))
  }

  @Test func `a label outside the ten classes is rejected with its offset`() throws {
    writeSplit("train", count: 2)
    directory.write("train-labels-idx1-ubyte", idx(dims: [2], data: [3, 12]))
    let error = try #require(loadError(.train, in: directory.path))
    #expect(error.offset == 9)
    #expect(error.description.contains("label 12 of image 1"))
  }

  @Test func `missing files name the directory and the Debian package`() throws {
    let empty = try #require(loadError(.test, in: directory.path))
    #expect(empty.file == directory.path)
    #expect(empty.description.contains("t10k-images-idx3-ubyte"))
    #expect(empty.description.contains("apt-get install -y dataset-fashion-mnist"))
    let nowhere = try #require(loadError(.train, in: directory.file("nope")))
    #expect(nowhere.description.contains("apt-get install -y dataset-fashion-mnist"))
  }

  @Test(.enabled(if: FileManager.default.fileExists(atPath: FashionMNIST.defaultDirectory)))
  func `the installed Fashion-MNIST test split loads with a limit`() throws {
    let images = try FashionMNIST.load(split: .test, limit: 100)
    #expect(images.shape == [100, 1, 28, 28])
    #expect(images.pixels.count == 100 * 28 * 28)
    #expect(images.pixels.allSatisfy { $0 >= 0 && $0 <= 1 })
    #expect(images.pixels.contains { $0 > 0.5 })
    #expect(images.labels.allSatisfy { (0...9).contains($0) })
    #expect(Set(images.labels).count == 10)
  }
}
