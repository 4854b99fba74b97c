#!/usr/bin/env bash
# Packs every MixFit package into one folder (default artifacts/packages) and prints what each weighs:
#   MixFit, MixFit.Tracking, MixFit.Integration.Tracking, MixFit.Experiments   libraries
#   MixFit.Cpu                                                                 MixFit + the CPU libtorch (every OS)
#   MixFit.Tool                                                                the mixfit command (dotnet tool, Linux x64)
# Usage: tools/pack.sh [--no-tool] [--version V] [OUT]
#   --no-tool     skip the tool (its package is ~125 MiB: libtorch_cpu.so alone is 440 MiB before compression)
#   --version V   package version (default: the repository's <Version>)
set -euo pipefail
cd "$(dirname "$0")/.."
tool=1; version=(); out="artifacts/packages"
while [ $# -gt 0 ]; do
  case "$1" in
    --no-tool) tool=0 ;;
    --version) version=(-p:Version="$2"); shift ;;
    -*) echo "pack.sh: unknown option $1 (expected --no-tool, --version V or an output folder)" >&2; exit 2 ;;
    *) out="$1" ;;
  esac
  shift
done
mkdir -p "$out"
out="$(cd "$out" && pwd)"
projects=(src/MixFit src/MixFit.Tracking src/MixFit.Integration.Tracking src/MixFit.Experiments src/MixFit.Cpu)
[ "$tool" -eq 1 ] && projects+=(src/MixFit.Cli)
for project in "${projects[@]}"; do
  dotnet pack "$project" -c Release -nologo -v q -o "$out" "${version[@]}"
done
ls -l "$out"/*.nupkg | awk '{ printf "%8.1f MiB  %s\n", $5 / 1048576, $9 }'
