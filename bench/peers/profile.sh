#!/usr/bin/env bash
# Per-op profiles of MixFit's and PyTorch's steps on the same libtorch (bench/peers/README.md, "Where the time goes").
# Meant to run inside tools/current-libtorch's root, where PyTorch and its C++ headers are: it builds
# tools/native/mixfit_op_profiler.cpp against that libtorch, builds MixFit.Bench against it (the build properties
# after --, as for run.sh), records each configuration alone under libtorch's profiler on both sides
# (`MixFit.Bench --models peers --profile`, `pytorch_steps.py --profile`), then prints profile_table.py's tables.
#
#   bench/peers/profile.sh [--steps N] [--warmup N] [--python PY] [--out DIR] [--ours fit|minimal|hand] [-- BUILD-PROPERTY...]
#     --steps/--warmup  profiled and unprofiled steps per configuration (default 10 and 3)
#     --ours            which MixFit loop the tables put beside PyTorch (default fit; the files have all of them)
set -euo pipefail
cd "$(dirname "$0")/../.."
steps=10 warmup=3 python=python3 out="" ours=fit
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) steps="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --python) python="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --ours) ours="$2"; shift 2 ;;
    --) shift; break ;;
    *) echo "bench/peers/profile.sh: unknown option '$1' (expected --steps, --warmup, --python, --out, --ours, then -- and build properties)" >&2; exit 2 ;;
  esac
done
"$python" -c 'import torch, torchvision' 2>/dev/null || { echo "bench/peers/profile.sh: $python cannot import torch and torchvision" >&2; exit 2; }
[ -f /usr/include/torch/csrc/autograd/profiler_kineto.h ] || { echo "bench/peers/profile.sh: no libtorch headers in /usr/include (run it inside tools/current-libtorch/enter.sh)" >&2; exit 2; }
out="${out:-$(mktemp -d /tmp/mixfit-profile-XXXXXX)}"; mkdir -p "$out/events"
libdir=$("$python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
[ -f "$libdir/libtorch_cpu.so" ] || libdir=/usr/lib/x86_64-linux-gnu
# The C++ standard the headers need, found as tools/build-torchsharp-shim.sh finds it.
std=c++17; grep -qs "C++20 or later compatible compiler is required" /usr/include/ATen/ATen.h /usr/include/torch/csrc/api/include/torch/all.h /usr/include/c10/macros/Macros.h && std=c++20
g++ -std=$std -O2 -shared -fPIC -I/usr/include -I/usr/include/torch/csrc/api/include tools/native/mixfit_op_profiler.cpp \
  -o "$out/libmixfit_op_profiler.so" -L"$libdir" -ltorch_cpu -lc10 -Wl,-rpath,"$libdir" 2>"$out/profiler-build.log" \
  || { tail -20 "$out/profiler-build.log" >&2; exit 1; }
dotnet build bench/MixFit.Bench -c Release -nologo -v q --artifacts-path "$out/build" "$@" >"$out/build.log" 2>&1 || { tail -20 "$out/build.log" >&2; exit 1; }
dotnet "$out/build/bin/MixFit.Bench/release/MixFit.Bench.dll" --models peers --steps "$steps" --warmup "$warmup" \
  --profile "$out/events" --profiler "$out/libmixfit_op_profiler.so" | tee "$out/mixfit.log"
# libkineto's own log lines go to stderr.
"$python" bench/peers/pytorch_steps.py --steps "$steps" --warmup "$warmup" --profile "$out/events" 2>"$out/pytorch-stderr.log" | tee "$out/pytorch.log"
"$python" bench/peers/profile_table.py "$out/events" --ours "$ours" | tee "$out/table.md"
echo "bench/peers/profile.sh: results in $out"
