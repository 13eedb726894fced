import Foundation
import Runtime
import Testing

@Suite struct STL10Tests {
  let directory = TemporaryDirectory()

  /// The value of the pixel at (`row`, `column`) of `channel` in STL-10 image `image`; rows and
  /// columns weigh differently, so a missed transpose changes it.
  static func pixel(_ image: Int, _ channel: Int, _ row: Int, _ column: Int) -> UInt8 {
    UInt8((image * 7 + channel * 11 + row * 3 + column * 5) % 256)
  }

  /// `count` images in STL-10's layout: three planes per image, each in column-major order.
  static func imageBytes(count: Int) -> [UInt8] {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(count * 27648)
    for image in 0..<count {
      for channel in 0..<3 {
        for column in 0..<96 {
          for row in 0..<96 { bytes.append(pixel(image, channel, row, column)) }
        }
      }
    }
    return bytes
  }

  /// Writes `<prefix>_X.bin` with `count` images and, unless `labels` is nil, `<prefix>_y.bin`.
  func writeSplit(_ prefix: String, count: Int, labels: [UInt8]?) {
    directory.write("\(prefix)_X.bin", Self.imageBytes(count: count))
    if let labels { directory.write("\(prefix)_y.bin", labels) }
  }

  func loadError(_ split: STL10.Split, limit: Int? = nil) -> DatasetError? {
    do {
      _ = try STL10.load(split: split, directory: directory.path, limit: limit)
      return nil
    } catch {
      return error
    }
  }

  @Test func `column-major planes load as row-major NCHW images scaled to [0, 1]`() throws {
    writeSplit("train", count: 2, labels: [1, 10])
    let images = try STL10.load(split: .train, directory: directory.path)
    #expect(images.shape == [2, 3, 96, 96])
    #expect(images.labels == [0, 9])
    // Channel 0, row 1, column 2: stored at byte 2 * 96 + 1, loaded at index 1 * 96 + 2.
    #expect(images.pixels[1 * 96 + 2] == Float(Self.pixel(0, 0, 1, 2)) / 255)
    #expect(images.pixels[1 * 96 + 2] != images.pixels[2 * 96 + 1])
    // Image 1, channel 2, row 5, column 90.
    let index = 27648 + 2 * 9216 + 5 * 96 + 90
    #expect(images.pixels[index] == Float(Self.pixel(1, 2, 5, 90)) / 255)
    var expected: [Float] = []
    for channel in 0..<3 {
      for row in 0..<96 {
        for column in 0..<96 { expected.append(Float(Self.pixel(1, channel, row, column)) / 255) }
      }
    }
    let loaded = Array(images.image(1))
    #expect(expected.indices.first { loaded[$0] != expected[$0] } == nil)
    #expect(images.pixels.allSatisfy { $0 >= 0 && $0 <= 1 })
  }

  @Test func `the unlabeled split has no label file and labels of -1`() throws {
    writeSplit("unlabeled", count: 3, labels: nil)
    let images = try STL10.load(split: .unlabeled, directory: directory.path)
    #expect(images.shape == [3, 3, 96, 96])
    #expect(images.labels == [-1, -1, -1])
    let two = try STL10.load(split: .unlabeled, directory: directory.path, limit: 2)
    #expect(two == images.prefix(2))
  }

  @Test func `a limit keeps the first images and reads only their labels`() throws {
    writeSplit("test", count: 3, labels: [4, 5, 0])
    let two = try STL10.load(split: .test, directory: directory.path, limit: 2)
    #expect(two.shape == [2, 3, 96, 96])
    #expect(two.labels == [3, 4])
    #expect(two.pixels[5 * 96 + 7] == Float(Self.pixel(0, 0, 5, 7)) / 255)
    #expect(try STL10.load(split: .test, directory: directory.path, limit: -1).count == 0)
  }

  @Test func `labels outside one to ten are rejected with their offsets`() throws {
    writeSplit("train", count: 3, labels: [1, 2, 11])
    let high = try #require(loadError(.train))
    #expect(high.file == directory.file("train_y.bin"))
    #expect(high.offset == 2)
    #expect(high.description.contains("label 11 of image 2 is outside 1...10"))
    writeSplit("train", count: 3, labels: [0, 2, 3])
    let zero = try #require(loadError(.train))
    #expect(zero.offset == 0)
    #expect(zero.description.contains("label 0 of image 0"))
  }

  @Test func `image and label counts that disagree name both files`() throws {
    writeSplit("train", count: 2, labels: [1, 2, 3])
    let error = try #require(loadError(.train, limit: 1))
    #expect(error.file == directory.file("train_y.bin"))
    #expect(error.offset == 2)
    #expect(error.description.contains("holds 3 labels but"))
    #expect(error.description.contains("train_X.bin holds 2 images"))
  }

  @Test func `a truncated image names the file, its offset and the image size`() throws {
    writeSplit("test", count: 2, labels: [1, 2])
    directory.write("test_X.bin", Self.imageBytes(count: 2).dropLast(1))
    let error = try #require(loadError(.test))
    #expect(error.file == directory.file("test_X.bin"))
    #expect(error.offset == 27648)
    #expect(error.description.contains("partial record of 27647 bytes"))
    #expect(error.description.contains("27648-byte images"))
  }

  @Test func `missing files name the directory and the files expected`() throws {
    writeSplit("train", count: 1, labels: nil)
    let labels = try #require(loadError(.train))
    #expect(labels.file == directory.path)
    #expect(labels.description.contains("missing train_y.bin"))
    #expect(labels.description.contains("unlabeled_X.bin"))
    let both = try #require(loadError(.test))
    #expect(both.description.contains("missing test_X.bin, test_y.bin"))
  }
}
