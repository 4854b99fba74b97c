#!/usr/bin/env bash
# Packs the GPU verification kit on a CPU machine: one .tar.xz (at most 45 MiB) that runs on a bare Linux GPU machine
# with a CUDA PyTorch wheel, g++ and no .NET and no network (tools/gpu-kit/run.sh inside says how).
#
#   tools/gpu-kit/pack.sh --torchsharp <dotnet/TorchSharp v0.107.0 checkout, or its src/Native> [--out FILE]
#   tools/gpu-kit/pack.sh --no-shim-sources [--out FILE]     (the kit then needs run.sh --prebuilt-shim)
#
# Inside: the .NET runtime this machine has (host + Microsoft.NETCore.App, no SDK); the mixfit CLI and the GPU
# checks/benchmark runner (framework-dependent, one folder, no libtorch and no shim: the kit builds the shim against
# the GPU machine's PyTorch); TorchSharp's native sources; the shim build script; the PyTorch AMP reference
# benchmark; the first Fashion-MNIST training file for it. Published from a copy of the working tree, so this
# checkout's build outputs are not touched. Default output: artifacts/mixfit-gpu-kit.tar.xz.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
torchsharp="" out="$repo/artifacts/mixfit-gpu-kit.tar.xz" sources=1
while [ $# -gt 0 ]; do
  case "$1" in
    --torchsharp) torchsharp="${2:-}"; shift 2 ;;
    --no-shim-sources) sources=0; shift ;;
    --out) out="${2:-}"; shift 2 ;;
    *) echo "pack.sh: unknown option '$1' (expected --torchsharp DIR, --no-shim-sources, --out FILE)" >&2; exit 2 ;;
  esac
done
if [ $sources = 1 ]; then
  [ -n "$torchsharp" ] || { echo "pack.sh: give --torchsharp <TorchSharp v0.107.0 checkout> (its src/Native goes into the kit) or --no-shim-sources" >&2; exit 2; }
  native="$torchsharp"; [ -d "$native/src/Native" ] && native="$native/src/Native"
  [ -d "$native/LibTorchSharp" ] || { echo "pack.sh: no LibTorchSharp folder under '$torchsharp'" >&2; exit 2; }
fi
dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
runtime="$(ls -d "$dotnet_root"/shared/Microsoft.NETCore.App/10.* 2>/dev/null | sort -V | tail -1)"
[ -d "$runtime" ] || { echo "pack.sh: no .NET 10 runtime under $dotnet_root/shared/Microsoft.NETCore.App" >&2; exit 2; }
fxr="$(ls -d "$dotnet_root"/host/fxr/* | sort -V | tail -1)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
kit="$work/mixfit-gpu-kit"
mkdir -p "$kit/dotnet/host/fxr" "$kit/dotnet/shared/Microsoft.NETCore.App" "$kit/data/fashion-mnist" "$work/src"

echo "pack.sh: copying the working tree"
(cd "$repo" && tar --exclude=./.git --exclude='*/bin' --exclude='*/obj' --exclude=./artifacts --exclude='*/TestResults' -cf - .) | tar -xf - -C "$work/src"
for project in src/MixFit.Cli bench/MixFit.GpuChecks; do
  echo "pack.sh: publishing $project (framework-dependent, no libtorch)"
  dotnet publish "$work/src/$project" -c Release -o "$kit/app" -nologo -v q \
    -p:MixFitTorchBackend=none -p:MixFitCheckTorchBackend=false -p:UseAppHost=false -p:GenerateDocumentationFile=false
done
# Only Linux x64 runs the kit: other platforms' native files stay out.
find "$kit/app/runtimes" -mindepth 1 -maxdepth 1 -type d ! -name linux-x64 -exec rm -rf {} +
rm -f "$kit/app"/*.pdb

cp "$dotnet_root/dotnet" "$kit/dotnet/"
cp -r "$fxr" "$kit/dotnet/host/fxr/"
cp -r "$runtime" "$kit/dotnet/shared/Microsoft.NETCore.App/"
cp "$dotnet_root"/LICENSE.txt "$dotnet_root"/ThirdPartyNotices.txt "$kit/dotnet/" 2>/dev/null || true
if [ $sources = 1 ]; then
  mkdir -p "$kit/TorchSharp/src"
  cp -r "$native" "$kit/TorchSharp/src/Native"
  rm -rf "$kit/TorchSharp/src/Native/.git"
  git -C "$native" rev-parse HEAD >"$kit/TorchSharp/COMMIT" 2>/dev/null || echo "unknown (not a git checkout)" >"$kit/TorchSharp/COMMIT"
fi
cp "$repo/tools/build-torchsharp-shim.sh" "$repo/tools/gpu-kit/run.sh" "$repo/tools/gpu-kit/torch_amp_bench.py" "$repo/tools/gpu-kit/results.py" "$repo/tools/native/mixfit_cuda_memory.cpp" "$kit/"
# The shim script's compatibility entries beside it, where it looks for them: a wheel of libtorch 2.12+ builds as-is.
cp -r "$repo/tools/torchsharp-compat" "$kit/torchsharp-compat"
cp "$repo/data/fashion-mnist/train-images-idx3-ubyte.gz" "$repo/data/fashion-mnist/train-labels-idx1-ubyte.gz" "$repo/data/fashion-mnist/LICENSE" "$kit/data/fashion-mnist/"
{ echo "mixfit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$repo" diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"; echo "packed $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n)"; echo ".NET runtime $(basename "$runtime")"; } >"$kit/VERSION"

mkdir -p "$(dirname "$out")"
echo "pack.sh: compressing"
tar -C "$work" -cf - mixfit-gpu-kit | xz -T0 -9 >"$out"
size=$(stat -c %s "$out")
echo "pack.sh: $out $(awk "BEGIN { printf \"%.1f\", $size / 1048576 }") MiB ($(du -sh "$kit" | cut -f1) unpacked)"
if [ "$size" -gt $((45 * 1024 * 1024)) ]; then
  echo "pack.sh: the kit is over 45 MiB" >&2
  exit 3
fi
