"""Shared pieces of the peer benchmarks: workload specs, arguments, thread pinning, timing, JSON.

Every peer (PyTorch, JAX, tinygrad) times the same unit as `headway bench`: one full SimCLR
training step (forward on 2N views, NT-Xent loss, backward, SGD update) on fixed random
inputs, and prints exactly one JSON line to stdout. Everything else goes to stderr.

Import this module *before* the peer library: `parse_args` pins the thread count through
environment variables and the CPU affinity mask, which the libraries read when they load.
"""
import argparse
import json
import math
import os
import resource
import sys
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Spec:
    """A workload, as the design doc (and graphs/*.swift) define it."""
    name: str            # the program name headway uses
    image: tuple         # (C, H, W) of one view
    stem: int            # stem conv width (3x3, no bias) + BN + ReLU
    blocks: tuple        # ResNet BasicBlocks as (in, out, stride)
    head: tuple          # projection head widths: Linear(no bias)+BN+ReLU, then Linear(+bias)
    batch: int           # default N (images; 2N views per step)


def _resnet18_blocks():
    blocks, channels = [], 64
    for stage, width in enumerate([64, 128, 256, 512]):
        for block in range(2):
            blocks.append((channels, width, 2 if stage > 0 and block == 0 else 1))
            channels = width
    return tuple(blocks)


PROGRAMS = {
    "r1": Spec("fmnist-resnet-small", (1, 28, 28), 32,
               ((32, 32, 1), (32, 64, 2), (64, 128, 2)), (128, 512, 128), 256),
    "r2": Spec("cifar-resnet18", (3, 32, 32), 64, _resnet18_blocks(), (512, 2048, 128), 128),
}

# Training hyper-parameters: `headway bench` uses SGD at lr 0.01, temperature 0.5.
LR, MOMENTUM, WEIGHT_DECAY, TEMPERATURE = 0.01, 0.9, 5e-4, 0.5
BN_EPS, BN_MOMENTUM = 1e-5, 0.1


def parse_args(extra=None):
    """Parses the common flags, pins threads, and returns (args, spec).

    `extra(parser)` may add peer-specific flags (e.g. PyTorch's --mode).
    """
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--program", choices=sorted(PROGRAMS), default="r1")
    p.add_argument("--batch", type=int, default=None, help="images N (2N views); default per program")
    p.add_argument("--steps", type=int, default=5, help="timed steps")
    p.add_argument("--warmup", type=int, default=2, help="untimed warm-up steps")
    p.add_argument("--threads", type=int, default=2)
    if extra:
        extra(p)
    args = p.parse_args()
    spec = PROGRAMS[args.program]
    args.batch = args.batch or spec.batch
    pin_threads(args.threads)
    return args, spec


def pin_threads(threads):
    """Restricts this process to `threads` threads, for every library the peers use.

    Sets the usual OpenMP/BLAS variables and, when fewer threads than usable CPUs are asked
    for, the affinity mask to the first `threads` CPUs: XLA and tinygrad size their thread
    pools from the usable CPU count, so the mask is what actually binds them.
    """
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    usable = sorted(os.sched_getaffinity(0))
    if threads < len(usable):
        os.sched_setaffinity(0, usable[:threads])


def log(*parts):
    """Diagnostics go to stderr so stdout carries only the JSON line."""
    print(*parts, file=sys.stderr, flush=True)


def expected_initial_loss(batch):
    """NT-Xent with all similarities equal: log(2N - 1), the sanity value for first_loss."""
    return math.log(2 * batch - 1)


def random_views(spec, batch, seed=0):
    """Fixed inputs of the step: 2N views, uniform [0, 1), float32, NCHW."""
    import numpy as np
    return np.random.default_rng(seed).random((2 * batch, *spec.image), dtype=np.float32)


def time_steps(step, args, min_warmup=1):
    """Runs args.warmup + args.steps steps; `step()` must block and return the loss as a float.

    Returns (sorted step times in seconds, loss of the very first step). At least
    `min_warmup` warm-up steps run, so that compilation (torch.compile, jax.jit, the JIT
    capture of tinygrad) is never timed.
    """
    warmup = max(args.warmup, min_warmup)
    times, first_loss = [], None
    for i in range(warmup + args.steps):
        start = time.perf_counter()
        loss = step()
        seconds = time.perf_counter() - start
        if first_loss is None:
            first_loss = loss
            log(f"first step {seconds:.3f} s, loss {loss:.4f} "
                f"(log(2N-1) = {expected_initial_loss(args.batch):.4f})")
        if not math.isfinite(loss):
            raise FloatingPointError(f"non-finite loss {loss} at step {i}")
        if i >= warmup:
            times.append(seconds)
    log(f"last loss {loss:.4f}; timed steps (s): {', '.join(f'{t:.4f}' for t in times)}")
    return sorted(times), first_loss


def report_start(peer, spec, args, parameters):
    """Logs what runs, with the parameter count (which must agree between the peers)."""
    log(f"{peer}: {spec.name}, batch {args.batch} ({2 * args.batch} views), "
        f"{args.threads} threads, {parameters:,} parameters")


def emit(peer, spec, args, times, first_loss, version, **extra):
    """Prints the one JSON line tools/bench collects."""
    median = times[len(times) // 2]  # the upper median for even counts, as `headway bench`
    record = {
        "peer": peer, "program": spec.name, "batch": args.batch, "threads": args.threads,
        "steps": len(times), "median_s": median, "min_s": times[0], "max_s": times[-1],
        "images_per_s": args.batch / median,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "first_loss": first_loss, "version": version, **extra,
    }
    print(json.dumps(record), flush=True)


def emit_error(peer, spec, args, error, version=None):
    """A failure as one JSON line with an "error" field (the process still exits 0)."""
    message = " ".join(f"{type(error).__name__}: {error}".split())[:500]
    log(f"{peer} failed: {message}")
    print(json.dumps({"peer": peer, "program": spec.name, "batch": args.batch,
                      "threads": args.threads, "error": message, "version": version}), flush=True)
