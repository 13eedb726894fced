/// bfloat16 rounding, as the bf16 kernels round their operands: the float32 value rounded to its
/// top 16 bits, to nearest with ties to even (NaN stays NaN). The reference for `--precision
/// bf16`: a kernel's result is compared with its definition on operands rounded this way.
public func roundedToBFloat16(_ value: Double) -> Double {
  let single = Float(value)
  guard !single.isNaN else { return value }
  let bits = single.bitPattern
  let rounded = (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) & 0xFFFF_0000
  return Double(Float(bitPattern: rounded))
}
