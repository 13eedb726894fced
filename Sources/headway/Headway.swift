import ArgumentParser
import Runtime

/// The user CLI: train a contrastive model on real data.
@main
struct Headway: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "headway",
    abstract: "Contrastive self-supervised training on CPUs: SimCLR, no head, fixed head, bilevel.",
    subcommands: [
      Train.self, Eval.self, Study.self, Sweep.self, SelfCheckCommand.self, Bench.self,
    ])

  static func main() {
    ParentProcess.stopWithParentIfAsked()
    main(nil)
  }
}

extension Precision: ExpressibleByArgument {}
extension DatasetName: ExpressibleByArgument {}
