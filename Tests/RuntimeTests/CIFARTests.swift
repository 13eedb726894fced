import Foundation
import Runtime
import Testing

/// Pixel `k` (CHW index) of CIFAR image `image`, as written by `cifarRecords`.
func cifarPixel(_ image: Int, _ k: Int) -> UInt8 { UInt8((image * 7 + k + k / 1024) % 256) }

/// CIFAR records: for each element of `labels`, its label bytes then a 3072-byte image whose
/// pixels come from `cifarPixel` with image numbers counting from `firstImage`.
func cifarRecords(_ labels: [[UInt8]], firstImage: Int = 0) -> [UInt8] {
  var bytes: [UInt8] = []
  for (i, label) in labels.enumerated() {
    bytes += label
    bytes += (0..<3072).map { cifarPixel(firstImage + i, $0) }
  }
  return bytes
}

/// The first CHW index at which image `index` of `images` differs from CIFAR image `image` as
/// written by `cifarRecords`, or nil when they agree.
func cifarMismatch(_ images: LabeledImages, _ index: Int, image: Int) -> Int? {
  let pixels = Array(images.image(index))
  return (0..<3072).first { pixels[$0] != Float(cifarPixel(image, $0)) / 255 }
}

@Suite struct CIFARTests {
  let directory = TemporaryDirectory()

  /// Writes the five CIFAR-10 training batches holding 2, 1, 3, 1 and 2 images; image `g`
  /// (counting across batches) has label `g * 3 % 10`.
  func writeTrainBatches() {
    var image = 0
    for (batch, size) in [2, 1, 3, 1, 2].enumerated() {
      let labels = (image..<image + size).map { [UInt8($0 * 3 % 10)] }
      directory.write("data_batch_\(batch + 1).bin", cifarRecords(labels, firstImage: image))
      image += size
    }
  }

  func cifar10Error(_ split: CIFAR10.Split, limit: Int? = nil, in path: String? = nil)
    -> DatasetError?
  {
    do {
      _ = try CIFAR10.load(split: split, directory: path ?? directory.path, limit: limit)
      return nil
    } catch {
      return error
    }
  }

  func cifar100Error(_ split: CIFAR100.Split) -> DatasetError? {
    do {
      _ = try CIFAR100.load(split: split, directory: directory.path)
      return nil
    } catch {
      return error
    }
  }

  @Test func `a CIFAR-10 test batch loads as scaled NCHW images with labels`() throws {
    directory.write("test_batch.bin", cifarRecords([[7], [0], [9]]))
    let images = try CIFAR10.load(split: .test, directory: directory.path)
    #expect(images.shape == [3, 3, 32, 32])
    #expect(images.labels == [7, 0, 9])
    // Image 1, channel 2 (blue), row 3, column 4.
    let k = 2 * 1024 + 3 * 32 + 4
    #expect(images.pixels[3072 + k] == Float(cifarPixel(1, k)) / 255)
    #expect(cifarMismatch(images, 2, image: 2) == nil)
    #expect(images.pixels.allSatisfy { $0 >= 0 && $0 <= 1 })
    #expect(images.pixels.contains(1) && images.pixels.contains(0))
  }

  @Test func `the CIFAR-10 training split concatenates the five batches in order`() throws {
    writeTrainBatches()
    let images = try CIFAR10.load(split: .train, directory: directory.path)
    #expect(images.shape == [9, 3, 32, 32])
    #expect(images.labels == (0..<9).map { Int32($0 * 3 % 10) })
    for g in 0..<9 {
      #expect(cifarMismatch(images, g, image: g) == nil)
    }
  }

  @Test func `a limit reads only the first images, across batches`() throws {
    writeTrainBatches()
    // A bad label after the limit is never read.
    directory.write("data_batch_5.bin", cifarRecords([[1], [200]], firstImage: 7))
    let all = try CIFAR10.load(split: .train, directory: directory.path, limit: 7)
    let four = try CIFAR10.load(split: .train, directory: directory.path, limit: 4)
    #expect(four == all.prefix(4))
    #expect(four.labels == [0, 3, 6, 9])
    #expect(try CIFAR10.load(split: .train, directory: directory.path, limit: 0).count == 0)
    #expect(cifar10Error(.train, limit: 9)?.offset == 3073)
  }

  @Test func `files larger than one read chunk load whole and report global offsets`() throws {
    // Records are read 4 MiB at a time: 1,365 CIFAR-10 records per chunk.
    var labels = (0..<1400).map { [UInt8($0 % 10)] }
    directory.write("test_batch.bin", cifarRecords(labels))
    let images = try CIFAR10.load(split: .test, directory: directory.path)
    #expect(images.labels == (0..<1400).map { Int32($0 % 10) })
    #expect(cifarMismatch(images, 1399, image: 1399) == nil)
    labels[1390] = [10]
    directory.write("test_batch.bin", cifarRecords(labels))
    let error = try #require(cifar10Error(.test))
    #expect(error.offset == 1390 * 3073)
    #expect(error.description.contains("label 10 of record 1390"))
  }

  @Test func `a truncated record names the file, its offset and the record size`() throws {
    writeTrainBatches()
    directory.write("data_batch_2.bin", cifarRecords([[1], [2]]).dropLast(100))
    let error = try #require(cifar10Error(.train, limit: 1))
    #expect(error.file == directory.file("data_batch_2.bin"))
    #expect(error.offset == 3073)
    #expect(error.description.contains("partial record of 2973 bytes"))
    #expect(error.description.contains("3073-byte records"))
  }

  @Test func `an empty file is rejected`() throws {
    directory.write("test_batch.bin", [])
    let error = try #require(cifar10Error(.test))
    #expect(error.offset == 0)
    #expect(error.description.contains("empty"))
  }

  @Test func `a CIFAR-10 label outside the ten classes is rejected with its offset`() throws {
    directory.write("test_batch.bin", cifarRecords([[3], [10], [4]]))
    let error = try #require(cifar10Error(.test))
    #expect(error.file == directory.file("test_batch.bin"))
    #expect(error.offset == 3073)
    #expect(error.description.contains("label 10 of record 1 is outside 0..<10"))
  }

  @Test func `missing CIFAR-10 files name the directory and the files expected`() throws {
    writeTrainBatches()
    try FileManager.default.removeItem(atPath: directory.file("data_batch_3.bin"))
    let error = try #require(cifar10Error(.train))
    #expect(error.file == directory.path)
    #expect(error.description.contains("missing data_batch_3.bin"))
    #expect(error.description.contains("test_batch.bin"))
    let test = try #require(cifar10Error(.test))
    #expect(test.description.contains("missing test_batch.bin"))
    let nowhere = try #require(cifar10Error(.test, in: directory.file("nope")))
    #expect(nowhere.file == directory.file("nope"))
    #expect(nowhere.description.contains("no CIFAR-10 directory"))
    #expect(nowhere.description.contains("data_batch_1.bin"))
  }

  @Test func `CIFAR-100 loads fine or coarse labels`() throws {
    directory.write("train.bin", cifarRecords([[19, 99], [0, 5], [7, 42]]))
    let fine = try CIFAR100.load(split: .train, directory: directory.path)
    #expect(fine.shape == [3, 3, 32, 32])
    #expect(fine.labels == [99, 5, 42])
    #expect(cifarMismatch(fine, 1, image: 1) == nil)
    let coarse = try CIFAR100.load(split: .train, directory: directory.path, labels: .coarse)
    #expect(coarse.labels == [19, 0, 7])
    #expect(coarse.pixels == fine.pixels)
    let one = try CIFAR100.load(split: .train, directory: directory.path, limit: 1)
    #expect(one == fine.prefix(1))
  }

  @Test func `CIFAR-100 label bytes out of range are rejected with their offsets`() throws {
    directory.write("test.bin", cifarRecords([[1, 2], [3, 100]]))
    let fine = try #require(cifar100Error(.test))
    #expect(fine.offset == 3074 + 1)
    #expect(fine.description.contains("fine label 100 of record 1 is outside 0..<100"))
    directory.write("test.bin", cifarRecords([[20, 2]]))
    let coarse = try #require(cifar100Error(.test))
    #expect(coarse.offset == 0)
    #expect(coarse.description.contains("coarse label 20 of record 0 is outside 0..<20"))
  }

  @Test func `a CIFAR-10 file read as CIFAR-100 is not a whole number of records`() throws {
    directory.write("train.bin", cifarRecords([[1], [2], [3]]))
    let error = try #require(cifar100Error(.train))
    #expect(error.file == directory.file("train.bin"))
    #expect(error.offset == 2 * 3074)
    #expect(error.description.contains("3074-byte records"))
    let missing = try #require(cifar100Error(.test))
    #expect(missing.file == directory.path)
    #expect(missing.description.contains("missing test.bin"))
  }
}
