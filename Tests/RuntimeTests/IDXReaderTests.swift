import Foundation
import Runtime
import Testing

@Suite struct IDXReaderTests {
  let directory = TemporaryDirectory()
  let dims = [3, 2, 4]
  let data = (0..<24).map { UInt8($0 * 10) }

  @Test func `a plain IDX file round trips its dims and bytes`() throws {
    let path = directory.write("images-idx3-ubyte", idx(dims: dims, data: data))
    #expect(try IDXArray.read(path: path) == IDXArray(dims: dims, bytes: data))
  }

  @Test func `a gzipped IDX file round trips its dims and bytes`() throws {
    let path = directory.write("images-idx3-ubyte.gz", idx(dims: dims, data: data), gzip: true)
    #expect(try IDXArray.read(path: path) == IDXArray(dims: dims, bytes: data))
  }

  @Test func `a one-dimensional label file reads as a vector`() throws {
    let path = directory.write("labels-idx1-ubyte", idx(dims: [5], data: [9, 0, 3, 1, 7]))
    #expect(try IDXArray.read(path: path) == IDXArray(dims: [5], bytes: [9, 0, 3, 1, 7]))
  }

  @Test func `a truncated file names the file the data offset and the expected size`() throws {
    let bytes = idx(dims: dims, data: Array(data.prefix(10)))
    for gzip in [false, true] {
      let path = directory.write("short-idx3-ubyte" + (gzip ? ".gz" : ""), bytes, gzip: gzip)
      let error = try #require(readError(path))
      #expect(error.offset == 16)
      #expect(error.description.contains("short-idx3-ubyte"))
      #expect(error.description.contains("offset 16"))
      #expect(error.description.contains("expected 24 bytes"))
      #expect(error.description.contains("found 10"))
    }
  }

  @Test func `trailing bytes after the data are an error`() throws {
    let path = directory.write("long-idx3-ubyte", idx(dims: dims, data: data + [1, 2, 3]))
    let error = try #require(readError(path))
    #expect(error.offset == 16 + 24)
    #expect(error.description.contains("3 unexpected trailing bytes"))
  }

  @Test func `a wrong magic number is rejected`() throws {
    var bytes = idx(dims: dims, data: data)
    bytes[0] = 0x50
    let error = try #require(readError(directory.write("magic", bytes)))
    #expect(error.offset == 0)
    #expect(error.description.contains("not an IDX file"))
  }

  @Test func `an element type other than unsigned byte is rejected`() throws {
    let path = directory.write("floats", idx(dims: dims, data: data, type: 0x0D))
    let error = try #require(readError(path))
    #expect(error.offset == 2)
    #expect(error.description.contains("unsupported IDX element type 0d (float32)"))
  }

  @Test func `zero dimensions and a truncated header are rejected`() throws {
    #expect(readError(directory.write("rank0", [0, 0, 8, 0]))?.offset == 3)
    let header = try #require(readError(directory.write("header", [0, 0, 8, 3, 0, 0, 0, 1])))
    #expect(header.description.contains("header truncated"))
    #expect(readError(directory.write("tiny", [0, 0]))?.offset == 0)
    #expect(readError(directory.write("empty", []))?.offset == 0)
  }

  @Test func `corrupt gzip data reports the file and zlib's message`() throws {
    let garbage = [0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3] + (0..<64).map { UInt8($0 * 37 % 251) }
    let path = directory.write("corrupt.gz", garbage)
    let error = try #require(readError(path))
    #expect(error.description.contains("corrupt.gz"))
    #expect(error.description.contains("zlib: "))
    #expect(!error.description.contains("zlib: \(path)"))
  }

  @Test func `a gzip stream cut short reports the missing data and zlib's complaint`() throws {
    let noise = (0..<4096).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) }
    let full = directory.write("whole.gz", idx(dims: [4, 32, 32], data: noise), gzip: true)
    let compressed = [UInt8](FileManager.default.contents(atPath: full)!)
    let half = directory.write("half.gz", Array(compressed.prefix(compressed.count / 2)))
    let error = try #require(readError(half))
    #expect(error.description.hasPrefix("\(half): offset 16: expected 4096 bytes of image data"))
    #expect(error.description.contains("unexpected end of file"))
    let noTrailer = directory.write("trailer.gz", Array(compressed.dropLast(6)))
    let trailer = try #require(readError(noTrailer))
    #expect(
      trailer.description == "\(noTrailer): offset 4112: corrupt gzip data after 4112 "
        + "decompressed bytes: zlib: unexpected end of file")
  }

  @Test func `a missing file or a directory is a clear error`() throws {
    let missing = try #require(readError(directory.file("absent-idx1-ubyte")))
    #expect(missing.description == "\(directory.file("absent-idx1-ubyte")): no such file")
    let folder = try #require(readError(directory.path))
    #expect(folder.description.contains("is a directory"))
  }
}
