#!/usr/bin/env python3
"""PyTorch's side of MixFit's CPU step comparison (bench/peers/README.md): the same workloads as
`MixFit.Bench --models peers`, in PyTorch eager.

Workloads, on the first images of the embedded Fashion-MNIST training file (data/fashion-mnist):
  small-cnn  MixFit's SmallCnn (conv32-BN-ReLU-pool, conv64-BN-ReLU-pool, dense 128, dense 10), batch 128, 28x28x1
  resnet18   torchvision's resnet18(num_classes=10), batch 16, the images resized bilinearly to 64x64 and given 3 channels
Configurations: float32, and mixed bfloat16 as torch.autocast("cpu", torch.bfloat16) (weights stay float32);
each with torch.optim.Adam(lr=1e-3) as PyTorch picks its implementation by default, and, where this PyTorch has it,
Adam(fused=True). Cross-entropy on float32 logits. All configurations of a workload take turns one step each (warm-up
steps first, not timed), and the median ms/step of each is printed and written with --json.
"""
import argparse
import gzip
import json
import platform
import statistics
import struct
import sys
import time

import torch
import torch.nn.functional as F

try:
    import torchvision
except ImportError:
    torchvision = None


def small_cnn():
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


def images(data_dir, count, size, channels):
    path = f"{data_dir}/train-images-idx3-ubyte.gz"
    with gzip.open(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        if magic != 2051 or n < count:
            sys.exit(f"{path}: expected an IDX image file of at least {count} images (magic 2051), got magic {magic} and {n} images")
        raw = f.read(count * rows * cols)
    with gzip.open(f"{data_dir}/train-labels-idx1-ubyte.gz", "rb") as f:
        f.read(8)
        labels = torch.tensor(list(f.read(count)), dtype=torch.long)
    x = torch.frombuffer(bytearray(raw), dtype=torch.uint8).reshape(count, 1, rows, cols).float() / 255
    if size != rows:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x.expand(-1, channels, -1, -1).contiguous(), labels


def fused_adam_available():
    try:
        torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=1e-3, fused=True)
        return True
    except (TypeError, RuntimeError, ValueError):
        return False


def make_step(build, x, y, autocast_dtype, fused):
    torch.manual_seed(0)
    model = build().train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, **({"fused": True} if fused else {}))

    def step():
        optimizer.zero_grad(set_to_none=True)
        if autocast_dtype is None:
            loss = F.cross_entropy(model(x), y)
        else:
            with torch.autocast("cpu", dtype=autocast_dtype):
                logits = model(x)
            loss = F.cross_entropy(logits.float(), y)
        loss.backward()
        optimizer.step()
    return step


def profile(step, args, prefix):
    """Warm-up steps, then --steps steps under torch.profiler (CPU activity, Kineto: the events MixFit.Bench --profile
    records from the same libtorch); writes PREFIX.tsv (name, thread, start and end in ns) and PREFIX.json (step times)."""
    import os
    os.makedirs(os.path.dirname(prefix), exist_ok=True)
    for _ in range(args.warmup):
        step()
    times = []
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(args.steps):
            start = time.perf_counter()
            step()
            times.append((time.perf_counter() - start) * 1000)
    events = prof.profiler.kineto_results.events()
    with open(prefix + ".tsv", "w") as f:
        for e in events:
            f.write(f"{e.name()}\t{e.start_thread_id()}\t{e.start_ns()}\t{e.start_ns() + e.duration_ns()}\n")
    with open(prefix + ".json", "w") as f:
        json.dump({"side": "PyTorch", "steps": len(times), "step_ms": [round(t, 3) for t in times]}, f)
    print(f"  {os.path.basename(prefix):<44} {statistics.median(times):9.1f} ms/step under the profiler, {len(events)} events")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/fashion-mnist", help="folder with train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz")
    parser.add_argument("--models", default="small-cnn,resnet18")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--profile", metavar="DIR", help="instead: each configuration alone under torch.profiler, its events and step times written to DIR for profile_table.py")
    args = parser.parse_args()
    if args.steps < 1 or args.warmup < 0:
        sys.exit(f"--steps must be at least 1 and --warmup at least 0, got {args.steps} and {args.warmup}")

    workloads = {
        "small-cnn": lambda: (small_cnn, *images(args.data, 128, 28, 1)),
        "resnet18": lambda: (lambda: torchvision.models.resnet18(num_classes=10), *images(args.data, 16, 64, 3)),
    }
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in models:
        if m not in workloads:
            sys.exit(f"--models: unknown workload '{m}' (expected {', '.join(workloads)})")
    if "resnet18" in models and torchvision is None:
        sys.exit("resnet18 needs torchvision (Debian: python3-torchvision), which this Python cannot import")

    fused = fused_adam_available()
    print(f"PyTorch {torch.__version__} on {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
          f"Adam fused={'available' if fused else 'not available'}; {args.steps} steps after {args.warmup} warm-up, taking turns one step each")
    rows = []
    for name in models:
        build, x, y = workloads[name]()
        configs = [("PyTorch float32 + Adam", None, False), ("PyTorch autocast bfloat16 + Adam", torch.bfloat16, False)]
        if fused:
            configs += [("PyTorch float32 + Adam(fused=True)", None, True), ("PyTorch autocast bfloat16 + Adam(fused=True)", torch.bfloat16, True)]
        if args.profile:
            for label, dtype, f in configs:
                config = ("float32" if dtype is None else "autocast_bfloat16") + ("-fused" if f else "")
                profile(make_step(build, x, y, dtype, f), args, f"{args.profile}/pytorch-{name}-{config}")
            continue
        steps = [(label, make_step(build, x, y, dtype, f)) for label, dtype, f in configs]
        times = {label: [] for label, _ in steps}
        for round_ in range(args.warmup + args.steps):
            for label, step in steps:
                start = time.perf_counter()
                step()
                if round_ >= args.warmup:
                    times[label].append((time.perf_counter() - start) * 1000)
        print(f"\n{name}")
        for label, _ in steps:
            median = statistics.median(times[label])
            print(f"  {label:<52} {median:9.1f} ms/step ({len(times[label])} steps)")
            rows.append({"workload": name, "config": label, "median_ms": round(median, 2), "steps": len(times[label])})

    if args.json and not args.profile:
        with open(args.json, "w") as f:
            json.dump({"side": "PyTorch", "torch": torch.__version__, "threads": torch.get_num_threads(), "rows": rows}, f, indent=2)
        print(f"written to {args.json}")


if __name__ == "__main__":
    main()
