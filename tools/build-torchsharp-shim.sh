#!/usr/bin/env bash
# Builds TorchSharp's native shim (libLibTorchSharp.so) against a libtorch you already have, so MixFit runs on a
# libtorch that no TorchSharp package ships: a PyTorch install's `torch` folder (CPU or CUDA wheel, e.g. CUDA 13) or
# an unpacked LibTorch archive. Then build your app with -p:MixFitTorchBackend=external (README, GPU section).
#
#   tools/build-torchsharp-shim.sh --torchsharp <dotnet/TorchSharp checkout or its src/Native folder> \
#                                  --libtorch <torch folder: has include/ and lib/> --out <folder> [--jobs N]
#   (instead of --libtorch: --include <dir> --lib <dir>, e.g. a distribution's libtorch-dev)
#   --extra <file.cpp> (repeatable): an optional unit of your own compiled into the shim (MixFit's GPU kit adds
#   tools/native/mixfit_cuda_memory.cpp); one that fails to compile is left out with a warning
#   --std c++17|c++20|...: the C++ standard (default: C++20 where the headers require it, as PyTorch's do from about
#   2.12 on, else C++17)
#   --compat <folder>: the compatibility entries (default: tools/torchsharp-compat beside this script)
#
# The TorchSharp sources are not vendored: give the checkout of TorchSharp v0.107.0 (commit c20b6a1c, the version
# MixFit's managed TorchSharp package is). A git checkout at another commit gets a warning: the managed side and
# the shim must match.
#
# What it does: reads the libtorch version from its headers (torch/headeronly/version.h, or torch/version.h before
# 2.10) and picks the C++ standard they need; applies the entries of torchsharp-compat/compat.tsv whose probe of the
# headers says an API TorchSharp 0.107 uses has changed (the unit is compiled from a copy without the functions that
# use it, and MixFit's replacement unit, written against the new API, beside it; each applied entry is printed with
# its reason); compiles every unit of src/Native/LibTorchSharp with g++ (-fPIC, hidden visibility, the C++ ABI
# libtorch was built with, read from libc10.so's symbols), N units at a time, each unit's compiler output in
# <out>/logs/<unit>.log; links with -Bsymbolic against libtorch, libtorch_cpu, libc10 (and libtorch_cuda,
# libc10_cuda when the libtorch has them) with an RPATH to the libtorch folder; writes <out>/libLibTorchSharp.so and
# <out>/shim-build.txt (what was built against what, the standard, the replacements). No CMake: a CUDA wheel's CMake
# config goes looking for a CUDA toolkit and cuDNN the shim does not need. TorchSharp's -Werror is not used (new
# libtorch headers warn).
# Exit status: 0 built; 2 bad arguments; 3 some units failed to compile (every failing file is listed, with the
# first error of each, and the rest still compiled), or a compatibility entry no longer matches the sources; 4 the
# link failed.
set -uo pipefail

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
die() { echo "build-torchsharp-shim: $*" >&2; exit 2; }

extras=() head="" torchsharp="" libtorch="" include="" lib="" out="" std="" compat_dir="" jobs="$(nproc 2>/dev/null || echo 2)" cxx="${CXX:-g++}"
while [ $# -gt 0 ]; do
  case "$1" in
    --torchsharp) torchsharp="${2:-}"; shift 2 ;;
    --libtorch) libtorch="${2:-}"; shift 2 ;;
    --include) include="${2:-}"; shift 2 ;;
    --lib) lib="${2:-}"; shift 2 ;;
    --out) out="${2:-}"; shift 2 ;;
    --jobs) jobs="${2:-}"; shift 2 ;;
    --std) std="${2:-}"; shift 2 ;;
    --compat) compat_dir="${2:-}"; [ -d "$compat_dir" ] || die "--compat '$compat_dir' is not a folder"; compat_dir="$(cd "$compat_dir" && pwd)"; shift 2 ;;
    --extra) [ -f "${2:-}" ] || die "--extra '${2:-}' is not a file"; extras+=("$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"); shift 2 ;;
    -h|--help) usage ;;
    *) die "unknown option '$1' (expected --torchsharp, --libtorch, --include, --lib, --out, --jobs, --std, --compat, --extra)" ;;
  esac
done

[ -n "$torchsharp" ] || die "--torchsharp is required: a checkout of dotnet/TorchSharp at v0.107.0 (commit c20b6a1c), or its src/Native folder"
[ -n "$out" ] || die "--out is required: the folder that receives libLibTorchSharp.so and the logs"
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || die "--jobs must be a positive whole number, got '$jobs'"
[ -z "$std" ] || [[ "$std" =~ ^(c|gnu)\+\+(17|20|23|2a|2b|26)$ ]] || die "--std must be a C++ standard the compiler knows, such as c++17 or c++20, got '$std'"
if [ -n "$libtorch" ]; then
  [ -d "$libtorch" ] || die "--libtorch '$libtorch' is not a folder (expected a PyTorch install's torch folder or an unpacked LibTorch archive)"
  include="${include:-$libtorch/include}"; lib="${lib:-$libtorch/lib}"
fi
[ -n "$include" ] && [ -n "$lib" ] || die "give --libtorch <torch folder>, or both --include and --lib"
[ -f "$include/torch/csrc/api/include/torch/torch.h" ] || die "no torch/csrc/api/include/torch/torch.h under '$include': that is not libtorch's include folder (a CPU-only NuGet libtorch has no headers; use a PyTorch install's torch/include or a LibTorch archive)"
[ -f "$lib/libtorch_cpu.so" ] || die "no libtorch_cpu.so in '$lib' (expected libtorch's lib folder)"

native="$torchsharp"
[ -d "$native/src/Native" ] && native="$native/src/Native"
[ -d "$native/LibTorchSharp" ] || die "no LibTorchSharp folder under '$torchsharp' (expected a dotnet/TorchSharp checkout or its src/Native folder)"
if git -C "$native" rev-parse HEAD >/dev/null 2>&1; then
  head="$(git -C "$native" rev-parse HEAD)"
  case "$head" in c20b6a1c*) ;; *) echo "warning: TorchSharp checkout is at ${head:0:8}, not v0.107.0 (c20b6a1c): the shim must match MixFit's managed TorchSharp 0.107.0" >&2 ;; esac
fi

mkdir -p "$out/obj" "$out/logs" || die "cannot create '$out'"
out="$(cd "$out" && pwd)"; lib="$(cd "$lib" && pwd)"; include="$(cd "$include" && pwd)"; native="$(cd "$native" && pwd)"
rm -rf "$out"/obj/*.o "$out"/obj/extra "$out"/logs/*.log "$out/libLibTorchSharp.so" "$out/failed.txt"

# The C++ ABI of this libtorch: new-ABI builds export std::__cxx11 (or [abi:cxx11]-tagged) symbols from libc10.
abi=0
if [ "$(nm -D --defined-only "$lib/libc10.so" 2>/dev/null | grep -c cxx11)" -gt 0 ]; then abi=1; fi   # grep -c reads it all: no SIGPIPE under pipefail
cuda=""
[ -f "$lib/libtorch_cuda.so" ] && cuda="-ltorch_cuda -lc10_cuda"

# CUDA's own headers, which libtorch's CUDA headers include: a toolkit, or a pip wheel's nvidia/*/include folders.
cuda_includes=()
for dir in "${CUDA_HOME:-/usr/local/cuda}/include" "$lib"/../../nvidia/*/include; do
  [ -f "$dir/cuda_runtime_api.h" ] && cuda_includes+=(-I "$(cd "$dir" && pwd)")
done
# The libtorch version, read from its headers (torch/headeronly/version.h from 2.10 on, torch/version.h before), and
# the C++ standard they need: C++20 where they say so (PyTorch's headers #error without it from about 2.12 on),
# else C++17; --std overrides.
version=""
for file in "$include/torch/headeronly/version.h" "$include/torch/csrc/api/include/torch/version.h"; do
  version=$(sed -n 's/^#define TORCH_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\).*/\2/p' "$file" 2>/dev/null | paste -sd.)
  [ -n "$version" ] && break
done
[ -n "$version" ] || echo "warning: no TORCH_VERSION_MAJOR/MINOR in $include/torch/headeronly/version.h or torch/csrc/api/include/torch/version.h: the libtorch version is unknown (the build goes on; give --std if the compiler needs another standard)" >&2
std_reason="--std"
if [ -z "$std" ]; then
  if grep -qs "C++20 or later compatible compiler is required" "$include/ATen/ATen.h" "$include/torch/csrc/api/include/torch/all.h" "$include/c10/macros/Macros.h"; then
    std=c++20 std_reason="its headers require C++20"
  else
    std=c++17 std_reason="its headers need no more than C++17"
  fi
fi
flags=(-std=$std -O2 -DNDEBUG -fPIC -fvisibility=hidden -D_GLIBCXX_USE_CXX11_ABI=$abi -Wno-unused-local-typedefs -Wno-deprecated-declarations
       -I "$native" -I "$native/LibTorchSharp" -I "$include" -I "$include/torch/csrc/api/include")
units=$(cd "$native/LibTorchSharp" && ls *.cpp *.c 2>/dev/null | sort)
[ -n "$units" ] || die "no .cpp/.c files in $native/LibTorchSharp"
count=$(echo "$units" | wc -w)

# Compatibility with a newer libtorch (tools/torchsharp-compat/compat.tsv): where an entry's probe of the headers says
# an API changed, the unit is compiled from a copy without the functions that use it, and MixFit's replacement unit
# (written against the new API) is compiled beside it. Every replacement applied is listed, with its reason.
compat_dir="${compat_dir:-$(cd "$(dirname "$0")" && pwd)/torchsharp-compat}"
rm -rf "$out/compat"; mkdir -p "$out/compat"
applied=()
replacements=()
if [ -f "$compat_dir/compat.tsv" ]; then
  while IFS=$'\t' read -r unit probe functions replacement why; do
    case "$unit" in ''|'#'*) continue ;; esac
    read -r mode file regex <<<"$probe"
    # 'missing': the header is there and no line matches (the API is gone); 'present': a line matches (a new API).
    [ -f "$include/$file" ] || continue
    matches=0
    grep -Eqs -- "$regex" "$include/$file" && matches=1
    { [ "$mode" = missing ] && [ $matches = 0 ]; } || { [ "$mode" = present ] && [ $matches = 1 ]; } || continue
    [ -f "$native/LibTorchSharp/$unit" ] || die "compat.tsv names $unit, which this TorchSharp checkout does not have"
    [ -f "$compat_dir/$replacement" ] || die "compat.tsv names $replacement, which $compat_dir does not have"
    if ! awk -v names="$functions" -f "$compat_dir/strip-functions.awk" "$native/LibTorchSharp/$unit" >"$out/compat/$unit" 2>"$out/logs/compat-${unit%.*}.log"; then
      echo "build-torchsharp-shim: taking the changed functions out of $unit failed (this TorchSharp is not the one compat.tsv was written for):" >&2
      grep -v '^stripped ' "$out/logs/compat-${unit%.*}.log" >&2
      exit 3
    fi
    applied+=("$unit: $(echo "$functions" | tr ',' '\n' | wc -l) functions replaced by torchsharp-compat/$replacement ($why)")
    replacements+=("$replacement")
  done <"$compat_dir/compat.tsv"
else
  echo "warning: no $compat_dir/compat.tsv beside this script: units that need a newer libtorch's API will fail to compile" >&2
fi
echo "build-torchsharp-shim: $count units${replacements[*]:+ and ${#replacements[@]} replacement units}, $jobs at a time, against libtorch ${version:-(version unknown)} in $lib ($std: $std_reason; C++11 ABI $abi${cuda:+, CUDA})"
for line in ${applied[@]+"${applied[@]}"}; do echo "  compat $line"; done
start=$(date +%s)

# One line a unit for xargs: the source file and its name in obj/ and logs/ (a replacement unit is 'compat-NAME').
sources() {
  for unit in $units; do
    if [ -f "$out/compat/$unit" ]; then echo "$out/compat/$unit $unit"; else echo "$native/LibTorchSharp/$unit $unit"; fi
  done
  for replacement in ${replacements[@]+"${replacements[@]}"}; do echo "$compat_dir/$replacement compat-$replacement"; done
}
compile() {
  local src="$1" unit="$2" obj="$out/obj/${2%.*}.o" log="$out/logs/${2%.*}.log" t0=$(date +%s)
  if [[ "$unit" == *.c ]]; then
    ${CC:-gcc} -O2 -fPIC -fvisibility=hidden -c "$src" -o "$obj" >"$log" 2>&1
  else
    "$cxx" "${flags[@]}" -c "$src" -o "$obj" >"$log" 2>&1
  fi
  local status=$?
  if [ $status -eq 0 ]; then echo "  ok     $unit ($(( $(date +%s) - t0 )) s)"; else echo "  FAILED $unit ($(( $(date +%s) - t0 )) s): logs/${unit%.*}.log"; echo "$unit" >>"$out/failed.txt"; fi
}
export -f compile
export native out cxx
export flags_string="${flags[*]}"
# Arrays do not cross into xargs' shells: pass the flags as a string split there (no paths with spaces allowed in them).
sources | xargs -P "$jobs" -L1 bash -c 'flags=($flags_string); compile "$1" "$2"' _

if [ -s "$out/failed.txt" ]; then
  failed=$(sort "$out/failed.txt")
  echo "build-torchsharp-shim: $(echo "$failed" | wc -l) of $(sources | wc -l) units failed to compile against this libtorch ($(( $(date +%s) - start )) s):"
  for unit in $failed; do
    first=$(grep -m1 -E "error" "$out/logs/${unit%.*}.log" | cut -c1-300)
    echo "  $unit: ${first:-see logs/${unit%.*}.log}"
  done
  exit 3
fi

# Optional units: compiled with the same flags (and CUDA's headers); one that fails is left out with a warning.
mkdir -p "$out/obj/extra"
for extra in ${extras[@]+"${extras[@]}"}; do
  name="$(basename "${extra%.*}")"
  if "$cxx" "${flags[@]}" ${cuda_includes[@]+"${cuda_includes[@]}"} -c "$extra" -o "$out/obj/extra/$name.o" >"$out/logs/extra-$name.log" 2>&1; then
    echo "  ok     $(basename "$extra") (extra)"
  else
    rm -f "$out/obj/extra/$name.o"
    echo "warning: the extra unit $(basename "$extra") did not compile (logs/extra-$name.log: $(grep -m1 error "$out/logs/extra-$name.log" | cut -c1-200)); the shim is built without it"
  fi
done

if ! "$cxx" -shared -o "$out/libLibTorchSharp.so" "$out"/obj/*.o $(ls "$out"/obj/extra/*.o 2>/dev/null) -Wl,-Bsymbolic -L "$lib" -Wl,--no-as-needed -ltorch -ltorch_cpu -lc10 $cuda -Wl,--as-needed -Wl,-rpath,"$lib" >"$out/logs/link.log" 2>&1; then
  echo "build-torchsharp-shim: the link failed: logs/link.log"; sed -n '1,20p' "$out/logs/link.log"
  exit 4
fi

{
  echo "shim: $out/libLibTorchSharp.so"
  echo "torchsharp: $native${head:+ at $head}"
  echo "libtorch include: $include"
  echo "libtorch lib: $lib"
  echo "libtorch version: ${version:-unknown}"
  echo "c++ standard: $std ($std_reason)"
  echo "cxx11 abi: $abi"
  for line in ${applied[@]+"${applied[@]}"}; do echo "compat: $line"; done
  echo "cuda: ${cuda:+yes}${cuda:-no}"
  echo "extra units: $(cd "$out/obj/extra" 2>/dev/null && ls *.o 2>/dev/null | tr '\n' ' ')"
  echo "compiler: $("$cxx" --version | head -1)"
  echo "seconds: $(( $(date +%s) - start ))"
} >"$out/shim-build.txt"
rm -rf "$out/obj"
echo "build-torchsharp-shim: built $out/libLibTorchSharp.so in $(( $(date +%s) - start )) s"
