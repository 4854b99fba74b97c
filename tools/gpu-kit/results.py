#!/usr/bin/env python3
"""The GPU kit's results table, from checks.json, bench.json and torch.json in --out (each may be missing)."""
import argparse
import json
import os


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    out = parser.parse_args().out
    checks = load(os.path.join(out, "checks.json"))
    bench = load(os.path.join(out, "bench.json")) or []
    torch = load(os.path.join(out, "torch.json")) or {"results": []}
    nccl = load(os.path.join(out, "nccl.json"))
    print()
    if checks is not None:
        passed = [c["name"] for c in checks if c["passed"]]
        print(f"Checks: {len(passed)} of {len(checks)} passed.")
        for c in checks:
            if not c["passed"]:
                lines = (c.get("error") or "").splitlines()
                print(f"- FAIL {c['name']}: {(lines[0] if lines else 'no message')[:300]}")
        print()
    reference = {r["policy"]: r for r in torch.get("results", []) if "ms_per_step" in r}
    env = torch.get("environment", {})
    if bench:
        print(f"Throughput (PyTorch reference: torch {env.get('torch', '?')}, CUDA {env.get('cuda', '?')}, {env.get('device', '?')}, {env.get('model', 'resnet50')}):")
        print()
        print("| model | policy | batch | size | MixFit ms/step | img/s | vs float32 | host reads | peak MiB | PyTorch ms/step | PyTorch peak MiB | MixFit / PyTorch |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        base = {r["model"]: r for r in bench if r["policy"] == "float32" and not r.get("channels_last")}
        for r in bench:
            speedup = r["images_per_second"] / base[r["model"]]["images_per_second"] if r["model"] in base else None
            ref = reference.get(r["policy"]) if r["model"] == "resnet50" and not r.get("channels_last") else None
            ratio = r["ms_per_step"] / ref["ms_per_step"] if ref else None
            print(f"| {r['model']} | {r['policy']}{' NHWC' if r.get('channels_last') else ''} | {r['batch']} | {r['image_size']} | {r['ms_per_step']:.1f} | {r['images_per_second']:.1f} | "
                  f"{f'{speedup:.2f}x' if speedup else '-'} | {r['host_reads']} in {r['steps']} steps | {format(r['peak_allocated_mb'], '.0f') if r.get('peak_allocated_mb') else '-'} | "
                  f"{format(ref['ms_per_step'], '.1f') if ref else '-'} | {format(ref['peak_allocated_mb'], '.0f') if ref and ref.get('peak_allocated_mb') else '-'} | {f'{ratio:.2f}' if ratio else '-'} |")
        print()
        fp16 = next((r for r in bench if r["model"] == "resnet50" and r["policy"] == "mixed_float16" and not r.get("channels_last")), None)
        nhwc = next((r for r in bench if r["model"] == "resnet50" and r["policy"] == "mixed_float16" and r.get("channels_last")), None)
        if fp16 and nhwc:
            print(f"- channels_last under mixed_float16: {fp16['ms_per_step'] / nhwc['ms_per_step']:.2f}x the standard layout's speed.")
        fp32 = base.get("resnet50")
        if fp16 and fp32:
            s = fp16["images_per_second"] / fp32["images_per_second"]
            print(f"- Target: ResNet50 mixed_float16 at least 2.5x float32's throughput: {s:.2f}x, {'met' if s >= 2.5 else 'not met'}.")
        if fp16 and "mixed_float16" in reference:
            ratio = fp16["ms_per_step"] / reference["mixed_float16"]["ms_per_step"]
            print(f"- Target: MixFit's mixed_float16 step at most 1.10x PyTorch AMP's: {ratio:.2f}x, {'met' if ratio <= 1.10 else 'not met'}.")
    if not bench and reference:
        print(f"PyTorch reference only (no MixFit benchmark ran): torch {env.get('torch', '?')}, {env.get('device', '?')}")
        for policy, r in reference.items():
            print(f"- {policy}: {r['ms_per_step']:.1f} ms/step, {r['images_per_second']:.1f} img/s (batch {r['batch']}, {r['image_size']}x{r['image_size']})")
    if nccl:
        print()
        print(f"NCCL {nccl['version']} ({nccl['library']}), world size 1: " + ", ".join(f"{r['megabytes']:.0f} MiB {r['gigabytes_per_second']:.1f} GB/s" for r in nccl["results"]))
    for r in torch.get("results", []):
        if "error" in r:
            print(f"- PyTorch {r['policy']}: {r['error']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
