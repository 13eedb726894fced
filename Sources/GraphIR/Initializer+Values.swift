#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

// The exact algorithm, so that another runtime (the C backend) can reproduce the values bit for
// bit given the same libm:
//
// 1. A SplitMix64 generator starts with `state = seed`. Each draw does
//      state = state + 0x9E3779B97F4A7C15                  (wrapping)
//      z = state
//      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9           (wrapping)
//      z = (z ^ (z >> 27)) * 0x94D049BB133111EB           (wrapping)
//      z = z ^ (z >> 31)
//    and returns z.
// 2. A uniform double in the open interval (0, 1) takes the top 52 bits of one draw:
//      u = ((double)(z >> 12) + 0.5) * 2^-52
//    Every step is exact in binary64 (no rounding), so u is never 0 or 1.
// 3. `uniform(bound:)`: element i is `bound * (2 * u_i - 1)`, one draw per element.
// 4. `normal(std:)`: elements come in pairs from Box-Muller on two consecutive uniforms u1, u2:
//      r = sqrt(-2 * log(u1)), t = 2 * pi * u2
//      element 2k = std * r * cos(t), element 2k+1 = std * r * sin(t)
//    with pi = 3.14159265358979323846 (the double nearest). For an odd count the last pair's
//    sine value is dropped.
// 5. `zeros` and `constant(v)` fill every element with 0 or v.

extension Initializer {
  /// The first `count` values of this initializer, deterministic in its seed (the algorithm is
  /// documented at the top of this file). Values are in row-major order of the variable.
  public func values(count: Int) -> [Double] {
    precondition(count >= 0, "negative element count \(count)")
    switch self {
    case .zeros:
      return Array(repeating: 0, count: count)
    case .constant(let value):
      return Array(repeating: value, count: count)
    case .uniform(let bound, let seed):
      var generator = SplitMix64(seed: seed)
      var result: [Double] = []
      result.reserveCapacity(count)
      for _ in 0..<count { result.append(bound * (2 * generator.nextUniform() - 1)) }
      return result
    case .normal(let std, let seed):
      var generator = SplitMix64(seed: seed)
      var result: [Double] = []
      result.reserveCapacity(count + 1)
      while result.count < count {
        let u1 = generator.nextUniform()
        let u2 = generator.nextUniform()
        let r = sqrt(-2 * log(u1))
        let t = 2 * Double.pi * u2
        result.append(std * r * cos(t))
        result.append(std * r * sin(t))
      }
      result.removeLast(result.count - count)
      return result
    }
  }
}
