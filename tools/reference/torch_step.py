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
what Headway receives. Entries: joint.step, none.step, fixed.step, bilevel.step (K inner steps:
1 + the metadata's `loop_repeats`, 2 when absent), bilevel.k<K>.step and
bilevel-unrolled.k<K>.step.

Exit status: 0 when every tensor passes, 1 when one fails (or a variable the step writes is
missing from `after`, or has another shape), 2 on a malformed input.
"""
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from headway_step import ARCHS, Malformed, entry_outputs, layout, parse_entry, run_step

FLOOR = 1e-6

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
    try:
        entry = parse_entry(metadata.get("entry", ""), metadata.get("loop_repeats"))
    except ValueError:
        entry = None
    if entry is None:
        raise Malformed(f"{path}: metadata 'entry' is {metadata.get('entry')!r} (loop_repeats "
                        f"{metadata.get('loop_repeats')!r}), not joint.step, none.step, "
                        "fixed.step, bilevel.step or bilevel[-unrolled].k<K>.step")
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
