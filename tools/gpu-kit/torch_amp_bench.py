#!/usr/bin/env python3
"""The GPU kit's PyTorch reference: MixFit's ResNet50 protocol (bench/MixFit.GpuChecks/Benchmark.cs) in PyTorch eager.

The first `batch` Fashion-MNIST training images, resized bilinearly to image-size x image-size and given 3 channels,
stay on the device; torchvision's ResNet50 (10 classes, random init), SGD lr 0.01 momentum 0.9, cross-entropy;
`warmup` steps, then `steps` timed steps ending with a synchronisation. Policies: float32; mixed_float16 as
autocast(float16) + GradScaler (PyTorch's AMP recipe); mixed_bfloat16 as autocast(bfloat16). On a CPU, float16
autocast is not offered by every PyTorch (1.13 has none): that row says so. cuDNN's autotuner is left off (PyTorch's
default), as MixFit must (TorchSharp 0.107 does not expose it). Needs torchvision.
"""
import argparse
import gzip
import json
import struct
import sys
import time

import torch
import torch.nn.functional as F

try:
    import torchvision
except ImportError as e:  # the reference model is torchvision's ResNet50
    raise SystemExit(f"torch_amp_bench.py needs torchvision beside torch ({e}); install the wheel that matches torch {torch.__version__}")


def images(data_dir, count, size):
    with gzip.open(f"{data_dir}/train-images-idx3-ubyte.gz", "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        if magic != 2051:
            raise SystemExit(f"{data_dir}/train-images-idx3-ubyte.gz is not an IDX image file (magic {magic})")
        raw = f.read(count * rows * cols)
    with gzip.open(f"{data_dir}/train-labels-idx1-ubyte.gz", "rb") as f:
        f.read(8)
        labels = torch.tensor(list(f.read(count)), dtype=torch.long)
    x = torch.frombuffer(bytearray(raw), dtype=torch.uint8).reshape(count, 1, rows, cols).float() / 255
    if size != rows:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x.expand(-1, 3, -1, -1).contiguous(), labels


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(policy, device, x, y, steps, warmup):
    torch.manual_seed(11)
    model = torchvision.models.resnet50(num_classes=10).to(device).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    dtype = {"mixed_float16": torch.float16, "mixed_bfloat16": torch.bfloat16}.get(policy)
    scaler = None
    if policy == "mixed_float16":
        if device.type != "cuda":
            return {"policy": policy, "error": f"float16 autocast with GradScaler is a CUDA recipe; not run on {device.type}"}
        scaler = torch.amp.GradScaler("cuda") if hasattr(torch, "amp") and hasattr(torch.amp, "GradScaler") else torch.cuda.amp.GradScaler()

    def step():
        optimizer.zero_grad(set_to_none=True)
        if dtype is None:
            loss = F.cross_entropy(model(x), y)
        else:
            with torch.autocast(device_type=device.type, dtype=dtype):
                loss = F.cross_entropy(model(x), y)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()

    for _ in range(warmup):
        step()
    sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)  # the timed steps' peak, as MixFit's benchmark reports it
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    seconds = time.perf_counter() - start
    result = {"policy": policy, "ms_per_step": seconds * 1000 / steps, "images_per_second": x.shape[0] * steps / seconds}
    if device.type == "cuda":
        result["peak_allocated_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    parser.add_argument("--data", required=True, help="folder with train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--json", required=True)
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda, but torch.cuda.is_available() is False")
    device = torch.device(args.device)
    # cuDNN's autotuner stays off (PyTorch's default), as in MixFit: TorchSharp 0.107 cannot switch it on.
    torch.backends.cudnn.benchmark = False
    x, y = images(args.data, args.batch, args.image_size)
    x, y = x.to(device), y.to(device)
    results = []
    for policy in ["float32", "mixed_float16", "mixed_bfloat16"]:
        try:
            r = measure(policy, device, x, y, args.steps, args.warmup)
        except Exception as e:  # one policy failing must not hide the others
            r = {"policy": policy, "error": f"{type(e).__name__}: {e}"}
        r.update(model="resnet50", batch=args.batch, image_size=args.image_size, steps=args.steps)
        print(json.dumps(r), flush=True)
        results.append(r)
    info = {"torch": torch.__version__, "cuda": torch.version.cuda, "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"}
    with open(args.json, "w") as f:
        json.dump({"environment": info, "results": results}, f, indent=2)
    return 0 if all("error" not in r or r["policy"] == "mixed_float16" and device.type != "cuda" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
