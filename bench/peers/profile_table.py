#!/usr/bin/env python3
"""Per-op profiles of MixFit's and PyTorch's training steps side by side (bench/peers/profile.sh writes them).

Reads DIR/{mixfit,pytorch}-WORKLOAD-CONFIG.tsv (one event a line: name, thread, start ns, end ns; libtorch's own
profiler on both sides) and the .json beside each (the profiled steps' wall times). For each event its self time is
its duration less its direct children's (events nested in it on the same thread). Per workload and policy it prints
the ops that cost most on either side (self ms per step, calls per step), the total op time, and the time per step
spent outside any op: the host's own work between ops (the language, the framework, the allocator's callers).
"""
import argparse
import collections
import json
import os
import statistics
import sys


def load(prefix):
    with open(prefix + ".json") as f:
        meta = json.load(f)
    events = collections.defaultdict(list)
    with open(prefix + ".tsv") as f:
        for number, line in enumerate(f, 1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 4:
                sys.exit(f"{prefix}.tsv:{number}: expected 4 tab-separated fields (name, thread, start, end), got {len(parts)}")
            name, thread, start, end = parts[0], parts[1], int(parts[2]), int(parts[3])
            events[thread].append((start, -end, name))
    steps = meta["steps"]
    self_ns = collections.Counter()
    calls = collections.Counter()
    top_ns = 0
    for thread_events in events.values():
        thread_events.sort()
        stack = []  # [end, name, child time]
        for start, negative_end, name in thread_events:
            end = -negative_end
            while stack and stack[-1][0] <= start:
                done = stack.pop()
                self_ns[done[1]] += done[3] - done[2]
            if stack:
                stack[-1][2] += end - start
            else:
                top_ns += end - start
            calls[name] += 1
            stack.append([end, name, 0, end - start])
        while stack:
            done = stack.pop()
            self_ns[done[1]] += done[3] - done[2]
    wall = statistics.median(meta["step_ms"])
    return {
        "wall_ms": wall,
        "mean_wall_ms": statistics.fmean(meta["step_ms"]),
        "self_ms": {k: v / 1e6 / steps for k, v in self_ns.items()},
        "calls": {k: v / steps for k, v in calls.items()},
        "top_ms": top_ns / 1e6 / steps,
        "steps": steps,
    }


def table(title, ours_label, ours, theirs_label, theirs, rows):
    print(f"\n### {title}\n")
    print(f"| op | {ours_label} self ms/step | calls/step | {theirs_label} self ms/step | calls/step | difference ms |")
    print("|---|---:|---:|---:|---:|---:|")
    names = set(ours["self_ms"]) | set(theirs["self_ms"])
    ranked = sorted(names, key=lambda n: -max(ours["self_ms"].get(n, 0), theirs["self_ms"].get(n, 0)))
    for name in ranked[:rows]:
        a, b = ours["self_ms"].get(name, 0), theirs["self_ms"].get(name, 0)
        print(f"| `{name}` | {a:.2f} | {ours['calls'].get(name, 0):g} | {b:.2f} | {theirs['calls'].get(name, 0):g} | {a - b:+.2f} |")
    rest_a = sum(v for n, v in ours["self_ms"].items() if n not in ranked[:rows])
    rest_b = sum(v for n, v in theirs["self_ms"].items() if n not in ranked[:rows])
    print(f"| all other ops | {rest_a:.2f} | | {rest_b:.2f} | | {rest_a - rest_b:+.2f} |")
    print(f"| **time inside ops** | {ours['top_ms']:.2f} | {sum(ours['calls'].values()):g} | {theirs['top_ms']:.2f} | {sum(theirs['calls'].values()):g} | {ours['top_ms'] - theirs['top_ms']:+.2f} |")
    out_a, out_b = ours["mean_wall_ms"] - ours["top_ms"], theirs["mean_wall_ms"] - theirs["top_ms"]
    print(f"| **outside any op** (mean step less time inside ops) | {out_a:.2f} | | {out_b:.2f} | | {out_a - out_b:+.2f} |")
    print(f"| **step, mean / median under the profiler** | {ours['mean_wall_ms']:.1f} / {ours['wall_ms']:.1f} | | {theirs['mean_wall_ms']:.1f} / {theirs['wall_ms']:.1f} | | {ours['mean_wall_ms'] - theirs['mean_wall_ms']:+.1f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir")
    parser.add_argument("--rows", type=int, default=12, help="ops listed per table (default 12)")
    parser.add_argument("--ours", default="fit", help="MixFit's configuration: fit, minimal or hand (float32 only)")
    args = parser.parse_args()
    for workload in ("small-cnn", "resnet18"):
        for policy, theirs in (("float32", "float32"), ("mixed_bfloat16", "autocast_bfloat16")):
            ours_prefix = os.path.join(args.dir, f"mixfit-{workload}-{args.ours}-{policy}")
            if not os.path.exists(ours_prefix + ".tsv"):
                continue
            # PyTorch's faster Adam under the profiler (default, or fused where it has it), as the ratios take it.
            candidates = [os.path.join(args.dir, f"pytorch-{workload}-{theirs}{suffix}") for suffix in ("", "-fused")]
            loaded = [(p, load(p)) for p in candidates if os.path.exists(p + ".tsv")]
            if not loaded:
                continue
            theirs_prefix, theirs_profile = min(loaded, key=lambda pair: pair[1]["wall_ms"])
            ours = load(ours_prefix)
            table(f"{workload}, {policy}: MixFit {args.ours} vs {os.path.basename(theirs_prefix)}",
                  "MixFit", ours, "PyTorch", theirs_profile, args.rows)


if __name__ == "__main__":
    main()
