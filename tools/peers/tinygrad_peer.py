"""tinygrad peer of `headway bench`: one SimCLR training step, captured with TinyJit.

tinygrad's nn.Conv2d / nn.BatchNorm / nn.Linear and nn.optim.SGD (momentum and weight decay
as PyTorch applies them). The whole step (forward, NT-Xent, backward, optimizer update) is one
TinyJit function: its first call runs eagerly, the second captures the kernels and later
calls replay them, so at least two warm-up steps run. --no-jit runs every step eagerly.

Device and threads: DEV=CPU (tinygrad's CPU device; its default renderer compiles C with
clang), NUM_CPU_THREADS=T (the number of cores tinygrad splits its CPU kernels over), both set
before tinygrad loads, and the affinity mask from common.pin_threads. Kernels use tinygrad's
default heuristics; BEAM search is off unless BEAM is set in the environment.
"""
import os
import sys
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

args, spec = common.parse_args(
    lambda p: p.add_argument("--no-jit", action="store_true", help="run every step eagerly"))
peer = "tinygrad"
os.environ.setdefault("DEV", "CPU")
os.environ["NUM_CPU_THREADS"] = str(args.threads)

from tinygrad import Context, Device, Tensor, TinyJit, nn  # noqa: E402
from tinygrad.nn.state import get_parameters  # noqa: E402

VERSION = version("tinygrad")


def conv_bn(cin, cout, kernel, stride):
    """Conv (no bias, 'same' padding) + BatchNorm, as Headway's Conv2DLayer + BatchNorm."""
    return [nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2, bias=False),
            nn.BatchNorm(cout, eps=common.BN_EPS, momentum=common.BN_MOMENTUM)]


class BasicBlock:
    """conv3x3-BN-ReLU-conv3x3-BN plus a shortcut (1x1 conv + BN when the shape changes), ReLU."""

    def __init__(self, cin, cout, stride):
        self.conv1, self.bn1 = conv_bn(cin, cout, 3, stride)
        self.conv2, self.bn2 = conv_bn(cout, cout, 3, 1)
        self.shortcut = conv_bn(cin, cout, 1, stride) if stride != 1 or cin != cout else []

    def __call__(self, x):
        y = self.bn1(self.conv1(x)).relu()
        y = self.bn2(self.conv2(y))
        return (y + x.sequential(self.shortcut)).relu()


class Model:
    """Backbone (stem, blocks, global average pool) and projection head."""

    def __init__(self, spec):
        self.stem = conv_bn(spec.image[0], spec.stem, 3, 1)
        self.blocks = [BasicBlock(*b) for b in spec.blocks]
        d_in, d_hidden, d_out = spec.head
        self.fc1 = nn.Linear(d_in, d_hidden, bias=False)
        self.bn1 = nn.BatchNorm(d_hidden, eps=common.BN_EPS, momentum=common.BN_MOMENTUM)
        self.fc2 = nn.Linear(d_hidden, d_out)

    def __call__(self, x):
        x = x.sequential(self.stem).relu().sequential(self.blocks)
        h = x.mean(axis=(2, 3))
        return self.fc2(self.bn1(self.fc1(h)).relu())


def nt_xent(z, temperature=common.TEMPERATURE):
    """Mean over the 2N rows of logsumexp_{j != i} s_ij - s_i,pos with s the cosine
    similarity / temperature; rows i and i + N are the two views of image i."""
    z = z * (z.square().sum(axis=1, keepdim=True) + 1e-12).rsqrt()
    s = z @ z.T / temperature
    views = s.shape[0]
    s = Tensor.eye(views).cast("bool").where(float("-inf"), s)
    # The positive of row i is row (i + N) mod 2N: the same similarity, read off a rolled z.
    positive = (z * z.roll(views // 2, 0)).sum(axis=1) / temperature
    return (s.logsumexp(axis=1) - positive).mean()


def main():
    Tensor.manual_seed(0)
    model = Model(spec)
    optimizer = nn.optim.SGD(get_parameters(model), lr=common.LR, momentum=common.MOMENTUM,
                             weight_decay=common.WEIGHT_DECAY)
    common.report_start(peer, spec, args, sum(p.numel() for p in optimizer.params))
    common.log(f"device {Device.DEFAULT}, TinyJit {'off' if args.no_jit else 'on'}")
    x = Tensor(common.random_views(spec, args.batch)).realize()

    def train_step(views):
        with Context(TRAINING=1):  # BatchNorm batch statistics; the optimizer requires it too
            optimizer.zero_grad()
            loss = nt_xent(model(views))
            loss.backward()
            return loss.realize(*optimizer.schedule_step())

    if not args.no_jit:
        train_step = TinyJit(train_step)

    def step():
        return float(train_step(x).item())

    times, first_loss = common.time_steps(step, args, min_warmup=0 if args.no_jit else 2)
    common.emit(peer, spec, args, times, first_loss, VERSION, jit=not args.no_jit)


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # a failing peer is a row in the table, not a crash
        common.emit_error(peer, spec, args, error, VERSION)
