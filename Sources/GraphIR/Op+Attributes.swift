// The textual form of ops: a mnemonic plus named attributes, and the way back.

extension Op {
  /// The op's name in the textual IR.
  public var mnemonic: String {
    switch self {
    case .input: "input"
    case .variable: "variable"
    case .constant: "constant"
    case .assign: "assign"
    case .update(let rule): "\(rule.kind.rawValue)_update"
    case .unary(let op): op.rawValue
    case .powConstant: "pow"
    case .binary(let op): op.rawValue
    case .compare(let op): "cmp_\(op.rawValue)"
    case .select: "select"
    case .reduce(let op, _): "reduce_\(op.rawValue)"
    case .broadcast: "broadcast"
    case .reshape: "reshape"
    case .transpose: "transpose"
    case .slice: "slice"
    case .pad: "pad"
    case .concat: "concat"
    case .matmul: "matmul"
    case .conv2d: "conv2d"
    case .conv2dInputGrad: "conv2d_input_grad"
    case .conv2dFilterGrad: "conv2d_filter_grad"
    case .avgPool2d: "avg_pool2d"
    case .avgPool2dGrad: "avg_pool2d_grad"
    case .oneHot: "one_hot"
    case .collective(let c): c.kind.rawValue
    case .gradient: "gradient"
    case .stopGradient: "stop_gradient"
    }
  }

  /// The op's attributes in printing order.
  public var attributes: Attributes {
    switch self {
    case .input(let name): [("name", .string(name))]
    case .variable(let name), .assign(let name): [("var", .string(name))]
    case .constant(let value): Self.constantAttributes(value)
    case .update(let rule): Self.updateAttributes(rule)
    case .powConstant(let exponent): [("exponent", .double(exponent))]
    case .reduce(_, let axes): [("axes", .ints(axes))]
    case .broadcast(let shape), .reshape(let shape): [("shape", .ints(shape))]
    case .transpose(let perm): [("perm", .ints(perm))]
    case .slice(let start, let size): [("start", .ints(start)), ("size", .ints(size))]
    case .pad(let low, let high): [("low", .ints(low)), ("high", .ints(high))]
    case .concat(let axis): [("axis", .int(axis))]
    case .matmul(let ta, let tb): [("transpose_a", .bool(ta)), ("transpose_b", .bool(tb))]
    case .conv2d(let c): Self.convAttributes(c)
    case .conv2dInputGrad(let c, let shape): Self.convAttributes(c) + [("input", .ints(shape))]
    case .conv2dFilterGrad(let c, let shape): Self.convAttributes(c) + [("filter", .ints(shape))]
    case .avgPool2d(let w, let s): [("window", .int(w)), ("stride", .int(s))]
    case .avgPool2dGrad(let w, let s, let shape):
      [("window", .int(w)), ("stride", .int(s)), ("input", .ints(shape))]
    case .oneHot(let classes): [("classes", .int(classes))]
    case .collective(let c) where c.kind == .allReduce: [("ranks", .int(c.ranks))]
    case .collective(let c):
      [("axis", .int(c.axis)), ("ranks", .int(c.ranks)), ("rotate", .bool(c.rotate))]
    case .unary, .binary, .compare, .select, .gradient, .stopGradient: []
    }
  }

  private static func convAttributes(_ c: Conv2D) -> Attributes {
    [("stride", .int(c.stride)), ("padding", .int(c.padding))]
      + (c.channelsLast ? [("channels_last", .bool(true))] : [])
  }

  private static func constantAttributes(_ value: Constant) -> Attributes {
    switch value {
    case .splat(let v): [("splat", .double(v))]
    case .diagonal(let offset, let v): [("diagonal", .int(offset)), ("value", .double(v))]
    case .values(let v): [("values", .doubles(v))]
    case .ratio(let numerator, let denominator): [("ratio", .ints([numerator, denominator]))]
    }
  }

  private static func updateAttributes(_ r: UpdateRule) -> Attributes {
    var result: Attributes = [("var", .string(r.variable))]
    switch r.kind {
    case .sgd:
      result += [("momentum", .double(r.momentum)), ("weight_decay", .double(r.weightDecay))]
    case .lars:
      result += [
        ("momentum", .double(r.momentum)), ("weight_decay", .double(r.weightDecay)),
        ("trust", .double(r.trustCoefficient)), ("exclude", .bool(r.excludeFromAdaptation)),
      ]
    case .adamw:
      result += [
        ("beta1", .double(r.beta1)), ("beta2", .double(r.beta2)),
        ("epsilon", .double(r.epsilon)), ("weight_decay", .double(r.weightDecay)),
      ]
    case .runtime:
      result += [
        ("trust", .double(r.trustCoefficient)), ("exclude", .bool(r.excludeFromAdaptation)),
        ("beta2", .double(r.beta2)), ("epsilon", .double(r.epsilon)),
      ]
    }
    return result
  }

  /// Rebuilds an op from its textual form.
  public init(mnemonic: String, attributes: [String: Attribute]) throws(ShapeError) {
    let a = AttributeReader(attributes: attributes, mnemonic: mnemonic)
    if let op = UnaryOp(rawValue: mnemonic) {
      self = .unary(op)
    } else if let op = BinaryOp(rawValue: mnemonic) {
      self = .binary(op)
    } else if mnemonic.hasPrefix("cmp_"),
      let op = Comparison(rawValue: String(mnemonic.dropFirst(4)))
    {
      self = .compare(op)
    } else if mnemonic.hasPrefix("reduce_"),
      let op = ReduceOp(rawValue: String(mnemonic.dropFirst(7)))
    {
      self = .reduce(op, axes: try a.ints("axes"))
    } else if mnemonic.hasSuffix("_update"),
      let kind = UpdateRule.Kind(rawValue: String(mnemonic.dropLast(7)))
    {
      self = .update(try Self.parseUpdate(kind, a))
    } else {
      self = try Self.parseStructural(mnemonic, a)
    }
  }

  private static func parseStructural(_ mnemonic: String, _ a: AttributeReader) throws(ShapeError)
    -> Op
  {
    switch mnemonic {
    case "input": return .input(try a.string("name"))
    case "variable": return .variable(try a.string("var"))
    case "assign": return .assign(try a.string("var"))
    case "constant": return .constant(try parseConstant(a))
    case "pow": return .powConstant(try a.double("exponent"))
    case "select": return .select
    case "broadcast": return .broadcast(try a.ints("shape"))
    case "reshape": return .reshape(try a.ints("shape"))
    case "transpose": return .transpose(try a.ints("perm"))
    case "slice": return .slice(start: try a.ints("start"), size: try a.ints("size"))
    case "pad": return .pad(low: try a.ints("low"), high: try a.ints("high"))
    case "concat": return .concat(axis: try a.int("axis"))
    case "matmul":
      return .matmul(transposeA: try a.bool("transpose_a"), transposeB: try a.bool("transpose_b"))
    case "conv2d": return .conv2d(try parseConv(a))
    case "conv2d_input_grad":
      return .conv2dInputGrad(try parseConv(a), inputShape: try a.ints("input"))
    case "conv2d_filter_grad":
      return .conv2dFilterGrad(try parseConv(a), filterShape: try a.ints("filter"))
    case "avg_pool2d": return .avgPool2d(window: try a.int("window"), stride: try a.int("stride"))
    case "avg_pool2d_grad":
      return .avgPool2dGrad(
        window: try a.int("window"), stride: try a.int("stride"), inputShape: try a.ints("input"))
    case "one_hot": return .oneHot(classes: try a.int("classes"))
    case "all_reduce": return .collective(Collective(.allReduce, ranks: try a.int("ranks")))
    case "all_gather", "reduce_scatter":
      return .collective(
        Collective(
          Collective.Kind(rawValue: mnemonic)!, ranks: try a.int("ranks"),
          axis: try a.int("axis"), rotate: try a.bool("rotate")))
    case "gradient": return .gradient
    case "stop_gradient": return .stopGradient
    default: throw ShapeError("unknown op '\(mnemonic)'")
    }
  }

  private static func parseConv(_ a: AttributeReader) throws(ShapeError) -> Conv2D {
    Conv2D(
      stride: try a.int("stride"), padding: try a.int("padding"),
      channelsLast: a.attributes["channels_last"] == nil ? false : try a.bool("channels_last"))
  }

  private static func parseConstant(_ a: AttributeReader) throws(ShapeError) -> Constant {
    if a.attributes["splat"] != nil { return .splat(try a.double("splat")) }
    if a.attributes["ratio"] != nil {
      let terms = try a.ints("ratio")
      guard terms.count == 2, terms[1] != 0 else {
        throw ShapeError("ratio must be [numerator, denominator] with a non-zero denominator")
      }
      return .ratio(terms[0], terms[1])
    }
    if a.attributes["diagonal"] != nil {
      return .diagonal(offset: try a.int("diagonal"), value: try a.double("value"))
    }
    return .values(try a.doubles("values"))
  }

  private static func parseUpdate(_ kind: UpdateRule.Kind, _ a: AttributeReader)
    throws(ShapeError) -> UpdateRule
  {
    var rule = UpdateRule(kind: kind, variable: try a.string("var"))
    switch kind {
    case .sgd, .lars:
      rule.momentum = try a.double("momentum")
      rule.weightDecay = try a.double("weight_decay")
      if kind == .lars {
        rule.trustCoefficient = try a.double("trust")
        rule.excludeFromAdaptation = try a.bool("exclude")
      }
    case .adamw:
      rule.beta1 = try a.double("beta1")
      rule.beta2 = try a.double("beta2")
      rule.epsilon = try a.double("epsilon")
      rule.weightDecay = try a.double("weight_decay")
    case .runtime:
      rule.trustCoefficient = try a.double("trust")
      rule.excludeFromAdaptation = try a.bool("exclude")
      rule.beta2 = try a.double("beta2")
      rule.epsilon = try a.double("epsilon")
    }
    return rule
  }
}
