#!/usr/bin/env bash
# MixFit's GPU verification kit (packed on a CPU machine by tools/gpu-kit/pack.sh). On a bare Linux GPU machine with a
# CUDA PyTorch wheel, g++ and no .NET and no network:
#
#   tar -xJf mixfit-gpu-kit.tar.xz && mixfit-gpu-kit/run.sh --out "$OUT"
#
# Stages, each time-boxed and logged (the whole run at most 8 minutes): find PyTorch's libtorch; build TorchSharp's
# shim against it; the ResNet50 protocol in PyTorch eager with AMP (the reference); mixfit doctor; the CUDA checks;
# the benchmark (ResNet50 batch 64 224x224 under float32, mixed_float16 with dynamic loss scaling, mixed_bfloat16,
# and channels_last; the small CNN); NCCL at world size 1; compare on CUDA; a results table. A failed stage is
# recorded with its last line and the run goes on with what does not need it. Output (at most 8 files): results.md, checks.json, bench.json, nccl.json, torch.json,
# doctor.txt, logs.tar.gz (every log, the shim's compiler output, the compare report and runs).
#
# Options: --out DIR (default ./kit-out)   --python EXE (default python3)   --torch-dir DIR (default: that python's torch)
#          --prebuilt-shim FILE (use this libLibTorchSharp.so instead of building one)   --device cuda|cpu (default cuda)
#          --quick (small sizes: a rehearsal on a CPU)   --budget SECONDS (default 450: with the wrap-up, under 8 minutes)
set -uo pipefail
kit="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-$PWD/kit-out}" python="python3" torch_dir="" prebuilt="" device="cuda" quick=0 budget=450
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="${2:-}"; shift 2 ;;
    --python) python="${2:-}"; shift 2 ;;
    --torch-dir) torch_dir="${2:-}"; shift 2 ;;
    --prebuilt-shim) prebuilt="${2:-}"; shift 2 ;;
    --device) device="${2:-}"; shift 2 ;;
    --quick) quick=1; shift ;;
    --budget) budget="${2:-}"; shift 2 ;;
    *) echo "run.sh: unknown option '$1' (see the top of $0)" >&2; exit 2 ;;
  esac
done
case "$device" in cuda|cpu) ;; *) echo "run.sh: --device expects cuda or cpu, got '$device'" >&2; exit 2 ;; esac
mkdir -p "$out/logs" || exit 2
out="$(cd "$out" && pwd)"
# A rerun into the same folder must not report the previous run's figures.
rm -f "$out"/results.md "$out"/checks.json "$out"/bench.json "$out"/nccl.json "$out"/torch.json "$out"/doctor.txt "$out"/logs.tar.gz "$out"/logs/*
rm -rf "$out/shim" "$out/runs" "$out/compare"
rm -f "$kit/app/libLibTorchSharp.so"      # never a previous run's shim
logs="$out/logs"
results="$out/results.md"
start=$(date +%s)
failures=0

{
  echo "# MixFit GPU kit: $(head -1 "$kit/VERSION" 2>/dev/null)"
  echo
  echo "Machine: $(uname -n), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  command -v nvidia-smi >/dev/null && echo "GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)"
  echo
  echo "| stage | status | seconds | limit | note |"
  echo "|---|---|---:|---:|---|"
} >"$results"

# stage NAME LIMIT NOTE command...: runs the command under timeout with its output in logs/NAME.log and adds a row.
stage() {
  local name="$1" limit="$2" note="$3"; shift 3
  local left=$(( budget - ($(date +%s) - start) ))
  if [ "$left" -lt 5 ]; then
    echo "| $name | skipped | 0 | $limit | the kit's ${budget} s budget is spent |" >>"$results"; failures=$((failures + 1)); return 99
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  local t0; t0=$(date +%s.%N)
  echo "run.sh: $name (at most $limit s)"
  timeout -k 5 "$limit" "$@" >"$logs/$name.log" 2>&1
  local rc=$?
  local seconds; seconds=$(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $t0 }")
  local status="ok"
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then status="timed out"; elif [ $rc -ne 0 ]; then status="failed (exit $rc)"; fi
  if [ $rc -ne 0 ]; then
    failures=$((failures + 1))
    note="$note; last line: $(grep -v '^\s*$' "$logs/$name.log" | tail -1 | cut -c1-160 | tr '|' '/')"
  fi
  echo "| $name | $status | $seconds | $limit | $note |" >>"$results"
  return $rc
}
skip() { echo "| $1 | skipped | 0 | - | $2 |" >>"$results"; failures=$((failures + 1)); }

# 1. PyTorch's libtorch.
if [ -z "$torch_dir" ]; then
  # The folder goes to its own file: the log mixes in whatever Python warns on stderr.
  stage torch 30 "$python" "$python" -c "import os, sys, torch; open(sys.argv[1], 'w').write(os.path.dirname(torch.__file__)); print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cxx11_abi', torch._C._GLIBCXX_USE_CXX11_ABI); print('devices', [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())])" "$logs/torch-dir.txt"
  torch_dir="$(cat "$logs/torch-dir.txt" 2>/dev/null)"
fi
if [ -z "$torch_dir" ]; then
  echo "run.sh: $python could not import torch (logs/torch.log)" >&2
elif [ ! -f "$torch_dir/lib/libtorch_cpu.so" ]; then
  echo "run.sh: no libtorch under '$torch_dir'" >&2; torch_dir=""
fi

# 2. The shim, against that libtorch (27 units with the compatibility replacements a libtorch 2.12+ needs: about a
# minute on 16 cores, four on 2, where the kit is rehearsed).
shim=""
shim_limit=200; [ "$(nproc)" -lt 8 ] && shim_limit=480
if [ -n "$prebuilt" ]; then
  shim="$prebuilt"
  echo "| shim | prebuilt | 0 | - | $prebuilt |" >>"$results"
elif [ -z "$torch_dir" ]; then
  skip shim "no libtorch found"
elif [ ! -d "$kit/TorchSharp/src/Native" ]; then
  skip shim "the kit was packed without TorchSharp's sources: pass --prebuilt-shim"
elif extra=(); [ -f "$torch_dir/lib/libc10_cuda.so" ] && extra=(--extra "$kit/mixfit_cuda_memory.cpp"); \
    stage shim "$shim_limit" "TorchSharp $(cut -c1-8 "$kit/TorchSharp/COMMIT" 2>/dev/null) against $torch_dir, $(nproc) jobs${extra[*]:+, with the CUDA memory statistics}" \
    bash "$kit/build-torchsharp-shim.sh" --torchsharp "$kit/TorchSharp" --libtorch "$torch_dir" --out "$out/shim" --jobs "$(nproc)" ${extra[@]+"${extra[@]}"}; then
  shim="$out/shim/libLibTorchSharp.so"
fi

# The same ResNet50 protocol in PyTorch eager with AMP: it needs no shim, and runs before the .NET stages so the
# side-by-side reference is never starved of time by them.
if [ $quick = 1 ]; then torch_args=(--batch 8 --image-size 64 --steps 3 --warmup 1); else torch_args=(--batch 64 --image-size 224 --steps 30 --warmup 5); fi
stage torch-amp 90 "PyTorch eager, autocast + GradScaler" "$python" "$kit/torch_amp_bench.py" --device "$device" --data "$kit/data/fashion-mnist" --json "$out/torch.json" "${torch_args[@]}"

# 3. The .NET stages, with the shim next to the apps and the wheel's libtorch preloaded from where it is.
if [ -n "$shim" ] && [ -f "$shim" ]; then
  cp "$shim" "$kit/app/libLibTorchSharp.so"
  export DOTNET_ROOT="$kit/dotnet" DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 TERM=dumb
  export MIXFIT_LIBTORCH_DIR="$torch_dir" LD_LIBRARY_PATH="$torch_dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  dotnet="$kit/dotnet/dotnet"
  if [ $quick = 1 ]; then
    bench_args=(--models small-cnn,resnet50 --batch 8 --small-batch 8 --image-size 64 --steps 3 --warmup 1)
    compare_args=(--limit 300)
  else
    bench_args=(--models resnet50,small-cnn --batch 64 --image-size 224 --steps 30 --warmup 5)
    compare_args=(--limit 6000)
  fi
  # doctor measures every policy's step: seconds on a GPU, up to minutes on a small CPU (a rehearsal) under load.
  doctor_limit=60; [ "$device" = cpu ] && doctor_limit=180
  stage doctor "$doctor_limit" "versions, loaded libraries, devices, measured steps" "$dotnet" "$kit/app/MixFit.Cli.dll" doctor
  cp "$logs/doctor.log" "$out/doctor.txt" 2>/dev/null
  stage checks 120 "the CUDA issue's checks on $device" "$dotnet" "$kit/app/MixFit.GpuChecks.dll" checks --device "$device" --json "$out/checks.json"
  stage bench 120 "${bench_args[*]}" "$dotnet" "$kit/app/MixFit.GpuChecks.dll" bench --device "$device" --json "$out/bench.json" "${bench_args[@]}"
  if [ "$device" = cuda ]; then
    stage nccl 40 "NCCL at world size 1: a checked sum, all-reduce bandwidth" "$dotnet" "$kit/app/MixFit.GpuChecks.dll" nccl --device cuda --json "$out/nccl.json"
  else
    echo "| nccl | skipped | 0 | - | NCCL needs CUDA (--device cpu) |" >>"$results"
  fi
  stage compare 70 "compare, 1 epoch, ${compare_args[*]}" "$dotnet" "$kit/app/MixFit.Cli.dll" compare --device "$device" --epochs 1 --verbose 2 --store "$out/runs" --out "$out/compare" "${compare_args[@]}"
else
  for name in doctor checks bench nccl compare; do skip "$name" "no shim"; done
fi

# 4. The table, then every log in one archive.
"$python" "$kit/results.py" --out "$out" >>"$results" 2>"$logs/results.log" || echo "(results.py failed: logs/results.log)" >>"$results"
echo >>"$results"
echo "Total: $(( $(date +%s) - start )) s; $failures stage(s) not ok." >>"$results"
tar -czf "$out/logs.tar.gz" -C "$out" logs $( [ -d "$out/shim/logs" ] && echo shim/logs ) $( [ -d "$out/compare" ] && echo compare ) $( [ -d "$out/runs" ] && echo runs ) 2>/dev/null
rm -rf "$out/logs" "$out/shim/obj" "$out/compare" "$out/runs"
[ -d "$out/shim" ] && { [ -f "$out/shim/libLibTorchSharp.so" ] && mv "$out/shim/libLibTorchSharp.so" "$kit/"; rm -rf "$out/shim"; }
cat "$results"
[ $failures = 0 ]
