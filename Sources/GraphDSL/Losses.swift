import GraphIR

/// Scales each row of a [N, D] tensor to unit L2 norm (`x / sqrt(sum(x^2) + eps)`).
public func l2Normalize(
  _ x: Tensor, epsilon: Double = 1e-12, file: String = #filePath, line: Int = #line
) -> Tensor {
  x.builder.at(SourceLocation(filePath: file, line: line)) {
    x * ((x * x).sum(axes: [1]) + epsilon).rsqrt()
  }
}

/// NT-Xent / InfoNCE over 2N views: rows i and i+N of `z` are the two views of image i.
///
/// Cosine similarities divided by the temperature; each row's positive is its other view and
/// its negatives are the 2N-2 remaining rows (the row itself is masked out). Returns the mean
/// over the 2N rows of `logsumexp_{j != i} s_ij - s_i,pos(i)`.
///
/// In a data-parallel program (`DataParallel`) `z` holds the rank's 2n views (n = N / P
/// images) and the loss has global negatives: the rank's rows are the anchors, the keys are
/// every rank's rows (gathered with the rank's own first, so the masks are the same on every
/// rank), and the result is the rank's share of the global mean (its rows' sum over 2N): the
/// ranks' results add up to the loss of the whole batch, and `allReduce()` gives it.
public func infoNCE(
  _ z: Tensor, temperature: Double, file: String = #filePath, line: Int = #line
) -> Tensor {
  nce(z, temperature: z.builder.constant(temperature), file: file, line: line)
}

/// InfoNCE with the temperature a scalar tensor (an entry input, so it is chosen at run time).
public func infoNCE(
  _ z: Tensor, temperature: Tensor, file: String = #filePath, line: Int = #line
) -> Tensor {
  nce(z, temperature: temperature, file: file, line: line)
}

private func nce(_ z: Tensor, temperature: Tensor, file: String, line: Int) -> Tensor {
  let location = SourceLocation(filePath: file, line: line)
  return z.builder.at(location) {
    let b = z.builder
    let views = z.shape[0]
    precondition(views % 2 == 0, "infoNCE needs an even number of views")
    let normalized = l2Normalize(z, file: file, line: line)
    let keys = normalized.allGather(axis: 0, rotate: true)
    let similarity = normalized.matmul(keys, transposeOther: true) / temperature
    let selfMask = keyMask(b, .diagonal(offset: 0, value: -1e9), views: views)
    let positives = keyMask(b, .diagonal(offset: views / 2, value: 1), views: views)
    let logits = similarity + selfMask
    // The shift is constant for the logsumexp, so no gradient needs to flow through it.
    let shift = logits.max(axes: [1]).stopGradient()
    let logSumExp = (logits - shift).exp().sum(axes: [1]).log() + shift
    let positive = (similarity * positives).sum(axes: [1])
    let mean = (logSumExp - positive).mean()
    return b.ranks == 1 ? mean : mean * b.ratio(1, b.ranks)
  }
}

/// A [2n, 2n] mask over the rank's own keys, padded with zeros over the other ranks' keys.
private func keyMask(_ b: GraphBuilder, _ constant: Constant, views: Int) -> Tensor {
  let own = b.append(.constant(constant), [], declared: .f32([views, views]))
  guard b.ranks > 1 else { return own }
  return b.append(.pad(low: [0, 0], high: [0, views * (b.ranks - 1)]), [own])
}

/// Mean softmax cross-entropy of [N, C] logits against int32 labels [N].
public func softmaxCrossEntropy(
  _ logits: Tensor, labels: Tensor, file: String = #filePath, line: Int = #line
) -> Tensor {
  logits.builder.at(SourceLocation(filePath: file, line: line)) {
    let classes = logits.shape.count == 2 ? logits.shape[1] : 1
    let oneHot = logits.builder.append(.oneHot(classes: classes), [labels])
    let shift = logits.max(axes: [1]).stopGradient()
    let logSumExp = (logits - shift).exp().sum(axes: [1]).log() + shift
    return (logSumExp - (logits * oneHot).sum(axes: [1])).mean()
  }
}
