"""Headway's training step in PyTorch: the programs of graphs/*.swift (R1, R2), their
variables by Headway's names, BatchNorm, InfoNCE, the three update rules and the bilevel inner
steps, written from the DSL's and the lowering's definitions (Sources/GraphDSL,
Sources/GraphCompiler/LowerOptimizerUpdates*.swift). `torch_step.py` runs it and compares.
"""
import math
import re
from dataclasses import dataclass

import torch
import torch.nn.functional as F
# BatchNorm.swift: eps, running-statistics momentum.
BN_EPS, BN_MOMENTUM = 1e-5, 0.1
# Losses.swift: l2Normalize's eps and InfoNCE's self-mask value.
L2_EPS, SELF_MASK = 1e-12, -1e9
# Optimizer.swift (OptimizerSpec.runtime) and GraphIR's UpdateRule defaults.
LARS_TRUST, ADAM_BETA2, ADAM_EPS = 0.001, 0.999, 1e-8
SLOTS = ("momentum", "adam_v", "adam_step")


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


def parse_entry(text, loop_repeats=None):
    """The mode and K of an entry name; `bilevel.step` runs its second inner step
    `loop_repeats` times (1 when absent), so K = 1 + loop_repeats."""
    if m := re.fullmatch(r"(joint|none|fixed)\.step", text):
        return Entry(m[1])
    if text == "bilevel.step":
        repeats = 1 if loop_repeats is None else int(loop_repeats)
        return Entry("bilevel", 1 + repeats) if repeats >= 0 else None
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
