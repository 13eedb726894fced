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
    let similarity = normalized.matmul(normalized, transposeOther: true) / temperature
    let selfMask = b.append(
      .constant(.diagonal(offset: 0, value: -1e9)), [], declared: .f32([views, views]))
    let positives = b.append(
      .constant(.diagonal(offset: views / 2, value: 1)), [], declared: .f32([views, views]))
    let logits = similarity + selfMask
    // The shift is constant for the logsumexp, so no gradient needs to flow through it.
    let shift = logits.max(axes: [1]).stopGradient()
    let logSumExp = (logits - shift).exp().sum(axes: [1]).log() + shift
    let positive = (similarity * positives).sum(axes: [1])
    return (logSumExp - positive).mean()
  }
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
