import GraphDSL
import GraphIR

/// R1: a small ResNet on 1x28x28 Fashion-MNIST views, head 128-512-128; NT-Xent temperature,
/// optimizer, momentum and weight decay are inputs chosen at run time.
func fmnistResNetSmall(batch: Int) throws(IRError) -> Program {
  try fmnistResNetSmallModel().program(batch: batch)
}

/// R1 split over `ranks` processes of a data-parallel run (`mpirun -np P headway train
/// --distributed`): one rank's program for its `batch` images, InfoNCE over every rank's
/// views, gradients summed over the ranks, BatchNorm over the global batch or the rank's
/// (`sync_bn`); `bilevel-unrolled` at K = 2 only. Its variables are R1's, so `eval` and
/// `study` read its checkpoints with R1.
func fmnistResNetSmall(batch: Int, ranks: Int) throws(IRError) -> Program {
  var model = fmnistResNetSmallModel()
  model.innerSteps = [2]
  return try model.program(batch: batch, dataParallel: DataParallel(ranks: ranks))
}

private func fmnistResNetSmallModel() -> ContrastiveModel {
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
  return model
}

let fmnistResNetSmallDefinition = ProgramDefinition(
  name: "fmnist-resnet-small",
  summary: "R1: small ResNet (32-64-128) on Fashion-MNIST, head 128-512-128",
  batchSizes: [2, 128, 256],
  make: fmnistResNetSmall)

let fmnistResNetSmallTwoRanksDefinition = ProgramDefinition(
  name: "fmnist-resnet-small.p2",
  summary: "R1 on each of 2 ranks of a data-parallel run (mpirun -np 2, --distributed)",
  batchSizes: [1, 64, 128], ranks: 2,
  make: { batch throws(IRError) in try fmnistResNetSmall(batch: batch, ranks: 2) })
