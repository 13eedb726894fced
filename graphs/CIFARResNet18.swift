import GraphDSL
import GraphIR

/// R2: the CIFAR ResNet-18 (3x3 stem, no max-pool, 2-2-2-2 blocks) on 3x32x32 views,
/// head 512-2048-128.
func cifarResNet18(batch: Int) throws(IRError) -> Program {
  var layers: [any Layer] = [
    Sequential("stem", [Conv2DLayer("conv", 3, 64, kernel: 3), BatchNorm("bn", 64), ReLU()])
  ]
  var channels = 64
  for (stage, width) in [64, 128, 256, 512].enumerated() {
    for block in 0..<2 {
      let stride = stage > 0 && block == 0 ? 2 : 1
      layers.append(BasicBlock("layer\(stage + 1).\(block)", channels, width, stride: stride))
      channels = width
    }
  }
  layers.append(GlobalAveragePool())
  let model = ContrastiveModel(
    name: "cifar-resnet18", imageShape: [3, 32, 32], backbone: Sequential("backbone", layers),
    head: ProjectionHead("head", widths: [512, 2048, 128]), innerSteps: [1, 2], seed: 2)
  return try model.program(batch: batch)
}

let cifarResNet18Definition = ProgramDefinition(
  name: "cifar-resnet18",
  summary: "R2: CIFAR ResNet-18 on 3x32x32, head 512-2048-128",
  batchSizes: [2, 128],
  make: cifarResNet18)
