"""PyTorch peer of `headway bench`: one SimCLR training step, eager or torch.compile'd.

--mode eager:   plain PyTorch autograd and torch.optim.SGD (its default single-tensor loop).
--mode compile: torch.compile (inductor) of model + NT-Xent loss, so AOTAutograd also compiles
                the backward; the optimizer step is compiled separately (PyTorch's recipe for
                compiling optimizers). `loss.backward()` itself stays an eager call into the
                compiled backward graph. If inductor fails here, one JSON line with an "error"
                field is printed and the script exits 0.
--mode bf16:    eager under torch.autocast("cpu", dtype=torch.bfloat16): convolutions and matrix
                products take bfloat16 operands (oneDNN's AVX512-BF16/AMX kernels), BatchNorm,
                the loss and the float32 master weights stay float32 (autocast's own lists).
--mode compile-bf16: the compiled step of --mode compile under the same autocast.
--channels-last: the model's weights and the views in torch.channels_last (NHWC) memory format,
                 which oneDNN's convolutions take without reordering; the peer's name gains
                 "-cl". Without it, tensors are contiguous NCHW.

Threads: torch.set_num_threads(T) and set_num_interop_threads(T), plus OMP_NUM_THREADS and the
affinity mask from common.pin_threads.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (pins threads before torch loads)


def options(p):
    p.add_argument("--mode", choices=["eager", "compile", "bf16", "compile-bf16"],
                   default="eager")
    p.add_argument("--channels-last", action="store_true",
                   help="weights and views in torch.channels_last memory format")


args, spec = common.parse_args(options)
peer = f"pytorch-{args.mode}" + ("-cl" if args.channels_last else "")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(args.threads)
torch.set_num_interop_threads(args.threads)


def conv_bn(cin, cout, kernel, stride):
    """Conv (no bias, 'same' padding) + BatchNorm, as Headway's Conv2DLayer + BatchNorm."""
    return [nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(cout, eps=common.BN_EPS, momentum=common.BN_MOMENTUM)]


class BasicBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN plus a shortcut (1x1 conv + BN when the shape changes), ReLU."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.main = nn.Sequential(*conv_bn(cin, cout, 3, stride), nn.ReLU(inplace=True),
                                  *conv_bn(cout, cout, 3, 1))
        changes = stride != 1 or cin != cout
        self.shortcut = nn.Sequential(*conv_bn(cin, cout, 1, stride)) if changes else nn.Identity()

    def forward(self, x):
        return F.relu(self.main(x) + self.shortcut(x))


def build(spec):
    """Backbone (stem, blocks, global average pool) and projection head."""
    backbone = nn.Sequential(*conv_bn(spec.image[0], spec.stem, 3, 1), nn.ReLU(inplace=True),
                             *[BasicBlock(*b) for b in spec.blocks],
                             nn.AdaptiveAvgPool2d(1), nn.Flatten())
    d_in, d_hidden, d_out = spec.head
    head = nn.Sequential(nn.Linear(d_in, d_hidden, bias=False),
                         nn.BatchNorm1d(d_hidden, eps=common.BN_EPS, momentum=common.BN_MOMENTUM),
                         nn.ReLU(inplace=True), nn.Linear(d_hidden, d_out))
    return nn.Sequential(backbone, head)


def nt_xent(z, temperature=common.TEMPERATURE):
    """Mean over the 2N rows of logsumexp_{j != i} s_ij - s_i,pos with s the cosine
    similarity / temperature; rows i and i + N are the two views of image i."""
    z = F.normalize(z, dim=1)
    s = z @ z.T / temperature
    views = s.shape[0]
    s = s.masked_fill(torch.eye(views, dtype=torch.bool, device=s.device), float("-inf"))
    positives = (torch.arange(views, device=s.device) + views // 2) % views
    return F.cross_entropy(s, positives)


def main():
    torch.manual_seed(0)
    model = build(spec).train()
    common.report_start(peer, spec, args, sum(p.numel() for p in model.parameters()))
    x = torch.from_numpy(common.random_views(spec, args.batch))
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=common.LR, momentum=common.MOMENTUM,
                                weight_decay=common.WEIGHT_DECAY)

    bf16 = args.mode.endswith("bf16")

    def forward_loss(views):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            return nt_xent(model(views))

    def update():
        optimizer.step()

    if args.mode.startswith("compile"):
        forward_loss = torch.compile(forward_loss)
        update = torch.compile(update)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = forward_loss(x)
        loss.backward()
        update()
        return loss.item()

    # Two warm-up steps at least when compiling: the optimizer's momentum buffers appear at
    # the first step, which can trigger one recompilation at the second.
    compiled = args.mode.startswith("compile")
    times, first_loss = common.time_steps(step, args, min_warmup=2 if compiled else 0)
    common.emit(peer, spec, args, times, first_loss, torch.__version__)


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # a failing peer is a row in the table, not a crash
        common.emit_error(peer, spec, args, error, torch.__version__)
