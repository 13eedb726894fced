import Foundation
import PackagePlugin

/// Runs `compile-graphs` (what `headwayc emit-all` does) over graphs/: two C files per graph source file, a registry and a
/// header, compiled into the target the plugin is attached to. Inputs and outputs are listed
/// exactly, so editing a graph reruns it and an unrelated edit does not.
@main
struct CompileGraphs: BuildToolPlugin {
  func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
    let graphs = context.package.directoryURL.appending(path: "graphs")
    let sources = try FileManager.default.contentsOfDirectory(
      at: graphs, includingPropertiesForKeys: nil
    )
    .filter { $0.pathExtension == "swift" }
    .sorted { $0.lastPathComponent < $1.lastPathComponent }
    let output = context.pluginWorkDirectoryURL
    let include = output.appending(path: "include")
    // Two translation units per graph file (kernels split in halves, compiled in parallel).
    let cFiles = sources.flatMap { source in
      [".graph.c", ".kernels.c"].map {
        output.appending(path: source.deletingPathExtension().lastPathComponent + $0)
      }
    }
    return [
      .buildCommand(
        displayName: "Compiling graphs/ to C",
        executable: try context.tool(named: "compile-graphs").url,
        arguments: ["--output", output.path, "--include-directory", include.path]
          + sources.flatMap { ["--sources", $0.path] },
        inputFiles: sources,
        outputFiles: cFiles + [
          output.appending(path: "programs.registry.c"),
          include.appending(path: "HeadwayPrograms.h"),
        ])
    ]
  }
}
