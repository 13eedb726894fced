import GraphCompiler
import GraphIR

/// Calls into CKernelSupport for matrix products, convolutions and pooling, and the one-hot
/// loop. Operands are buffers (fusion guarantees it); a 2-D transpose view becomes a BLAS flag.
struct LibraryCall {
  let graph: Graph
  let names: BufferNames
  /// Whether the kernel has a scratch range (`scratch`, and `scratch_bytes` for channels-last
  /// convolutions).
  var hasScratch: Bool

  func emit(_ id: NodeID, into code: inout CodePrinter) {
    let node = graph[id]
    let out = names.buffer(id)!
    let x = node.operands
    switch node.op {
    case .matmul(let ta, let tb):
      let (a, b) = (source(x[0]), source(x[1]))
      let shapeA = graph[x[0]].type.shape
      let k = ta ? shapeA[0] : shapeA[1]
      let flags = "\(ta != a.transposed ? 1 : 0), \(tb != b.transposed ? 1 : 0)"
      code.line(
        "hw_matmul(\(node.type.shape[0]), \(node.type.shape[1]), \(k), \(flags), \(a.name), \(b.name), \(out));"
      )
    case .conv2d(let conv):
      let s = geometry(
        x: graph[x[0]].type.shape, w: graph[x[1]].type.shape, y: node.type.shape, conv)
      emitConvolution("forward", s, conv, x, out, into: &code)
    case .conv2dInputGrad(let conv, let inputShape):
      let s = geometry(x: inputShape, w: graph[x[1]].type.shape, y: graph[x[0]].type.shape, conv)
      emitConvolution("input_grad", s, conv, x, out, into: &code)
    case .conv2dFilterGrad(let conv, let filterShape):
      let s = geometry(x: graph[x[0]].type.shape, w: filterShape, y: graph[x[1]].type.shape, conv)
      emitConvolution("filter_grad", s, conv, x, out, into: &code)
    case .avgPool2d(let window, let stride):
      let s = graph[x[0]].type.shape
      code.line(
        "hw_avg_pool2d(\(s.map(String.init).joined(separator: ", ")), \(window), \(stride), \(pointer(x[0])), \(out));"
      )
    case .avgPool2dGrad(let window, let stride, let s):
      code.line(
        "hw_avg_pool2d_grad(\(s.map(String.init).joined(separator: ", ")), \(window), \(stride), \(pointer(x[0])), \(out));"
      )
    case .oneHot(let classes):
      let labels = pointer(x[0])
      code.block("for (int64_t i = 0; i < \(node.type.shape[0]); i++)") { code in
        code.block("for (int64_t j = 0; j < \(classes); j++)") { code in
          code.line("\(out)[i * \(classes) + j] = (\(labels)[i] == j) ? 1.0f : 0.0f;")
        }
      }
    case .collective(let c):
      emitCollective(c, operand: x[0], out, into: &code)
    default:
      preconditionFailure("\(node.op.mnemonic) is not a library call")
    }
  }

  /// `hw_all_reduce_sum(count, ranks, x, y)`, or `hw_all_gather` / `hw_reduce_scatter(outer,
  /// chunk, ranks, rotate, x, y)` with the operand seen as [outer, ranks or 1, chunk].
  private func emitCollective(
    _ c: Collective, operand: NodeID, _ out: String, into code: inout CodePrinter
  ) {
    let x = pointer(operand)
    let (outer, chunk) = c.blocks(ofOperand: graph[operand].type.shape)
    switch c.kind {
    case .allReduce:
      code.line("hw_all_reduce_sum(\(chunk), \(c.ranks), \(x), \(out));")
    case .allGather, .reduceScatter:
      let name = c.kind == .allGather ? "hw_all_gather" : "hw_reduce_scatter"
      code.line(
        "\(name)(\(outer), \(chunk), \(c.ranks), \(c.rotate ? 1 : 0), \(x), \(out));")
    }
  }

  private func source(_ id: NodeID) -> (name: String, transposed: Bool) {
    let source = graph.bufferSource(id)!
    return (names.buffer(source.owner)!, source.transposed)
  }

  private func pointer(_ id: NodeID) -> String { source(id).name }

  /// `hw_conv2d_<pass>(&out_shape, in0, in1, out, scratch)`, or for channels-last tensors
  /// `hw_conv2d_<pass>_nhwc(&out_shape, in0, in1, out, scratch, scratch_bytes)`: the range of
  /// the arena free during the kernel (an argument: the memory plan of the batch size decides
  /// it), for oneDNN's workspace when it fits.
  private func emitConvolution(
    _ pass: String, _ shape: [String], _ conv: Conv2D, _ x: [NodeID], _ out: String,
    into code: inout CodePrinter
  ) {
    code.wrapped("const hw_conv_shape \(out)_shape = {", shape, "};")
    let (suffix, scratch) =
      conv.channelsLast ? ("_nhwc", ", scratch, scratch_bytes") : ("", ", scratch")
    code.line(
      "hw_conv2d_\(pass)\(suffix)(&\(out)_shape, \(pointer(x[0])), \(pointer(x[1])), \(out)\(scratch));"
    )
  }

  /// The designated initializers of a `hw_conv_shape` (`.n = 4`, ..., `.pad = 1`), from NCHW
  /// (or, channels-last, NHWC) activation shapes.
  private func geometry(x: [Int], w: [Int], y: [Int], _ conv: Conv2D) -> [String] {
    let (x, y) = conv.channelsLast ? (ChannelOrder.nchw(x), ChannelOrder.nchw(y)) : (x, y)
    let fields: KeyValuePairs = [
      "n": x[0], "c": x[1], "h": x[2], "w": x[3], "o": w[0], "kh": w[2], "kw": w[3],
      "oh": y[2], "ow": y[3], "stride": conv.stride, "pad": conv.padding,
    ]
    return fields.map { ".\($0.key) = \($0.value)" }
  }
}
