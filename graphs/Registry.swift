import GraphDSL

/// Every program defined in graphs/, by the name the CLI, tests and benchmarks use.
public enum Programs {
  public static let all: [ProgramDefinition] = [
    fmnistResNetSmallDefinition, fmnistResNetSmallTwoRanksDefinition, cifarResNet18Definition,
    linearProbeDefinition,
  ]

  public static func named(_ name: String) -> ProgramDefinition? {
    all.first { $0.name == name }
  }
}
