import GraphDSL
import GraphIR

/// The feature widths a probe is built for: backbone outputs and head layers of R1 and R2,
/// and raw pixels of Fashion-MNIST (784) and CIFAR (3072) for the pixel baseline.
let probeWidths = [128, 512, 2048, 784, 3072]

/// The class counts a probe is built for: 10 (Fashion-MNIST, MNIST, CIFAR-10, STL-10) and 100
/// (CIFAR-100).
let probeClassCounts = [10, 100]

/// A linear classifier on frozen features: one `train.f<D>` and `predict.f<D>` entry per width
/// for 10 classes, and `train.f<D>.c<C>`, `predict.f<D>.c<C>` for the other class counts.
func linearProbe(batch: Int) throws(IRError) -> Program {
  let builder = ProgramBuilder(name: "linear-probe", seed: 3)
  for classes in probeClassCounts {
    for width in probeWidths { probeEntries(builder, batch: batch, width: width, classes: classes) }
  }
  return try builder.build()
}

/// The training and prediction entries of one probe.
private func probeEntries(_ builder: ProgramBuilder, batch: Int, width: Int, classes: Int) {
  let suffix = "f\(width)" + (classes == 10 ? "" : ".c\(classes)")
  let classifier = Linear("probe.\(suffix)", width, classes)
  builder.entry("train.\(suffix)", training: true) { b in
    let features = b.input("features", .f32([batch, width]))
    let labels = b.input("labels", .i32([batch]))
    let loss = softmaxCrossEntropy(classifier(features), labels: labels)
    b.output(ProgramNames.loss, loss)
    b.minimize(
      loss, variables: b.program.parameters(under: "probe.\(suffix)"),
      optimizer: OptimizerSpec(.adamw, weightDecay: 1e-4), learningRate: b.input("lr", .scalar))
  }
  builder.entry("predict.\(suffix)", training: false) { b in
    b.output("logits", classifier(b.input("features", .f32([batch, width]))))
  }
}

let linearProbeDefinition = ProgramDefinition(
  name: "linear-probe",
  summary: "linear classifier (10 or 100 classes) on frozen 128/512/2048-d features or raw pixels",
  batchSizes: [4, 256],
  make: linearProbe)
