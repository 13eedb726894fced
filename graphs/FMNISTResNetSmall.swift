import GraphDSL
import GraphIR

/// R1: a small ResNet on 1x28x28 Fashion-MNIST views, head 128-512-128; NT-Xent temperature,
/// optimizer, momentum and weight decay are inputs chosen at run time.
func fmnistResNetSmall(batch: Int) throws(IRError) -> Program {
  let backbone = Sequential(
    "backbone",
    [
      Sequential(
        "stem",
        [
          Conv2DLayer("conv", 1, 32, kernel: 3),
          BatchNorm("bn", 32),
          ReLU(),
        ]),
      BasicBlock("block1", 32, 32, stride: 1),
      BasicBlock("block2", 32, 64, stride: 2),
      BasicBlock("block3", 64, 128, stride: 2),
      GlobalAveragePool(),
    ])
  let model = ContrastiveModel(
    name: "fmnist-resnet-small", imageShape: [1, 28, 28], backbone: backbone,
    head: ProjectionHead("head", widths: [128, 512, 128]), innerSteps: [1, 2, 5], seed: 1)
  return try model.program(batch: batch)
}

let fmnistResNetSmallDefinition = ProgramDefinition(
  name: "fmnist-resnet-small",
  summary: "R1: small ResNet (32-64-128) on Fashion-MNIST, head 128-512-128",
  batchSizes: [2, 128, 256],
  make: fmnistResNetSmall)
