/// NCHW and NHWC dimension orders: NHWC dimension `j` is NCHW dimension `toNHWC[j]`.
package enum ChannelOrder {
  package static let toNHWC = [0, 2, 3, 1]
  package static let toNCHW = [0, 3, 1, 2]

  package static func nhwc(_ shape: [Int]) -> [Int] { toNHWC.map { shape[$0] } }
  package static func nchw(_ shape: [Int]) -> [Int] { toNCHW.map { shape[$0] } }

  /// Where NCHW axis `axis` lands in NHWC.
  package static func nhwcAxis(_ axis: Int) -> Int { toNHWC.firstIndex(of: axis)! }
}
