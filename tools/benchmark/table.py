"""The Markdown table of a tools/bench run: per program, each contender's median step time in
each round, and the median over rounds of Headway's time over the peer's in the same round
(lower is better for Headway), with the range. bf16 peers are compared with Headway's bf16 run
when there is one, the others with its fp32 run.

Usage: table.py RUNS.jsonl THREADS STEPS
"""
import json
import statistics
import sys

path, threads, steps = sys.argv[1:]
rows = [json.loads(line) for line in open(path) if line.strip()]


def reference_for(peer, names):
    if peer.startswith("headway"):
        return None
    if "bf16" in peer and "headway-bf16" in names:
        return "headway-bf16"
    return "headway-fp32" if "headway-fp32" in names else None


def machine_lines(records):
    """What Headway ran on and with: CPU, ISA extensions, BLAS core, convolution choices."""
    for r in records:
        m = r.get("machine")
        if not m:
            continue
        cpu = f"{m.get('cpu', '?')} (family {m.get('family', '?')} model {m.get('model', '?')})"
        yield f"- CPU: {cpu}; {m.get('cores', '?')} cores"
        yield f"- ISA extensions: {' '.join(m.get('extensions', []))}"
        yield f"- OpenBLAS core: {m.get('blas_core', '?')}; oneDNN ISA: {m.get('onednn_isa', '?')}"
        choices = r.get("conv_choices", [])
        if choices:
            used = {}
            for c in choices:
                used[c["algorithm"]] = used.get(c["algorithm"], 0) + 1
            summary = ", ".join(f"{n} on {a}" for a, n in sorted(used.items()))
            calls = sum(c.get("calls", 0) for c in choices
                        if c["algorithm"] == "onednn-winograd")
            direct = sum(c.get("direct_calls", 0) for c in choices)
            if direct:
                summary += (f"; {direct} of {calls} calls of Winograd choices ran direct "
                            "(its workspace fitted neither the arena's free range nor the budget)")
            yield (f"- Headway's convolutions ({len(choices)} shape/pass pairs, "
                   f"{r.get('precision', 'fp32')}): {summary}")
        return


for program in dict.fromkeys(r["program"] for r in rows):
    group = [r for r in rows if r["program"] == program]
    ok = [r for r in group if "error" not in r]
    rounds = sorted({r["round"] for r in group})
    batch = ok[0]["batch"] if ok else "?"
    print(f"\n### {program}: batch {batch}, {threads} threads, {steps} timed steps, "
          f"{len(rounds)} rounds\n")
    for line in machine_lines(r for r in ok if r["peer"].startswith("headway")):
        print(line)
    names = list(dict.fromkeys(r["peer"] for r in group))
    by = {(r["peer"], r["round"]): r for r in group}
    print("\n| run | median s/step, per round | Headway / run, per round | median ratio "
          "| peak RSS MB | RSS ratio |")
    print("|---|---|---|---:|---:|---:|")
    for name in names:
        mine = [by.get((name, k)) for k in rounds]
        errors = [r["error"] for r in mine if r and "error" in r]
        times = " / ".join(f"{r['median_s']:.3f}" if r and "error" not in r else "failed"
                           for r in mine)
        ref = reference_for(name, names)
        ratios, rss = [], []
        for k in rounds:
            a, b = by.get((ref, k)), by.get((name, k))
            if ref and a and b and "error" not in a and "error" not in b:
                ratios.append(a["median_s"] / b["median_s"])
                rss.append(a["peak_rss_mb"] / b["peak_rss_mb"])
        peaks = [r["peak_rss_mb"] for r in mine if r and "error" not in r]
        ratio = " / ".join(f"{x:.2f}" for x in ratios) if ratios else ""
        median = f"{statistics.median(ratios):.2f}x" if ratios else ""
        rss_ratio = f"{statistics.median(rss):.2f}x" if rss else ""
        peak = f"{statistics.median(peaks):.0f}" if peaks else ""
        label = f"{name} (vs {ref})" if ref else name
        print(f"| {label} | {times} | {ratio} | {median} | {peak} | {rss_ratio} |")
        for e in dict.fromkeys(errors):
            print(f"|   failed: {e.replace('|', '/')} | | | | | |")
print(f"\nJSON lines: {path}")
