/// Limited-memory BFGS over a vector of doubles, with a backtracking (Armijo) line search.
///
/// Written here rather than taken from a library: Debian's LAPACK and OpenBLAS have no
/// optimiser, and the probe needs only this small loop. The two-loop recursion keeps `memory`
/// (s, y) pairs; a pair whose curvature s.y is not positive is skipped, so the inverse Hessian
/// estimate stays positive definite. The first step has length 1 along the negative gradient's
/// direction scaled to unit norm.
public struct LBFGS: Sendable {
  /// Pairs kept.
  public var memory: Int
  /// Stop when the gradient's largest component is at most this.
  public var gradientTolerance: Double
  /// Stop after this many iterations.
  public var maxIterations: Int

  public init(memory: Int = 10, gradientTolerance: Double = 1e-5, maxIterations: Int = 1000) {
    self.memory = memory
    self.gradientTolerance = gradientTolerance
    self.maxIterations = maxIterations
  }

  /// How a minimisation ended.
  public struct Result: Sendable {
    public var x: [Double]
    public var value: Double
    /// The largest component of the gradient at `x`.
    public var gradientNorm: Double
    public var iterations: Int
    /// Whether the gradient reached the tolerance (else the iteration limit or a line search
    /// that could not decrease the value stopped it).
    public var converged: Bool
  }

  /// Minimises `objective` (value and gradient at a point) from `start`; `observe` sees the
  /// point and its gradient's largest component after every accepted step.
  public func minimize(
    from start: [Double], observe: (_ x: [Double], _ gradientNorm: Double) -> Void = { _, _ in },
    _ objective: ([Double]) -> (value: Double, gradient: [Double])
  ) -> Result {
    var x = start
    var (value, gradient) = objective(x)
    var pairs: [(s: [Double], y: [Double], rho: Double)] = []
    var iterations = 0
    var gradientNorm = infinityNorm(gradient)
    while iterations < maxIterations, gradientNorm > gradientTolerance {
      var direction = searchDirection(gradient, pairs)
      var slope = dot(direction, gradient)
      if !(slope < 0) {  // not a descent direction: restart from the gradient
        pairs.removeAll()
        direction = gradient.map { -$0 }
        slope = dot(direction, gradient)
      }
      var step = pairs.isEmpty ? 1 / max(norm(direction), 1e-300) : 1.0
      var next: (value: Double, gradient: [Double])
      var candidate: [Double]
      repeat {
        candidate = zip(x, direction).map { $0 + step * $1 }
        next = objective(candidate)
        if next.value <= value + 1e-4 * step * slope { break }
        step *= 0.5
      } while step > 1e-20
      guard next.value <= value + 1e-4 * step * slope else { break }
      let s = zip(candidate, x).map { $0 - $1 }
      let y = zip(next.gradient, gradient).map { $0 - $1 }
      let curvature = dot(s, y)
      if curvature > 1e-12 * norm(s) * norm(y) {
        pairs.append((s, y, 1 / curvature))
        if pairs.count > memory { pairs.removeFirst() }
      }
      (x, value, gradient) = (candidate, next.value, next.gradient)
      iterations += 1
      gradientNorm = infinityNorm(gradient)
      observe(x, gradientNorm)
    }
    return Result(
      x: x, value: value, gradientNorm: gradientNorm, iterations: iterations,
      converged: gradientNorm <= gradientTolerance)
  }

  /// The two-loop recursion: -H g for the inverse Hessian estimate H of the kept pairs.
  func searchDirection(
    _ gradient: [Double], _ pairs: [(s: [Double], y: [Double], rho: Double)]
  ) -> [Double] {
    var q = gradient
    var alphas = [Double](repeating: 0, count: pairs.count)
    for i in pairs.indices.reversed() {
      alphas[i] = pairs[i].rho * dot(pairs[i].s, q)
      for j in q.indices { q[j] -= alphas[i] * pairs[i].y[j] }
    }
    if let last = pairs.last {
      let scale = 1 / (last.rho * dot(last.y, last.y))
      for j in q.indices { q[j] *= scale }
    }
    for i in pairs.indices {
      let beta = pairs[i].rho * dot(pairs[i].y, q)
      for j in q.indices { q[j] += (alphas[i] - beta) * pairs[i].s[j] }
    }
    return q.map { -$0 }
  }
}

func dot(_ a: [Double], _ b: [Double]) -> Double {
  var sum = 0.0
  for i in a.indices { sum += a[i] * b[i] }
  return sum
}

func norm(_ a: [Double]) -> Double { dot(a, a).squareRoot() }

func infinityNorm(_ a: [Double]) -> Double { a.reduce(0) { max($0, abs($1)) } }
