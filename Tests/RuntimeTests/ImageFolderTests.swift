import CImageCodecs
import Foundation
import Runtime
import Testing

/// The image-folder loader: PNG and JPEG through libpng and libjpeg-turbo, the layout's
/// classes and listing order, channels and sizes, and corrupt or truncated files.
struct ImageFolderTests {
  /// HWC samples of a smooth pattern (JPEG keeps it within a few levels), different per seed.
  static func pattern(width: Int, height: Int, channels: Int, seed: Int) -> [UInt8] {
    (0..<height * width * channels).map { i in
      let (pixel, c) = i.quotientAndRemainder(dividingBy: channels)
      let (y, x) = pixel.quotientAndRemainder(dividingBy: width)
      return UInt8((x * 5 + y * 3 + c * 60 + seed * 17) % 200 + 20)
    }
  }

  /// Writes an image file and returns its path.
  @discardableResult
  static func write(
    _ path: String, width: Int, height: Int, channels: Int, seed: Int = 0, jpeg: Bool = false
  ) -> String {
    try? FileManager.default.createDirectory(
      atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    let pixels = pattern(width: width, height: height, channels: channels, seed: seed)
    let status =
      jpeg
      ? hw_image_write_jpeg(path, pixels, Int32(width), Int32(height), Int32(channels), 95)
      : hw_image_write_png(path, pixels, Int32(width), Int32(height), Int32(channels))
    precondition(status == 0, "cannot write \(path)")
    return path
  }

  func loadError(_ body: () throws(DatasetError) -> LabeledImages) -> DatasetError? {
    do {
      _ = try body()
      return nil
    } catch {
      return error
    }
  }

  @Test func pngIsExactJpegIsCloseAndGreyBecomesRGBBesideColour() throws {
    let dir = TemporaryDirectory()
    Self.write(dir.file("train/a/0.png"), width: 6, height: 4, channels: 3, seed: 1)
    Self.write(dir.file("train/b/0.jpg"), width: 6, height: 4, channels: 3, seed: 2, jpeg: true)
    Self.write(dir.file("train/b/1.png"), width: 6, height: 4, channels: 1, seed: 3)
    let images = try ImageFolder.load(split: .train, directory: dir.path)
    #expect(images.shape == [3, 3, 4, 6])
    // Listed class by class in turn: a/0, b/0, b/1.
    #expect(images.labels == [0, 1, 1])
    let png = Self.pattern(width: 6, height: 4, channels: 3, seed: 1)
    let jpeg = Self.pattern(width: 6, height: 4, channels: 3, seed: 2)
    let grey = Self.pattern(width: 6, height: 4, channels: 1, seed: 3)
    var worstJPEG: Float = 0
    for c in 0..<3 {
      for i in 0..<24 {
        #expect(images.pixels[c * 24 + i] == Float(png[i * 3 + c]) / 255)
        worstJPEG = max(
          worstJPEG, abs(images.pixels[72 + c * 24 + i] - Float(jpeg[i * 3 + c]) / 255))
        #expect(images.pixels[144 + c * 24 + i] == Float(grey[i]) / 255)
      }
    }
    #expect(worstJPEG < 12 / 255, "JPEG differs by \(worstJPEG * 255) levels")
  }

  @Test func aLimitSpansTheClassesAndTestClassesMapToTrainingLabels() throws {
    let dir = TemporaryDirectory()
    for (name, count) in [("cat", 3), ("dog", 2), ("emu", 1)] {
      for i in 0..<count {
        Self.write(dir.file("train/\(name)/\(i).png"), width: 4, height: 4, channels: 1, seed: i)
      }
    }
    Self.write(dir.file("test/emu/0.png"), width: 4, height: 4, channels: 1)
    #expect(try ImageFolder.classNames(directory: dir.path) == ["cat", "dog", "emu"])
    #expect(
      try ImageFolder.load(split: .train, directory: dir.path, limit: 4).labels == [0, 1, 2, 0])
    #expect(try ImageFolder.load(split: .test, directory: dir.path).labels == [2])
    Self.write(dir.file("test/yak/0.png"), width: 4, height: 4, channels: 1)
    let error = loadError { () throws(DatasetError) in
      try ImageFolder.load(split: .test, directory: dir.path)
    }
    #expect(error?.file == dir.file("test/yak"))
    #expect(error?.message.contains("not among the training classes") == true)
  }

  @Test func imagesOfSeveralSizesNeedAProgramSizeAndAreCentreCroppedToIt() throws {
    let dir = TemporaryDirectory()
    Self.write(dir.file("train/a/0.png"), width: 8, height: 8, channels: 1)
    Self.write(dir.file("train/a/1.png"), width: 12, height: 8, channels: 1)
    let error = loadError { () throws(DatasetError) in
      try ImageFolder.load(split: .train, directory: dir.path)
    }
    #expect(error?.file == dir.file("train/a/1.png"))
    #expect(error?.message.contains("8x12") == true)
    let images = try ImageFolder.load(split: .train, directory: dir.path, size: (4, 4))
    #expect(images.shape == [2, 1, 4, 4])
    // The 8x12 image's centre 8x8 (columns 2..<10) halved.
    let wide = Self.pattern(width: 12, height: 8, channels: 1, seed: 0)
    let centre = (0..<64).map { Float(wide[($0 / 8) * 12 + 2 + $0 % 8]) / 255 }
    let expected = LabeledImages(
      count: 1, channels: 1, height: 8, width: 8, pixels: centre, labels: [0]
    ).resized(height: 4, width: 4).pixels
    #expect(Array(images.pixels[16..<32]) == expected)
  }

  @Test func corruptAndTruncatedFilesNameTheFileAndOffset() throws {
    let dir = TemporaryDirectory()
    let png = Self.write(dir.file("train/a/0.png"), width: 16, height: 16, channels: 3)
    let jpg = Self.write(dir.file("train/a/1.jpg"), width: 16, height: 16, channels: 3, jpeg: true)
    let pngBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: png)))
    let jpgBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: jpg)))
    /// The error of loading a folder whose one image is `bytes`.
    func error(_ name: String, _ bytes: [UInt8]) -> DatasetError? {
      let folder = TemporaryDirectory()
      try? FileManager.default.createDirectory(
        atPath: folder.file("train/a"), withIntermediateDirectories: true)
      folder.write("train/a/" + name, bytes)
      let error = loadError { () throws(DatasetError) in
        try ImageFolder.load(split: .train, directory: folder.path)
      }
      if let error { #expect(error.file == folder.file("train/a/" + name)) }
      return error
    }
    let cutPNG = error("cut.png", Array(pngBytes.prefix(pngBytes.count - 30)))
    #expect(cutPNG?.offset != nil)
    #expect(cutPNG?.message.contains("PNG") == true, "\(String(describing: cutPNG))")
    var badCRC = pngBytes
    badCRC[29] ^= 0xff  // the IHDR chunk's CRC (bytes 29-32)
    let crc = error("crc.png", badCRC)
    #expect(crc?.offset == 33, "\(String(describing: crc))")
    #expect(crc?.message.contains("CRC") == true, "\(String(describing: crc))")
    let cutJPG = error("cut.jpg", Array(jpgBytes.prefix(jpgBytes.count / 2)))
    #expect(cutJPG?.offset != nil && cutJPG?.message.contains("JPEG") == true)
    let text = error("notes.png", Array("not an image".utf8))
    #expect(text?.offset == 0 && text?.message.contains("signature") == true)
  }
}
