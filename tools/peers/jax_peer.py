"""JAX peer of `headway bench`: one SimCLR training step as a single jax.jit'd function.

Plain jax.numpy / lax (no flax or optax): NCHW convolutions with lax.conv_general_dilated,
BatchNorm written out (training mode, batch statistics, running statistics updated as PyTorch
does), NT-Xent, and PyTorch-style SGD (v = mu v + g + wd p; p -= lr v) inside the same jit, so
XLA sees forward, backward and update as one program. Parameters, momenta and BN state are
donated to the step, so XLA may update them in place.

Threads: before jax loads, XLA_FLAGS gets "--xla_cpu_multi_thread_eigen=true
intra_op_parallelism_threads=T" (the customary recipe; XLA 0.10 silently skips the second token,
as it lacks "--", and rejects it as an unknown flag with one), OMP_NUM_THREADS=T, and the
affinity mask is cut to T CPUs (common.pin_threads). The mask is what bounds XLA's CPU thread
pool, which sizes itself from the schedulable CPU count.
"""
import math
import os
import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

args, spec = common.parse_args()
peer = "jax"
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=true"
                           f" intra_op_parallelism_threads={args.threads}").strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import jaxlib  # noqa: E402
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402

VERSION = f"{jax.__version__} (jaxlib {jaxlib.__version__})"


def init(spec, seed=0):
    """Parameters (PyTorch's default init: uniform +-1/sqrt(fan_in)) and BatchNorm state."""
    rng, params, state = np.random.default_rng(seed), {}, {}

    def uniform(shape, fan_in):
        bound = 1 / math.sqrt(fan_in)
        return jnp.asarray(rng.uniform(-bound, bound, shape), jnp.float32)

    def conv(name, cin, cout, k):
        params[name + ".w"] = uniform((cout, cin, k, k), cin * k * k)

    def bn(name, c):
        params[name + ".g"], params[name + ".b"] = jnp.ones(c), jnp.zeros(c)
        state[name + ".mean"], state[name + ".var"] = jnp.zeros(c), jnp.ones(c)

    conv("stem", spec.image[0], spec.stem, 3), bn("stem.bn", spec.stem)
    for i, (cin, cout, stride) in enumerate(spec.blocks):
        conv(f"b{i}.conv1", cin, cout, 3), bn(f"b{i}.bn1", cout)
        conv(f"b{i}.conv2", cout, cout, 3), bn(f"b{i}.bn2", cout)
        if stride != 1 or cin != cout:
            conv(f"b{i}.short", cin, cout, 1), bn(f"b{i}.short.bn", cout)
    d_in, d_hidden, d_out = spec.head
    params["fc1.w"] = uniform((d_hidden, d_in), d_in)
    bn("fc1.bn", d_hidden)
    params["fc2.w"], params["fc2.b"] = uniform((d_out, d_hidden), d_hidden), uniform(d_out, d_hidden)
    return params, state


def conv(x, w, stride):
    pad = w.shape[-1] // 2
    return lax.conv_general_dilated(x, w, (stride, stride), [(pad, pad), (pad, pad)],
                                    dimension_numbers=("NCHW", "OIHW", "NCHW"))


def batch_norm(params, stats, name, x):
    """Training-mode BN over every axis but 1; records the batch statistics in `stats`."""
    axes = (0,) + tuple(range(2, x.ndim))
    mean = x.mean(axes, keepdims=True)
    var = jnp.square(x - mean).mean(axes, keepdims=True)
    stats[name] = (mean.reshape(-1), var.reshape(-1), x.size // x.shape[1])
    shape = (1, -1) + (1,) * (x.ndim - 2)
    scale = lax.rsqrt(var + common.BN_EPS) * params[name + ".g"].reshape(shape)
    return (x - mean) * scale + params[name + ".b"].reshape(shape)


def forward(params, x):
    """Projections z of the views, and the batch statistics of every BatchNorm."""
    stats, relu = {}, jax.nn.relu
    x = relu(batch_norm(params, stats, "stem.bn", conv(x, params["stem.w"], 1)))
    for i, (cin, cout, stride) in enumerate(spec.blocks):
        y = relu(batch_norm(params, stats, f"b{i}.bn1", conv(x, params[f"b{i}.conv1.w"], stride)))
        y = batch_norm(params, stats, f"b{i}.bn2", conv(y, params[f"b{i}.conv2.w"], 1))
        if stride != 1 or cin != cout:
            x = batch_norm(params, stats, f"b{i}.short.bn", conv(x, params[f"b{i}.short.w"], stride))
        x = relu(y + x)
    h = x.mean((2, 3))
    h = relu(batch_norm(params, stats, "fc1.bn", h @ params["fc1.w"].T))
    return h @ params["fc2.w"].T + params["fc2.b"], stats


def nt_xent(z, temperature=common.TEMPERATURE):
    """Mean over the 2N rows of logsumexp_{j != i} s_ij - s_i,pos with s the cosine
    similarity / temperature; rows i and i + N are the two views of image i."""
    z = z * lax.rsqrt(jnp.sum(z * z, axis=1, keepdims=True) + 1e-12)
    s = z @ z.T / temperature
    views, rows = s.shape[0], jnp.arange(s.shape[0])
    s = jnp.where(jnp.eye(views, dtype=bool), -jnp.inf, s)
    positive = s[rows, (rows + views // 2) % views]
    return jnp.mean(jax.nn.logsumexp(s, axis=1) - positive)


def loss_fn(params, x):
    z, stats = forward(params, x)
    return nt_xent(z), stats


@partial(jax.jit, donate_argnums=(0, 1, 2))
def train_step(params, velocity, state, x):
    """Forward, loss, backward, SGD with momentum and weight decay, BN running statistics."""
    (loss, stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, x)
    velocity = jax.tree.map(lambda v, g, p: common.MOMENTUM * v + g + common.WEIGHT_DECAY * p,
                            velocity, grads, params)
    params = jax.tree.map(lambda p, v: p - common.LR * v, params, velocity)
    m, new_state = common.BN_MOMENTUM, {}
    for name, (mean, var, count) in stats.items():
        new_state[name + ".mean"] = (1 - m) * state[name + ".mean"] + m * mean
        new_state[name + ".var"] = (1 - m) * state[name + ".var"] + m * var * count / (count - 1)
    return params, velocity, new_state, loss


def main():
    params, state = init(spec)
    common.report_start(peer, spec, args, sum(p.size for p in jax.tree.leaves(params)))
    velocity = jax.tree.map(jnp.zeros_like, params)
    x = jnp.asarray(common.random_views(spec, args.batch))

    def step():
        nonlocal params, velocity, state
        params, velocity, state, loss = train_step(params, velocity, state, x)
        return float(loss.block_until_ready())

    times, first_loss = common.time_steps(step, args, min_warmup=1)  # the first call compiles
    common.emit(peer, spec, args, times, first_loss, VERSION)


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # a failing peer is a row in the table, not a crash
        common.emit_error(peer, spec, args, error, VERSION)
