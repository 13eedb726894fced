// swift-tools-version: 6.3;(experimentalCGen)
import PackageDescription

// The interpreter is the oracle every test leans on; it is optimised even in debug builds so
// the default test run stays fast.
let optimized: [SwiftSetting] = [.unsafeFlags(["-O"])]

let package = Package(
  name: "Headway",
  products: [
    .executable(name: "headway", targets: ["headway"]),
    .executable(name: "headwayc", targets: ["headwayc"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")
  ],
  targets: [
    // The compiler, left to right: IR, DSL, passes.
    .target(name: "GraphIR"),
    .target(name: "GraphDSL", dependencies: ["GraphIR"]),
    .target(name: "GraphCompiler", dependencies: ["GraphIR"]),

    // The oracle and the checks built on it.
    .target(name: "GraphInterpreter", dependencies: ["GraphIR"], swiftSettings: optimized),
    .target(
      name: "GradientCheck",
      dependencies: ["GraphIR", "GraphCompiler", "GraphInterpreter"],
      swiftSettings: optimized),

    // What researchers write: model and training-program definitions.
    .target(name: "Graphs", dependencies: ["GraphDSL", "GraphIR"], path: "graphs"),

    // Runtime: datasets and training.
    .target(name: "CZlib", linkerSettings: [.linkedLibrary("z")]),
    .target(
      name: "Runtime",
      dependencies: ["CZlib", "GraphIR", "GraphCompiler", "GraphInterpreter"],
      swiftSettings: optimized),

    // Command-line tools.
    .executableTarget(
      name: "headwayc",
      dependencies: [
        "GraphIR", "GraphCompiler", "GraphInterpreter", "GradientCheck", "Graphs",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    .executableTarget(
      name: "headway",
      dependencies: [
        "GraphIR", "GraphCompiler", "Graphs", "Runtime",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),

    // Tests: one target per module, plus end-to-end.
    .testTarget(name: "GraphIRTests", dependencies: ["GraphIR"]),
    .testTarget(
      name: "GraphDSLTests",
      dependencies: ["GraphDSL", "GraphIR", "GraphCompiler", "GraphInterpreter", "Graphs"]),
    .testTarget(
      name: "GraphCompilerTests", dependencies: ["GraphCompiler", "GraphIR", "GraphInterpreter"]),
    .testTarget(
      name: "GraphInterpreterTests",
      dependencies: ["GraphInterpreter", "GraphIR", "GraphCompiler", "GradientCheck"]),
    .testTarget(
      name: "GradientCheckTests", dependencies: ["GradientCheck", "GraphIR", "GraphDSL", "Graphs"]),
    .testTarget(name: "RuntimeTests", dependencies: ["Runtime"]),
    .testTarget(
      name: "EndToEndTests",
      dependencies: [
        "Graphs", "GraphDSL", "GraphIR", "GraphCompiler", "GraphInterpreter", "GradientCheck",
        "Runtime",
      ]),
  ]
)
