import CKernelSupport

/// The arithmetic of a compiled program's convolutions. Everything else (matrix products,
/// BatchNorm statistics, the loss, the optimizer and the master weights) stays float32.
public enum Precision: String, CaseIterable, Sendable {
  /// float32 throughout.
  case fp32
  /// Convolutions (forward, input gradient, filter gradient) on bfloat16 operands with float32
  /// accumulation and float32 results, through oneDNN's AVX512-BF16 or AMX kernels.
  case bf16

  /// Refuses a precision this CPU cannot run, naming what it lacks.
  public func check() throws {
    guard self == .bf16, hw_cpu_has_bf16() == 0 else { return }
    let machine = MachineInfo.current()
    throw TrainingError(
      "--precision bf16 needs AVX512-BF16 or AMX-BF16, and this CPU (\(machine.cpuModel)) has "
        + "neither (its extensions: \(machine.extensions.joined(separator: " ")))")
  }

  /// Makes convolutions called from this thread use this precision; returns what puts the
  /// thread's previous precision back (threads are shared: a test thread must not leave bf16
  /// behind for the next test on it).
  func apply() -> () -> Void {
    let previous = hw_get_conv_precision()
    hw_set_conv_precision(self == .bf16 ? 1 : 0)
    return { hw_set_conv_precision(previous) }
  }
}
