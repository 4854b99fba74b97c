#!/usr/bin/env python3
"""The GPU kit's PyTorch reference: MixFit's ResNet50 protocol (bench/MixFit.GpuChecks/Benchmark.cs) in PyTorch eager.

The first `batch` Fashion-MNIST training images, resized bilinearly to image-size x image-size and given 3 channels,
stay on the device; torchvision's ResNet50 (10 classes, random init), SGD lr 0.01 momentum 0.9, cross-entropy;
`warmup` steps, then `steps` timed steps ending with a synchronisation. Policies: float32; mixed_float16 as
autocast(float16) + GradScaler (PyTorch's AMP recipe); mixed_bfloat16 as autocast(bfloat16). On a CPU, float16
autocast is not offered by every PyTorch (1.13 has none): that row says so. cuDNN's autotuner is left off (PyTorch's
default), as MixFit must (TorchSharp 0.107 does not expose it). Without torchvision the same ResNet50 is built here.
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
except ImportError:  # a wheel without torchvision: the same network, written out below
    torchvision = None


class Bottleneck(torch.nn.Module):
    """torchvision's ResNet50 block (stride on the 3x3 convolution, as torchvision's v1.5)."""

    def __init__(self, inplanes, planes, stride):
        super().__init__()
        nn = torch.nn
        self.conv1, self.bn1 = nn.Conv2d(inplanes, planes, 1, bias=False), nn.BatchNorm2d(planes)
        self.conv2, self.bn2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False), nn.BatchNorm2d(planes)
        self.conv3, self.bn3 = nn.Conv2d(planes, planes * 4, 1, bias=False), nn.BatchNorm2d(planes * 4)
        self.downsample = None
        if stride != 1 or inplanes != planes * 4:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes * 4, 1, stride, bias=False), nn.BatchNorm2d(planes * 4))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


def resnet50(num_classes):
    """torchvision.models.resnet50(num_classes=...) when torchvision is installed, else the same layers and init."""
    if torchvision is not None:
        return torchvision.models.resnet50(num_classes=num_classes)
    nn = torch.nn
    layers, inplanes = [], 64
    for planes, blocks, stride in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]:
        for i in range(blocks):
            layers.append(Bottleneck(inplanes, planes, stride if i == 0 else 1))
            inplanes = planes * 4
    model = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1),
                          *layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, num_classes))
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return model


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
    model = resnet50(num_classes=10).to(device).train()
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
    info = {"torch": torch.__version__, "cuda": torch.version.cuda, "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
            "model": "torchvision resnet50" if torchvision is not None else "resnet50 written out (no torchvision)"}
    with open(args.json, "w") as f:
        json.dump({"environment": info, "results": results}, f, indent=2)
    return 0 if all("error" not in r or r["policy"] == "mixed_float16" and device.type != "cuda" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
