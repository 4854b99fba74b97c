#!/usr/bin/env python3
"""Puts MixFit's and PyTorch's step times side by side (bench/peers/README.md).

  table.py --mixfit mixfit-1.json [--mixfit mixfit-2.json ...] --pytorch pytorch-1.json [...] [--cpu NAME]

Each JSON is what `MixFit.Bench --models peers --json` or `pytorch_steps.py --json` wrote; several of a side are
runs of it, shown as 'a / b' in run order. Prints a markdown table (median ms/step per configuration and workload)
and the ratios against PyTorch's autocast step and float32 step (the faster of its default and fused Adam, per run),
with the bar of 1.00x: at most PyTorch's time.
"""
import argparse
import json
import sys


def load(paths):
    runs = []
    for path in paths:
        try:
            with open(path) as f:
                runs.append(json.load(f))
        except (OSError, ValueError) as e:
            sys.exit(f"{path}: cannot read it as a peers JSON ({e})")
    return runs


def cell(runs, workload, config):
    values = [next((r["median_ms"] for r in run["rows"] if r["workload"] == workload and r["config"] == config), None) for run in runs]
    return values


def fmt(values):
    return " / ".join("-" if v is None else f"{v:.1f}" for v in values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mixfit", action="append", required=True)
    parser.add_argument("--pytorch", action="append", required=True)
    args = parser.parse_args()
    mixfit, pytorch = load(args.mixfit), load(args.pytorch)
    workloads = []
    for run in mixfit + pytorch:
        for row in run["rows"]:
            if row["workload"] not in workloads:
                workloads.append(row["workload"])

    header = f"MixFit on libtorch {mixfit[0].get('libtorch', '?')} ({mixfit[0].get('threads', '?')} threads), " \
             f"PyTorch {pytorch[0].get('torch', '?')} ({pytorch[0].get('threads', '?')} threads); CPU: {mixfit[0].get('cpu', '?')}"
    print(header)
    print()
    print("| configuration | " + " | ".join(f"{w} ms/step" for w in workloads) + " |")
    print("|---|" + "---:|" * len(workloads))
    for side, runs in (("PyTorch", pytorch), ("MixFit", mixfit)):
        configs = []
        for run in runs:
            for row in run["rows"]:
                if row["config"] not in configs:
                    configs.append(row["config"])
        for config in configs:
            print(f"| {config} | " + " | ".join(fmt(cell(runs, w, config)) for w in workloads) + " |")

    def best(run_index, workload, prefix):
        values = [r["median_ms"] for r in pytorch[run_index]["rows"] if r["workload"] == workload and r["config"].startswith(prefix)]
        return min(values) if values else None

    print()
    print("| ratio (bar: <= 1.00x) | " + " | ".join(workloads) + " |")
    print("|---|" + "---:|" * len(workloads))
    pairs = [
        ("MixFit minimal loop, mixed_bfloat16 / PyTorch autocast bfloat16", "MixFit minimal loop, mixed_bfloat16", "PyTorch autocast bfloat16"),
        ("MixFit Fit, mixed_bfloat16 / PyTorch autocast bfloat16", "MixFit Fit, mixed_bfloat16", "PyTorch autocast bfloat16"),
        ("MixFit minimal loop, float32 / PyTorch float32", "MixFit minimal loop, float32", "PyTorch float32"),
        ("MixFit Fit, float32 / PyTorch float32", "MixFit Fit, float32", "PyTorch float32"),
        ("TorchSharp hand loop, float32 / PyTorch float32", "TorchSharp hand loop, float32 + torch.optim.Adam", "PyTorch float32"),
    ]
    for label, ours, theirs in pairs:
        cells = []
        for w in workloads:
            ratios = []
            for i in range(min(len(mixfit), len(pytorch))):
                value = cell([mixfit[i]], w, ours)[0]
                base = best(i, w, theirs)
                ratios.append(None if value is None or base is None else value / base)
            text = " / ".join("-" if r is None else f"{r:.2f}x" for r in ratios)
            verdict = "" if any(r is None for r in ratios) else (" met" if all(r <= 1.0 for r in ratios) else " NOT MET")
            cells.append(text + verdict)
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()
    print("PyTorch's figure in each ratio is the faster of its Adam variants in that run (default and, where offered, fused=True).")


if __name__ == "__main__":
    main()
