#!/usr/bin/python3
"""Writes the PyTorch fixtures that tests/MixFit.Tests/Applications use (run by hand; CI does not need Python).

Needs Debian's python3-torch and python3-torchvision (apt-get install python3-torch python3-torchvision).
  * <model>-state-dict.json: the state-dict names and shapes, in order, of torchvision's resnet18/34/50/101 and
    mobilenet_v2 / mobilenet_v3_small / mobilenet_v3_large.
  * tiny.pt / tiny.safetensors / tiny-bf16.safetensors: a small conv net's state dict written by PyTorch itself
    (torch.save, and safetensors written from the specification), and tiny-output.json: its eval-mode output for a
    fixed input, which MixFit must reproduce.
"""
import json
import struct
import sys

import torch
import torchvision

out = sys.argv[1] if len(sys.argv) > 1 else "tests/MixFit.Tests/Fixtures"

for name in ["resnet18", "resnet34", "resnet50", "resnet101", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large"]:
    model = getattr(torchvision.models, name)()
    json.dump([[k, list(v.shape)] for k, v in model.state_dict().items()], open(f"{out}/{name}-state-dict.json", "w"))

torch.manual_seed(0)
tiny = torch.nn.Sequential(
    torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
    torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 3))
tiny.train()
for _ in range(3):  # give BatchNorm non-trivial running statistics
    tiny(torch.randn(8, 3, 5, 5) * 2 + 0.5)
tiny.eval()
x = torch.linspace(-1, 1, 2 * 3 * 5 * 5).reshape(2, 3, 5, 5)
with torch.no_grad():
    y = tiny(x)
torch.save(tiny.state_dict(), f"{out}/tiny.pt")
json.dump({"input": "linspace(-1, 1, 150).reshape(2, 3, 5, 5)", "output": y.flatten().tolist()}, open(f"{out}/tiny-output.json", "w"))


def save_safetensors(path, tensors):
    names = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16", torch.int64: "I64"}
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.contiguous()
        raw = t.view(torch.int16).numpy().tobytes() if t.dtype in (torch.bfloat16, torch.float16) else t.numpy().tobytes()
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


state = tiny.state_dict()
save_safetensors(f"{out}/tiny.safetensors", state)
save_safetensors(f"{out}/tiny-bf16.safetensors",
                 {k: (v.to(torch.bfloat16) if v.is_floating_point() else v) for k, v in state.items()})
print("fixtures written to", out)
