import CKernelSupport
import Foundation
import Runtime
import Testing

/// OpenBLAS runs the kernels the CPU's features call for, whatever it picked when it loaded.
@Suite struct BLASCoreTests {
  static let avx512Cores = ["SkylakeX", "Cooperlake"]
  static let avx2Cores = ["Haswell", "Zen"]

  /// The CPU's features as the kernel reports them, independently of cpuid in C.
  static let flags = Set(
    ((try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "")
      .split(separator: "\n").first { $0.hasPrefix("flags") }?
      .split(separator: " ").map(String.init) ?? [])

  static var hasAVX512: Bool {
    ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains)
  }

  @Test func theCPUFeaturesSeenInCAgreeWithTheKernels() {
    #expect((hw_cpu_has_avx512() != 0) == Self.hasAVX512)
    #expect((hw_cpu_has_avx2() != 0) == (Self.flags.contains("avx2") && Self.flags.contains("fma")))
  }

  @Test func aCPUWithAVX512RunsAnAVX512Core() {
    let machine = MachineInfo.current()
    if Self.hasAVX512 {
      #expect(Self.avx512Cores.contains(machine.blasCore), "\(machine.summary)")
    } else if Self.flags.contains("avx2") {
      #expect((Self.avx512Cores + Self.avx2Cores).contains(machine.blasCore), "\(machine.summary)")
    }
  }

  /// OpenBLAS made to load its SSE3 kernels: Headway's first kernel call moves it to the right
  /// core, reports both, and the step still runs.
  @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: headwayExecutable)))
  func aCoreForcedToPrescottAtLoadIsReplaced() throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: headwayExecutable)
    process.arguments = [
      "bench", "--program", "fmnist-resnet-small", "--batch", "2", "--steps", "1", "--json",
    ]
    var environment = ProcessInfo.processInfo.environment
    environment["OPENBLAS_CORETYPE"] = "Prescott"
    process.environment = environment
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    #expect(output.contains("\"blas_core_at_load\": \"Prescott\""), "\(output)")
    if Self.hasAVX512 {
      #expect(output.contains("\"blas_core\": \"SkylakeX\""), "\(output)")
    } else if Self.flags.contains("avx2") && Self.flags.contains("fma") {
      #expect(output.contains("\"blas_core\": \"Haswell\""), "\(output)")
    }
  }
}
