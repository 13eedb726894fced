"""An independent PyTorch reference for one compiled training step of Headway's programs.

    python tools/reference/torch_step.py [--float64] DIR

DIR holds `before.safetensors` (every variable of the program under Headway's name, the
views as `input.views`, and in `__metadata__` the program, the entry and its scalar inputs)
and `after.safetensors` (`loss` and every variable after Headway's compiled step). This
script rebuilds the network with Headway's semantics (graphs/*.swift, Sources/GraphDSL,
Sources/GraphCompiler/LowerOptimizerUpdates*.swift) and runs the same step from the same
state twice, in float32 (t32) and in float64 (t64). Per tensor that the step writes (the loss
and every variable it changes, slots and running statistics included):

    e_hw = rms(hw - t64), e_32 = rms(t32 - t64), scale = rms(t64), floor = 1e-6 * scale
    pass iff e_hw <= 2 * e_32 + floor

that is, Headway's float32 result may be at most twice as far from float64 as PyTorch's own
float32 result. The deviations are root-mean-square over the tensor rather than maxima: the
largest element of a float32 error is a noisy statistic (at batch 2 the ratio of two such
maxima varies by 2x between draws), the RMS is the stable summary of the same error.
With --float64, `after` comes from a float64 computation (Headway's interpreter) stored
once as float32, and each tensor must be within that rounding: e_hw <= 2^-23 * scale. `inner_loss` (bilevel's first inner loss) is compared too where `after` has
it. A variable the step leaves unchanged must, where `after` has it, equal its value before
within the floor. The float64 run uses the scalar inputs rounded to float32, since that is
what Headway receives. Entries: joint.step, none.step, fixed.step, bilevel.k<K>.step and
bilevel-unrolled.k<K>.step.

Exit status: 0 when every tensor passes, 1 when one fails (or a variable the step writes is
missing from `after`, or has another shape), 2 on a malformed input.
"""
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file

# BatchNorm.swift: eps, running-statistics momentum.
BN_EPS, BN_MOMENTUM = 1e-5, 0.1
# Losses.swift: l2Normalize's eps and InfoNCE's self-mask value.
L2_EPS, SELF_MASK = 1e-12, -1e9
# Optimizer.swift (OptimizerSpec.runtime) and GraphIR's UpdateRule defaults.
LARS_TRUST, ADAM_BETA2, ADAM_EPS = 0.001, 0.999, 1e-8
SLOTS = ("momentum", "adam_v", "adam_step")
FLOOR = 1e-6


class Malformed(Exception):
    """An input that does not follow the contract (exit status 2)."""


# ---------------------------------------------------------------------------------------------
# The programs (graphs/*.swift) and the variables they declare


@dataclass(frozen=True)
class Arch:
    image: tuple   # (C, H, W) of one view
    stem: int      # width of the 3x3 stem conv + BN + ReLU
    blocks: tuple  # BasicBlocks as (name, in, out, stride)
    head: tuple    # ProjectionHead widths


def resnet18_blocks():
    blocks, channels = [], 64
    for stage, width in enumerate([64, 128, 256, 512]):
        for block in range(2):
            stride = 2 if stage > 0 and block == 0 else 1
            blocks.append((f"layer{stage + 1}.{block}", channels, width, stride))
            channels = width
    return tuple(blocks)


ARCHS = {
    "fmnist-resnet-small": Arch(
        (1, 28, 28), 32,
        (("block1", 32, 32, 1), ("block2", 32, 64, 2), ("block3", 64, 128, 2)), (128, 512, 128)),
    "cifar-resnet18": Arch((3, 32, 32), 64, resnet18_blocks(), (512, 2048, 128)),
}


@dataclass(frozen=True)
class Var:
    shape: tuple
    kind: str              # "parameter", "state" (running statistics) or "slot"
    adaptive: bool = True  # False: LARS's excluded parameters (BatchNorm, biases)


def has_shortcut(cin, cout, stride):
    return stride != 1 or cin != cout


def head_layers(widths):
    """(index, in, out, last) per ProjectionHead layer: Linear, then BN + ReLU unless last."""
    n = len(widths) - 1
    return [(i + 1, widths[i], widths[i + 1], i == n - 1) for i in range(n)]


def conv_vars(path, cin, cout, k):
    return {f"{path}.weight": Var((cout, cin, k, k), "parameter")}


def bn_vars(path, channels, spatial):
    shape = (channels, 1, 1) if spatial else (channels,)
    return {f"{path}.running_mean": Var(shape, "state"), f"{path}.running_var": Var(shape, "state"),
            f"{path}.weight": Var(shape, "parameter", False),
            f"{path}.bias": Var(shape, "parameter", False)}


def block_vars(path, cin, cout, stride):
    out = {}
    if has_shortcut(cin, cout, stride):
        out |= conv_vars(f"{path}.shortcut.conv", cin, cout, 1)
        out |= bn_vars(f"{path}.shortcut.bn", cout, True)
    out |= conv_vars(f"{path}.conv1", cin, cout, 3) | bn_vars(f"{path}.bn1", cout, True)
    return out | conv_vars(f"{path}.conv2", cout, cout, 3) | bn_vars(f"{path}.bn2", cout, True)


def head_vars(widths):
    out = {}
    for i, d_in, d_out, last in head_layers(widths):
        out[f"head.fc{i}.weight"] = Var((d_out, d_in), "parameter")
        if last:
            out[f"head.fc{i}.bias"] = Var((d_out,), "parameter", False)
        else:
            out |= bn_vars(f"head.bn{i}", d_out, False)
    return out


def layout(arch):
    """Every variable of the program, in declaration order, slots last."""
    out = conv_vars("backbone.stem.conv", arch.image[0], arch.stem, 3)
    out |= bn_vars("backbone.stem.bn", arch.stem, True)
    for name, cin, cout, stride in arch.blocks:
        out |= block_vars(f"backbone.{name}", cin, cout, stride)
    out |= head_vars(arch.head)
    params = [(n, v) for n, v in out.items() if v.kind == "parameter"]
    for slot in SLOTS:
        out |= {f"{n}.{slot}": Var(() if slot == "adam_step" else v.shape, "slot")
                for n, v in params}
    return out


def parameters_under(variables, prefix):
    return [n for n, v in variables.items() if v.kind == "parameter" and n.startswith(prefix + ".")]


# ---------------------------------------------------------------------------------------------
# The network (Conv2DLayer, BatchNorm, BasicBlock, ProjectionHead, GlobalAveragePool)
#
# `p` maps names to values (variables, or bilevel's adapted head); `stats` collects the new
# running statistics, or is None where the step records none.


def conv(x, p, path, stride):
    w = p[f"{path}.weight"]
    return F.conv2d(x, w, stride=stride, padding=w.shape[-1] // 2)


def batch_norm(x, p, path, stats, affine=True):
    """Batch mean and biased variance (mean of squared deviations); running variance unbiased."""
    axes = [0, *range(2, x.dim())]
    running_mean, running_var = p[f"{path}.running_mean"], p[f"{path}.running_var"]
    mean = x.mean(axes).reshape(running_mean.shape)
    centered = x - mean
    variance = (centered * centered).mean(axes).reshape(running_mean.shape)
    if stats is not None:
        count = x.numel() // x.shape[1]
        unbiased = variance * (count / max(count - 1, 1))
        stats[f"{path}.running_mean"] = (
            running_mean * (1 - BN_MOMENTUM) + mean * BN_MOMENTUM).detach()
        stats[f"{path}.running_var"] = (
            running_var * (1 - BN_MOMENTUM) + unbiased * BN_MOMENTUM).detach()
    y = centered * (variance + BN_EPS).rsqrt()
    return y * p[f"{path}.weight"] + p[f"{path}.bias"] if affine else y


def conv_bn(x, p, path, bn, stride, stats):
    return batch_norm(conv(x, p, f"{path}.{bn[0]}", stride), p, f"{path}.{bn[1]}", stats)


def basic_block(x, p, path, cin, cout, stride, stats):
    shortcut = x
    if has_shortcut(cin, cout, stride):
        shortcut = conv_bn(x, p, f"{path}.shortcut", ("conv", "bn"), stride, stats)
    y = conv_bn(x, p, path, ("conv1", "bn1"), stride, stats).relu()
    y = conv_bn(y, p, path, ("conv2", "bn2"), 1, stats)
    return (y + shortcut).relu()


def backbone(arch, p, x, stats):
    x = conv_bn(x, p, "backbone.stem", ("conv", "bn"), 1, stats).relu()
    for name, cin, cout, stride in arch.blocks:
        x = basic_block(x, p, f"backbone.{name}", cin, cout, stride, stats)
    return x.mean((2, 3))


def head(arch, p, h, stats):
    for i, _, _, last in head_layers(arch.head):
        h = h @ p[f"head.fc{i}.weight"].T
        if last:
            h = h + p[f"head.fc{i}.bias"]
        else:
            h = batch_norm(h, p, f"head.bn{i}", stats).relu()
    return h


def info_nce(z, temperature):
    """Mean over the 2N rows of logsumexp_{j != i} s_ij - s_i,(i+N) mod 2N, s = cos / T."""
    normalized = z * ((z * z).sum(1, keepdim=True) + L2_EPS).rsqrt()
    similarity = normalized @ normalized.T / temperature
    views = z.shape[0]
    eye = torch.eye(views, dtype=z.dtype)
    logits = similarity + eye * SELF_MASK
    positives = torch.roll(eye, views // 2, dims=1)
    shift = logits.amax(1).detach()
    log_sum_exp = (logits - shift[:, None]).exp().sum(1).log() + shift
    return (log_sum_exp - (similarity * positives).sum(1)).mean()


# ---------------------------------------------------------------------------------------------
# The outer optimizer: LowerOptimizerUpdates+Runtime.swift (`optimizer` < 0.5 SGD, < 1.5 LARS,
# else AdamW with beta1 = `momentum`)


def trust_ratio(w, g):
    """eta * |w| / |g|, or 1 when either norm is zero."""
    w_norm, g_norm = w.square().sum().sqrt(), g.square().sum().sqrt()
    if w_norm > 0 and g_norm > 0:
        return w_norm / g_norm * LARS_TRUST
    return torch.ones((), dtype=w.dtype)


def update(name, values, grad, s, adaptive):
    """The new values of a parameter and of the slots this optimizer writes."""
    p, velocity = values[name], values[f"{name}.momentum"]
    lr, mu, wd = s["lr"], s["momentum"], s["weight_decay"]
    if s["optimizer"] > 1.5:
        return adamw(name, values, grad, lr, mu, wd)
    decayed = grad + wd * p
    if s["optimizer"] > 0.5:
        step = lr * trust_ratio(p, decayed) * decayed if adaptive else lr * grad
        velocity = mu * velocity + step
        return {name: p - velocity, f"{name}.momentum": velocity}
    velocity = mu * velocity + decayed
    return {name: p - lr * velocity, f"{name}.momentum": velocity}


def adamw(name, values, grad, lr, beta1, wd):
    """m and v mixed, t + 1, m^ / (sqrt(v^) + eps) + wd p with 1 - beta^t = 1 - exp(t log beta)."""
    p = values[name]
    m = beta1 * values[f"{name}.momentum"] + (1 - beta1) * grad
    v = values[f"{name}.adam_v"] * ADAM_BETA2 + (grad * grad) * (1 - ADAM_BETA2)
    t = values[f"{name}.adam_step"] + 1
    m_hat = m / (1 - torch.exp(t * torch.log(beta1)))
    v_hat = v / (1 - torch.exp(t * math.log(ADAM_BETA2)))
    direction = m_hat / (v_hat.sqrt() + ADAM_EPS) + wd * p
    return {name: p - lr * direction, f"{name}.momentum": m, f"{name}.adam_v": v,
            f"{name}.adam_step": t}


def minimize(loss, names, values, leaves, s, variables):
    grads = torch.autograd.grad(loss, [leaves[n] for n in names])
    out = {}
    for name, grad in zip(names, grads):
        out |= {k: v.detach() for k, v in
                update(name, values, grad, s, variables[name].adaptive).items()}
    return out


# ---------------------------------------------------------------------------------------------
# The training steps (ContrastiveModel.swift)


@dataclass(frozen=True)
class Entry:
    mode: str        # joint, none, fixed, bilevel, bilevel-unrolled
    inner_steps: int = 0

    @property
    def bilevel(self):
        return self.mode.startswith("bilevel")


def entry_outputs(entry):
    return ["loss", "inner_loss"] if entry.bilevel else ["loss"]


def parse_entry(text):
    if m := re.fullmatch(r"(joint|none|fixed)\.step", text):
        return Entry(m[1])
    if (m := re.fullmatch(r"(bilevel|bilevel-unrolled)\.k(\d+)\.step", text)) and int(m[2]) > 0:
        return Entry(m[1], int(m[2]))
    return None


def leaves_of(values, names):
    return {n: values[n].detach().clone().requires_grad_() for n in names}


def single_level_step(arch, entry, variables, values, views, s):
    """InfoNCE on head(backbone(x)) (on backbone(x) for `none`); backbone, and for `joint` the
    head, updated by the outer optimizer; every BatchNorm applied records its statistics."""
    trained = parameters_under(variables, "backbone")
    if entry.mode == "joint":
        trained += parameters_under(variables, "head")
    leaves = leaves_of(values, trained)
    p, stats = values | leaves, {}
    h = backbone(arch, p, views, stats)
    loss = info_nce(h if entry.mode == "none" else head(arch, p, h, stats), s["temperature"])
    written = stats | minimize(loss, trained, values, leaves, s, variables)
    return {"loss": loss.detach()}, written


def bilevel_step(arch, entry, variables, values, views, s):
    """Backbone once; K inner head steps of gradient descent with momentum (velocity from zero,
    no statistics recorded); the outer loss at the adapted head (stop_gradient on it unless
    unrolled) updates the backbone; the head keeps its adapted value."""
    unrolled = entry.mode == "bilevel-unrolled"
    trained = parameters_under(variables, "backbone")
    head_names = parameters_under(variables, "head")
    leaves = leaves_of(values, trained)
    stats = {}
    h = backbone(arch, values | leaves, views, stats)
    phi, velocity, outputs = {n: values[n] for n in head_names}, {}, {}
    for inner in range(entry.inner_steps):
        if not unrolled or inner == 0:
            phi = leaves_of(phi, head_names)
        features = h if unrolled else h.detach()
        inner_loss = info_nce(head(arch, values | phi, features, None), s["temperature"])
        if inner == 0:
            outputs["inner_loss"] = inner_loss.detach()
        grads = torch.autograd.grad(inner_loss, [phi[n] for n in head_names], create_graph=unrolled)
        for name, grad in zip(head_names, grads):
            direction = velocity[name] * s["inner_momentum"] + grad if name in velocity else grad
            velocity[name] = direction
            phi[name] = phi[name] - s["inner_lr"] * direction
    final = phi if unrolled else {n: t.detach() for n, t in phi.items()}
    loss = info_nce(head(arch, values | leaves | final, h, stats), s["temperature"])
    outputs["loss"] = loss.detach()
    written = stats | minimize(loss, trained, values, leaves, s, variables)
    return outputs, written | {n: t.detach() for n, t in phi.items()}


def run_step(arch, entry, variables, state, views, scalars, dtype):
    """One step from `state` in `dtype`: (outputs, the variables it writes and their values)."""
    values = {n: t.to(dtype) for n, t in state.items()}
    s = {k: v if k == "optimizer" else torch.tensor(v, dtype=dtype) for k, v in scalars.items()}
    step = bilevel_step if entry.bilevel else single_level_step
    return step(arch, entry, variables, values, views.to(dtype), s)


# ---------------------------------------------------------------------------------------------
# Reading DIR


def load(path):
    try:
        tensors = load_file(path)
        with safe_open(path, framework="pt") as f:
            metadata = f.metadata() or {}
    except Exception as error:
        raise Malformed(f"{path}: cannot read it as safetensors ({error})") from error
    for name, t in tensors.items():
        if t.dtype != torch.float32:
            raise Malformed(f"{path}: tensor '{name}' is {t.dtype}, not F32")
    return tensors, metadata


def scalar_inputs(path, metadata, entry):
    names = ["lr", "temperature", "optimizer", "momentum", "weight_decay"]
    if entry.bilevel:
        names += ["inner_lr", "inner_momentum"]
    scalars = {}
    for name in names:
        try:
            value = float(np.float32(float(metadata[name])))
        except (KeyError, ValueError) as error:
            raise Malformed(f"{path}: metadata '{name}' is missing or not a number") from error
        if not math.isfinite(value):
            raise Malformed(f"{path}: metadata '{name}' is not finite")
        scalars[name] = value
    return scalars


def read_before(path):
    tensors, metadata = load(path)
    arch = ARCHS.get(metadata.get("program", ""))
    if arch is None:
        raise Malformed(f"{path}: metadata 'program' is {metadata.get('program')!r}, "
                        f"not one of {', '.join(ARCHS)}")
    entry = parse_entry(metadata.get("entry", ""))
    if entry is None:
        raise Malformed(f"{path}: metadata 'entry' is {metadata.get('entry')!r}, not joint.step, "
                        "none.step, fixed.step or bilevel[-unrolled].k<K>.step")
    scalars = scalar_inputs(path, metadata, entry)
    views = tensors.pop("input.views", None)
    shape = None if views is None else tuple(views.shape)
    if shape is None or len(shape) != 4 or shape[0] < 2 or shape[0] % 2 or shape[1:] != arch.image:
        raise Malformed(f"{path}: tensor 'input.views' is {list(shape or [])}, not [2N, "
                        f"{', '.join(map(str, arch.image))}]")
    variables = layout(arch)
    check_variables(path, tensors, variables)
    return arch, entry, scalars, variables, tensors, views


def check_variables(path, tensors, variables):
    for name in tensors:
        if name not in variables:
            raise Malformed(f"{path}: tensor '{name}' is no variable of the program")
    for name, var in variables.items():
        if name not in tensors:
            raise Malformed(f"{path}: variable '{name}' is missing")
        if tuple(tensors[name].shape) != var.shape:
            raise Malformed(f"{path}: variable '{name}' is {list(tensors[name].shape)}, "
                            f"not {list(var.shape)}")


def read_after(path, variables, outputs):
    tensors, _ = load(path)
    for name in tensors:
        if name not in variables and name not in outputs:
            raise Malformed(f"{path}: tensor '{name}' is neither a variable nor an output")
    if "loss" not in tensors:
        raise Malformed(f"{path}: tensor 'loss' is missing")
    for name in outputs:
        if name in tensors:
            if tensors[name].numel() != 1 or tensors[name].dim() > 1:
                raise Malformed(f"{path}: output '{name}' is {list(tensors[name].shape)}, "
                                "not [] or [1]")
            tensors[name] = tensors[name].reshape(())
    return tensors


# ---------------------------------------------------------------------------------------------
# Comparing


@dataclass(frozen=True)
class Row:
    name: str
    scale: float
    e_hw: float
    e_32: float
    problem: str = ""  # missing or wrong shape in `after`

    float64: bool = False  # hw is a float64 result rounded once to float32

    @property
    def bound(self):
        return 2.0**-23 * self.scale if self.float64 else 2 * self.e_32 + FLOOR * self.scale

    @property
    def ratio(self):
        if self.problem or math.isnan(self.e_hw):
            return math.inf
        return self.e_hw / self.bound if self.bound > 0 else (0.0 if self.e_hw == 0 else math.inf)

    @property
    def ok(self):
        return not self.problem and self.e_hw <= self.bound


def rms(x):
    return x.double().pow(2).mean().sqrt().item()


def compare(name, hw, t32, t64, float64=False):
    if hw is None:
        return Row(name, 0, math.nan, math.nan, "missing from after")
    if hw.shape != t64.shape:
        return Row(name, 0, math.nan, math.nan, f"shape {list(hw.shape)}, not {list(t64.shape)}")
    t64 = t64.double()
    return Row(name, rms(t64), rms(hw.double() - t64), rms(t32.double() - t64), float64=float64)


def relative(e, scale):
    return e / scale if scale > 0 else e


def print_rows(rows):
    """The table; errors relative to the scale (absolute where the scale is 0)."""
    width = max(len(r.name) for r in rows)
    print(f"{'tensor':<{width}}  {'scale':>10}  {'e_hw/scale':>10}  {'e_32/scale':>10}  "
          f"{'ratio':>8}  result")
    for r in rows:
        if r.problem:
            print(f"{r.name:<{width}}  {'':>10}  {'':>10}  {'':>10}  {'':>8}  FAIL ({r.problem})")
            continue
        print(f"{r.name:<{width}}  {r.scale:10.3e}  {relative(r.e_hw, r.scale):10.3e}  "
              f"{relative(r.e_32, r.scale):10.3e}  {r.ratio:8.3f}  {'ok' if r.ok else 'FAIL'}")


def main(argv):
    float64 = "--float64" in argv[1:]
    paths = [a for a in argv[1:] if a != "--float64"]
    if len(paths) != 1:
        print("usage: python tools/reference/torch_step.py [--float64] DIR", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    directory = Path(paths[0])
    arch, entry, scalars, variables, before, views = read_before(directory / "before.safetensors")
    outputs = entry_outputs(entry)
    after = read_after(directory / "after.safetensors", variables, outputs)
    out64, new64 = run_step(arch, entry, variables, before, views, scalars, torch.float64)
    out32, new32 = run_step(arch, entry, variables, before, views, scalars, torch.float32)
    rows = [compare(n, after.get(n), out32[n], out64[n], float64)
            for n in outputs if n == "loss" or n in after]
    rows += [compare(n, after.get(n), new32[n], new64[n], float64)
             for n in variables if n in new64]
    # A variable the step does not write must come back as it was (t32 = t64 = before).
    unchanged = [n for n in variables if n not in new64]
    kept = [compare(n, after[n], before[n], before[n]) for n in unchanged if n in after]
    rows += [r for r in kept if not r.ok]
    return report(rows, unchanged, kept)


def report(rows, unchanged, kept):
    print_rows(rows)
    worst = max(rows, key=lambda r: r.ratio)
    failed = [r for r in rows if not r.ok]
    print(f"unchanged by the step: {len(unchanged)} variables "
          f"({len(kept)} found in after, {sum(not r.ok for r in kept)} of them changed)")
    print(f"{'FAIL' if failed else 'ok'}: {len(failed)} of {len(rows)} tensors failed; "
          f"largest ratio {worst.ratio:.3f} at {worst.name}")
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Malformed as error:
        print(f"torch_step: malformed input: {error}", file=sys.stderr)
        sys.exit(2)
