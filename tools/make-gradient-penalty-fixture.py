#!/usr/bin/env python3
"""Writes tests/MixFit.Tests/Fixtures/gradient-penalty-steps.json: three steps of a custom training step with a
gradient penalty taken through the loss-scaled graph, in PyTorch with torch.amp.GradScaler (the recipe of PyTorch's
AMP examples, "Gradient penalty"), which tests/MixFit.Tests/Training/GradientPenaltyStepTests.cs reproduces with a
MixFit TrainStep override. Run by hand; CI does not need Python.

Needs PyTorch >= 2.3 (GradScaler on the CPU): Debian unstable's python3-torch, e.g. inside tools/current-libtorch:
  tools/current-libtorch/enter.sh --bind "$PWD" --cwd "$PWD" -- python3 tools/make-gradient-penalty-fixture.py

The model (Linear(4, 8), Tanh, Linear(8, 3)) has weights from a formula both sides compute in float64 and round to
float32: W1[i, j] = 0.3 sin(4i + j + 1), b1[i] = 0.1 cos(i), W2[k, i] = 0.3 cos(8k + i + 1), b2[k] = 0.05 k. Input
linspace(-1, 1, 24) as 6x4, labels 0 1 2 0 1 2, cross-entropy plus 10 x the mean squared norm of the loss's gradient
with respect to the input, SGD lr 0.1, loss scale fixed at 1024, the same batch for every step.
"""
import json
import sys

import torch
import torch.nn.functional as F

out = sys.argv[1] if len(sys.argv) > 1 else "tests/MixFit.Tests/Fixtures/gradient-penalty-steps.json"
if not hasattr(torch, "amp") or not hasattr(torch.amp, "GradScaler"):
    sys.exit(f"PyTorch {torch.__version__} has no torch.amp.GradScaler for the CPU; run this under PyTorch >= 2.3 (tools/current-libtorch)")


def formula(rows, cols, f):
    i = torch.arange(rows, dtype=torch.float64).reshape(rows, 1)
    j = torch.arange(cols, dtype=torch.float64).reshape(1, cols)
    return f(i, j).to(torch.float32)


model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
with torch.no_grad():
    model[0].weight.copy_(formula(8, 4, lambda i, j: 0.3 * torch.sin(4 * i + j + 1)))
    model[0].bias.copy_(formula(8, 1, lambda i, j: 0.1 * torch.cos(i)).flatten())
    model[2].weight.copy_(formula(3, 8, lambda k, i: 0.3 * torch.cos(8 * k + i + 1)))
    model[2].bias.copy_(formula(3, 1, lambda k, j: 0.05 * k).flatten())

x = torch.linspace(-1, 1, 24).reshape(6, 4)
y = torch.tensor([0, 1, 2, 0, 1, 2])
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scaler = torch.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=1_000_000)
steps = []
for _ in range(3):
    optimizer.zero_grad()
    inputs = x.clone().requires_grad_(True)
    loss = F.cross_entropy(model(inputs), y)
    scaled = torch.autograd.grad(scaler.scale(loss), inputs, create_graph=True)[0]
    gradient = scaled / scaler.get_scale()
    penalty = gradient.pow(2).flatten(1).sum(1).mean()
    scaler.scale(loss + 10 * penalty).backward()
    scaler.step(optimizer)
    scaler.update()
    steps.append({"loss": loss.item(), "penalty": penalty.item()})

json.dump({
    "torch": torch.__version__,
    "steps": steps,
    "weights": {name: value.flatten().tolist() for name, value in model.state_dict().items()},
}, open(out, "w"), indent=1)
print("written", out, "with PyTorch", torch.__version__)
