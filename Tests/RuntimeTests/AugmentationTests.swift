import Runtime
import Testing

@Suite struct AugmentationTests {
  /// Six 3-channel 8x6 images with smooth, distinct content in [0, 1].
  let images: LabeledImages = {
    let (n, c, h, w) = (6, 3, 8, 6)
    let pixels = (0..<n * c * h * w).map { i -> Float in
      let (x, y, ch, k) = (i % w, i / w % h, i / (w * h) % c, i / (w * h * c))
      return Float((x * 7 + y * 3 + ch * 5 + k * 11) % 17) / 16
    }
    return LabeledImages(
      count: n, channels: c, height: h, width: w, pixels: pixels,
      labels: (0..<Int32(n)).map { $0 })
  }()
  let indices = [4, 0, 5, 2]

  @Test func `views come back as two stacked batches of the right size`() {
    let views = Augmenter(seed: 1).views(of: images, indices: indices, step: 0)
    #expect(views.count == 2 * indices.count * images.imageSize)
  }

  @Test func `the same seed and step give identical views and other steps differ`() {
    let augmenter = Augmenter(seed: 42)
    let first = augmenter.views(of: images, indices: indices, step: 3)
    #expect(augmenter.views(of: images, indices: indices, step: 3) == first)
    #expect(augmenter.views(of: images, indices: indices, step: 4) != first)
    #expect(Augmenter(seed: 43).views(of: images, indices: indices, step: 3) != first)
  }

  @Test func `a view depends on the image not on its position in the batch`() {
    let augmenter = Augmenter(seed: 7)
    let size = images.imageSize
    let batch = augmenter.views(of: images, indices: indices, step: 2)
    let single = augmenter.views(of: images, indices: [5], step: 2)
    #expect(Array(batch[2 * size..<3 * size]) == Array(single[0..<size]))
    #expect(Array(batch[6 * size..<7 * size]) == Array(single[size..<2 * size]))
    #expect(batch[0..<size] != batch[4 * size..<5 * size])
  }

  @Test func `augmented values stay within zero and one`() {
    let augmenter = Augmenter(seed: 9, brightness: 0.9, contrast: 0.9)
    for step in 0..<20 {
      let views = augmenter.views(of: images, indices: indices, step: step)
      #expect(views.allSatisfy { $0 >= 0 && $0 <= 1 })
    }
  }

  @Test func `with augmentation turned off both views are the original images`() {
    let off = Augmenter(
      seed: 5, scale: 1...1, ratio: 1...1, flipProbability: 0, brightness: 0, contrast: 0)
    let square = LabeledImages(
      count: 3, channels: 1, height: 5, width: 5,
      pixels: (0..<75).map { Float($0 % 13) / 12 }, labels: [0, 1, 2])
    for set in [square, images] {
      let batch = off.batch(of: set, indices: [2, 0])
      #expect(batch == Array(set.image(2)) + Array(set.image(0)))
      // A non-square image with ratio 1 falls back to a centre crop, so check squares only.
      if set.height == set.width {
        #expect(off.views(of: set, indices: [2, 0], step: 11) == batch + batch)
      }
    }
  }

  @Test func `flipping alone mirrors each row`() {
    let flip = Augmenter(
      seed: 5, scale: 1...1, ratio: 1...1, flipProbability: 1, brightness: 0, contrast: 0)
    let image = LabeledImages(
      count: 1, channels: 1, height: 2, width: 2, pixels: [0.1, 0.2, 0.3, 0.4], labels: [0])
    #expect(
      flip.views(of: image, indices: [0], step: 0) == [0.2, 0.1, 0.4, 0.3, 0.2, 0.1, 0.4, 0.3])
  }
}
