import CKernelSupport
import Foundation

/// The machine a run is on, as Headway's kernels see it: the CPU model, the vector extensions
/// that decide which kernels can run, OpenBLAS's kernel set (chosen from those extensions; see
/// `Sources/CKernelSupport/blas.c`) and the instruction set oneDNN dispatches to.
public struct MachineInfo: Sendable, Equatable {
  /// The extensions reported, in this order, when the CPU has them.
  public static let reportedExtensions = [
    "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16", "amx_tile", "amx_bf16",
  ]

  public var cpuModel: String
  /// CPUID's family and model numbers, as /proc/cpuinfo gives them ("6", "207").
  public var family: String
  public var model: String
  public var cores: Int
  public var extensions: [String]
  /// The kernel set every product runs on.
  public var blasCore: String
  /// The kernel set OpenBLAS picked by itself when it loaded.
  public var blasCoreAtLoad: String
  /// oneDNN's instruction set on this CPU ("avx512_core_amx", ...).
  public var onednnISA: String

  /// The machine this process runs on (choosing the BLAS core if that has not happened yet).
  public static func current() -> MachineInfo {
    let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    func field(_ name: String) -> String? {
      for line in cpuinfo.split(separator: "\n") where line.hasPrefix(name) {
        if let colon = line.firstIndex(of: ":") {
          return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
      }
      return nil
    }
    let flags = Set((field("flags") ?? "").split(separator: " ").map(String.init))
    return MachineInfo(
      cpuModel: field("model name") ?? "unknown CPU", family: field("cpu family") ?? "?",
      model: field("model\t") ?? "?", cores: ProcessInfo.processInfo.activeProcessorCount,
      extensions: reportedExtensions.filter(flags.contains),
      blasCore: String(cString: hw_blas_core()),
      blasCoreAtLoad: String(cString: hw_blas_core_at_load()),
      onednnISA: String(cString: hw_onednn_isa()))
  }

  /// One line for a report header.
  public var summary: String {
    let chosen =
      blasCore == blasCoreAtLoad
      ? "" : " (chosen from the CPU's features; it loaded \(blasCoreAtLoad))"
    let isa =
      extensions.isEmpty
      ? "none of \(Self.reportedExtensions.joined(separator: " "))"
      : extensions.joined(separator: " ")
    return "\(cpuModel) (family \(family) model \(model), \(cores) cores); \(isa); "
      + "OpenBLAS \(blasCore)\(chosen); oneDNN \(onednnISA)"
  }

  /// A JSON object with the same facts.
  public func json() -> String {
    func quoted(_ text: String) -> String {
      let data = (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8)
      return String(decoding: data, as: UTF8.self)
    }
    let list = extensions.map(quoted).joined(separator: ", ")
    return "{\"cpu\": \(quoted(cpuModel)), \"family\": \(quoted(family)), "
      + "\"model\": \(quoted(model)), \"cores\": \(cores), \"extensions\": [\(list)], "
      + "\"blas_core\": \(quoted(blasCore)), \"blas_core_at_load\": \(quoted(blasCoreAtLoad)), "
      + "\"onednn_isa\": \(quoted(onednnISA))}"
  }
}
