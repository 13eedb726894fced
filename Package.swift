// swift-tools-version: 6.3;(experimentalCGen)
import PackageDescription

// OpenMP comes from LLVM's runtime in Debian's libomp-dev; the toolchain's clang has no omp.h.
let openMPInclude = "/usr/lib/llvm-14/lib/clang/14.0.6/include"
let kernelCFlags: [CSetting] = [
  .unsafeFlags(["-O3", "-march=native", "-fopenmp", "-I\(openMPInclude)", "-Wall", "-Wextra"])
]
// Generated code has thousands of short fixed-size loops: unrolling them made clang 3.4x
// slower (65 s vs 19 s for R1 at one batch size) for no measurable gain in these
// memory-bound loops, so the generated target leaves it off. Reductions carry `omp simd` as a
// permission to reorder their sums; no warning is switched off (clang vectorised every one of
// them on an Intel Xeon model 207). Nothing reads errno, so libm's sqrt is an instruction
// (-fno-math-errno): eval-mode BatchNorm's per-element 1/sqrt(var) ran 1.8x faster.
let generatedCFlags: [CSetting] = [
  .unsafeFlags([
    "-O3", "-fno-unroll-loops", "-march=native", "-fopenmp", "-I\(openMPInclude)", "-Wall",
    "-Wextra", "-fno-math-errno",
  ])
]
let kernelLinking: [LinkerSetting] = [
  .linkedLibrary("iomp5"), .linkedLibrary("dnnl"), .linkedLibrary("openblas"), .linkedLibrary("m"),
  .unsafeFlags(["-L/usr/lib/llvm-14/lib"]),
]

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
    // The compiler, left to right: IR, DSL, passes. Optimised: the build plugin runs it on
    // every graph edit.
    .target(name: "GraphIR", swiftSettings: optimized),
    .target(name: "GraphDSL", dependencies: ["GraphIR"], swiftSettings: optimized),
    .target(name: "GraphCompiler", dependencies: ["GraphIR"], swiftSettings: optimized),
    .target(
      name: "CodegenC", dependencies: ["GraphIR", "GraphCompiler"], swiftSettings: optimized),

    // The oracle and the checks built on it.
    .target(name: "GraphInterpreter", dependencies: ["GraphIR"], swiftSettings: optimized),
    .target(
      name: "GradientCheck",
      dependencies: ["GraphIR", "GraphCompiler", "GraphInterpreter"],
      swiftSettings: optimized),

    // What researchers write: model and training-program definitions.
    .target(name: "Graphs", dependencies: ["GraphDSL", "GraphIR"], path: "graphs"),

    // Hand-written C the generated programs call.
    .target(name: "CKernelSupport", cSettings: kernelCFlags, linkerSettings: kernelLinking),

    // The programs of graphs/, compiled to C by the build plugin at `swift build`.
    .target(
      name: "HeadwayKernels", dependencies: ["CKernelSupport"],
      cSettings: generatedCFlags, linkerSettings: kernelLinking, plugins: ["CompileGraphs"]),
    .plugin(name: "CompileGraphs", capability: .buildTool(), dependencies: ["compile-graphs"]),

    // Runtime: datasets and training.
    .target(name: "CZlib", linkerSettings: [.linkedLibrary("z")]),
    .target(
      name: "CImageCodecs", cSettings: [.unsafeFlags(["-O2", "-Wall", "-Wextra"])],
      linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("jpeg")]),
    .target(
      name: "Runtime",
      dependencies: ["CZlib", "CImageCodecs", "GraphIR", "CKernelSupport", "HeadwayKernels"],
      swiftSettings: optimized),

    // Checks of compiled programs: they re-run the compiler and the interpreter.
    .target(
      name: "CompiledChecks",
      dependencies: ["Runtime", "GraphIR", "GraphCompiler", "GraphInterpreter", "CKernelSupport"],
      swiftSettings: optimized),

    // graphs/ to C, and the build plugin's tool over it (nothing else, so it builds fast).
    .target(
      name: "GraphsToC", dependencies: ["CodegenC", "GraphCompiler", "Graphs"],
      swiftSettings: optimized),
    .executableTarget(
      name: "compile-graphs", dependencies: ["GraphsToC"], swiftSettings: optimized),

    // Command-line tools.
    .executableTarget(
      name: "headwayc",
      dependencies: [
        "GraphIR", "GraphCompiler", "GraphInterpreter", "GradientCheck", "Graphs", "CodegenC",
        "GraphsToC",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    .executableTarget(
      name: "headway",
      dependencies: [
        "GraphIR", "GraphCompiler", "Graphs", "Runtime", "CompiledChecks",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),

    // Tests: one target per module, plus end-to-end.
    .testTarget(name: "GraphIRTests", dependencies: ["GraphIR"]),
    .testTarget(
      name: "GraphDSLTests",
      dependencies: ["GraphDSL", "GraphIR", "GraphCompiler", "GraphInterpreter", "Graphs"]),
    .testTarget(
      name: "GraphCompilerTests",
      dependencies: ["GraphCompiler", "GraphDSL", "GraphIR", "GraphInterpreter", "Graphs"]),
    .testTarget(
      name: "GraphInterpreterTests",
      dependencies: ["GraphInterpreter", "GraphIR", "GraphCompiler", "GradientCheck"]),
    .testTarget(
      name: "GradientCheckTests", dependencies: ["GradientCheck", "GraphIR", "GraphDSL", "Graphs"]),
    .testTarget(name: "CKernelSupportTests", dependencies: ["CKernelSupport", "GraphIR"]),
    .testTarget(
      name: "CodegenCTests", dependencies: ["CodegenC", "GraphCompiler", "GraphIR", "Graphs"],
      exclude: ["Snapshots"]),
    .testTarget(name: "RuntimeTests", dependencies: ["Runtime", "GraphIR", "CImageCodecs"]),
    .testTarget(
      name: "EndToEndTests",
      dependencies: [
        "Graphs", "GraphDSL", "GraphIR", "GraphCompiler", "GraphInterpreter", "GradientCheck",
        "Runtime", "CompiledChecks", "CImageCodecs",
      ]),
  ]
)
