import Foundation

/// Runs `executable` with `arguments` (in `directory` and with `environment` when given) to its
/// end; returns its exit status and its standard output and error together.
func runProcess(
  _ executable: String, _ arguments: [String], in directory: String? = nil,
  environment: [String: String]? = nil
) throws -> (status: Int32, output: String) {
  let process = Process()
  if let environment { process.environment = environment }
  process.executableURL = URL(fileURLWithPath: executable)
  process.arguments = arguments
  if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
  let pipe = Pipe()
  process.standardOutput = pipe
  process.standardError = pipe
  try process.run()
  let data = pipe.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
