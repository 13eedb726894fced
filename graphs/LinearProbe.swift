import GraphDSL
import GraphIR

/// The feature widths a probe is built for: backbone outputs and head layers of R1 and R2,
/// and raw pixels of Fashion-MNIST (784) and CIFAR (3072) for the pixel baseline.
let probeWidths = [128, 512, 2048, 784, 3072]

/// A linear classifier on frozen features: one `train.f<D>` and `predict.f<D>` entry per width.
func linearProbe(batch: Int) throws(IRError) -> Program {
  let builder = ProgramBuilder(name: "linear-probe", seed: 3)
  for width in probeWidths {
    let classifier = Linear("probe.f\(width)", width, 10)
    builder.entry("train.f\(width)", training: true) { b in
      let features = b.input("features", .f32([batch, width]))
      let labels = b.input("labels", .i32([batch]))
      let loss = softmaxCrossEntropy(classifier(features), labels: labels)
      b.output(ProgramNames.loss, loss)
      b.minimize(
        loss, variables: b.program.parameters(under: "probe.f\(width)"),
        optimizer: OptimizerSpec(.adamw, weightDecay: 1e-4), learningRate: b.input("lr", .scalar))
    }
    builder.entry("predict.f\(width)", training: false) { b in
      b.output("logits", classifier(b.input("features", .f32([batch, width]))))
    }
  }
  return try builder.build()
}

let linearProbeDefinition = ProgramDefinition(
  name: "linear-probe",
  summary: "linear classifier (10 classes) on frozen 128/512/2048-d features or raw pixels",
  batchSizes: [4, 256],
  make: linearProbe)
