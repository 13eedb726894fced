import Foundation

extension GraphsToC {
  /// Writes a standalone C trainer for program `name` into `output`: the program's generated
  /// C, Headway's kernel support C (`support/`), the trainer (`tools/c-trainer`) and a
  /// Makefile. `repository` is the Headway checkout the sources are copied from.
  public static func emitTrainer(_ name: String, output: String, repository: String) throws {
    try emit(name, output: output)
    let files = FileManager.default
    let support = "\(repository)/Sources/CKernelSupport"
    try copy(from: support, matching: [".c", ".h"], to: "\(output)/support")
    try copy(from: "\(support)/include", matching: [".h"], to: "\(output)/support/include")
    try copy(from: "\(repository)/tools/c-trainer", matching: [".c", ".h"], to: output)
    try writeIfChanged(makefile(program: name), to: "\(output)/Makefile")
    guard files.fileExists(atPath: "\(output)/trainer.c") else {
      throw GraphsToCError("\(repository)/tools/c-trainer/trainer.c is missing")
    }
  }

  /// Copies the files of `directory` whose names end in one of `suffixes` (not recursively).
  private static func copy(from directory: String, matching suffixes: [String], to target: String)
    throws
  {
    let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    for name in names where suffixes.contains(where: name.hasSuffix) {
      let text = try String(contentsOfFile: "\(directory)/\(name)", encoding: .utf8)
      try writeIfChanged(text, to: "\(target)/\(name)")
    }
  }

  /// Builds `train` with the compiler and flags of Headway's own build: another compiler or
  /// other flags round some float32 sums differently, and the checkpoints then differ from
  /// `headway train`'s in the last bits.
  static func makefile(program: String) -> String {
    """
    # The standalone trainer of \(program), written by `headwayc emit --trainer`: `make` builds
    # ./train (see trainer.c for its options). The compiler and flags are those of Headway's
    # own build (the Swift toolchain's clang), so its checkpoints are byte for byte those of
    # `headway train --no-online-probe`; another compiler rounds some sums differently.
    CC = clang
    OPENMP = /usr/lib/llvm-14/lib/clang/14.0.6/include
    COMMON = -march=native -fopenmp -I$(OPENMP) -Wall -Wextra -fPIC -g -fno-omit-frame-pointer \\
      -I. -Isupport -Isupport/include
    SUPPORT_FLAGS = -O3 $(COMMON)
    GENERATED_FLAGS = -O3 -fno-unroll-loops -fno-math-errno $(COMMON)
    LIBS = -L/usr/lib/llvm-14/lib -liomp5 -ldnnl -lopenblas -lz -lm

    GENERATED = $(wildcard *.graph.c *.kernels.c) programs.registry.c
    SUPPORT = $(wildcard support/*.c)
    OBJECTS = $(GENERATED:.c=.o) $(SUPPORT:.c=.o) trainer.o trainer_io.o

    train: $(OBJECTS)
    \t$(CC) $(OBJECTS) $(LIBS) -o $@

    $(GENERATED:.c=.o): %.o: %.c HeadwayPrograms.h
    \t$(CC) $(GENERATED_FLAGS) -c $< -o $@

    $(SUPPORT:.c=.o): %.o: %.c
    \t$(CC) $(SUPPORT_FLAGS) -c $< -o $@

    trainer.o trainer_io.o: %.o: %.c trainer_io.h
    \t$(CC) $(SUPPORT_FLAGS) -DTRAINER_PROGRAM='"\(program)"' -c $< -o $@

    clean:
    \trm -f train $(OBJECTS)

    """
  }
}
