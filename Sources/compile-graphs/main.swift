// compile-graphs --output DIR --include-directory DIR --sources FILE...: the build plugin's
// tool. Writes the C of every program in graphs/ (see `GraphsToC.emitAll`). `headwayc
// emit-all` does the same with the full command-line parser.
import Foundation
import GraphsToC

var options: [String: [String]] = [:]
var key: String?
for argument in CommandLine.arguments.dropFirst() {
  if argument.hasPrefix("--") {
    key = String(argument.dropFirst(2))
  } else if let key {
    options[key, default: []].append(argument)
  }
}
guard let output = options["output"]?.last, let include = options["include-directory"]?.last
else {
  FileHandle.standardError.write(
    Data("usage: compile-graphs --output DIR --include-directory DIR --sources FILE...\n".utf8))
  exit(2)
}
do {
  try GraphsToC.emitAll(sources: options["sources"] ?? [], output: output, include: include)
} catch {
  FileHandle.standardError.write(Data("error: \(error)\n".utf8))
  exit(1)
}
