#!/usr/bin/env bash
# MixFit's training step beside PyTorch's on this machine's CPU, one table (bench/peers/README.md). Runs
# `MixFit.Bench --models peers` and pytorch_steps.py one after the other, --rounds times each (alternating, so drift
# hits both), then table.py.
#
#   bench/peers/run.sh [--steps N] [--warmup N] [--rounds N] [--python PY] [--out DIR] [-- BUILD-PROPERTY...]
#     --steps/--warmup  timed and untimed steps per configuration (default 20 and 3)
#     --rounds          runs of each side (default 1)
#     --python          the Python with torch and torchvision (default: python3 on PATH; Debian's is /usr/bin/python3)
#     --out             where the build, the JSON files and table.md go (default: a new folder under /tmp, printed)
#   Build properties go to `dotnet build` of the benchmark (built under --out, apart from this checkout's bin/obj),
#   e.g. the external libtorch of tools/current-libtorch.
set -euo pipefail
cd "$(dirname "$0")/../.."
steps=20 warmup=3 rounds=1 python=python3 out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) steps="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --python) python="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --) shift; break ;;
    *) echo "bench/peers/run.sh: unknown option '$1' (expected --steps, --warmup, --rounds, --python, --out, then -- and build properties)" >&2; exit 2 ;;
  esac
done
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "bench/peers/run.sh: --rounds must be a positive whole number, got '$rounds'" >&2; exit 2; }
"$python" -c 'import torch, torchvision' 2>/dev/null || { echo "bench/peers/run.sh: $python cannot import torch and torchvision (Debian: apt-get install python3-torch python3-torchvision, then --python /usr/bin/python3)" >&2; exit 2; }
out="${out:-$(mktemp -d /tmp/mixfit-peers-XXXXXX)}"; mkdir -p "$out"
# Built into a folder of its own (.NET's artifacts layout), so build properties never mix with this checkout's bin/obj.
dotnet build bench/MixFit.Bench -c Release -nologo -v q --artifacts-path "$out/build" "$@" >"$out/build.log" 2>&1 || { tail -20 "$out/build.log" >&2; exit 1; }
bench=(dotnet "$out/build/bin/MixFit.Bench/release/MixFit.Bench.dll")
mix=() py=()
for round in $(seq 1 "$rounds"); do
  "${bench[@]}" --models peers --steps "$steps" --warmup "$warmup" --json "$out/mixfit-$round.json" | tee "$out/mixfit-$round.log"
  "$python" bench/peers/pytorch_steps.py --steps "$steps" --warmup "$warmup" --json "$out/pytorch-$round.json" | tee "$out/pytorch-$round.log"
  mix+=(--mixfit "$out/mixfit-$round.json"); py+=(--pytorch "$out/pytorch-$round.json")
done
"$python" bench/peers/table.py "${mix[@]}" "${py[@]}" | tee "$out/table.md"
echo "bench/peers/run.sh: results in $out"
