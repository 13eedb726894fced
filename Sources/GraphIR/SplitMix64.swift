#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The one random generator of Headway: SplitMix64 (see Initializer+Values.swift for the exact
/// algorithm the C runtime reproduces). Counter-based, so the same seed always gives the same
/// stream; `seed(_:)` hashes several values into an independent stream.
public struct SplitMix64: RandomNumberGenerator, Sendable {
  private var state: UInt64

  /// Creates a generator whose stream is fixed by `seed`.
  public init(seed: UInt64) { state = seed }

  /// The SplitMix64 finaliser: a bijective mix of all 64 bits.
  public static func mix(_ value: UInt64) -> UInt64 {
    var z = value
    z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
    z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
    return z ^ (z >> 31)
  }

  /// Hashes several values into one seed, order sensitive.
  public static func seed(_ values: UInt64...) -> UInt64 {
    values.reduce(0x6a09_e667_f3bc_c908) { mix($0 ^ mix($1 &+ 0x9e37_79b9_7f4a_7c15)) }
  }

  public mutating func next() -> UInt64 {
    state &+= 0x9e37_79b9_7f4a_7c15
    return SplitMix64.mix(state)
  }

  /// A double uniform in the open interval (0, 1) from the top 52 bits, computed exactly.
  public mutating func nextUniform() -> Double {
    (Double(next() >> 12) + 0.5) * 0x1p-52
  }

  /// A standard normal double (Box-Muller on two uniforms, cosine branch).
  public mutating func normal() -> Double {
    let (u1, u2) = (nextUniform(), nextUniform())
    return sqrt(-2 * log(u1)) * cos(2 * Double.pi * u2)
  }

  /// A float uniform in [0, 1).
  public mutating func unit() -> Float { Float(next() >> 40) * 0x1p-24 }

  /// A float uniform in `range`.
  public mutating func uniform(_ range: ClosedRange<Float>) -> Float {
    range.lowerBound + (range.upperBound - range.lowerBound) * unit()
  }
}
