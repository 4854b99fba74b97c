#!/usr/bin/env bash
# Runs MixFit's whole test suite (./test.sh: the fast step, then the slow one) on the current libtorch of the root that
# tools/current-libtorch/setup.sh made: a copy of this checkout is built there with -p:MixFitTorchBackend=external
# against the root's libtorch (/usr/lib/x86_64-linux-gnu) and a TorchSharp shim built against it by
# tools/build-torchsharp-shim.sh (rebuilt only when the script, its compatibility files or the sources change).
#
#   tools/current-libtorch/test.sh [--root DIR] [--torchsharp DIR] [--shim FILE] [--only-shim]
#     --root        the root (default: $MIXFIT_CURRENT_LIBTORCH_ROOT, else /var/lib/mixfit/current-libtorch)
#     --torchsharp  TorchSharp v0.107.0's sources (a checkout, or its src/Native folder); default: the copy that
#                   setup.sh --torchsharp put in the root, else $MIXFIT_TORCHSHARP_SRC
#     --shim FILE   use this libLibTorchSharp.so (built against the root's libtorch) instead of building one
#     --only-shim   build (or check) the shim and stop
# What it writes: the root's /srv/mixfit (the copy of the checkout, made anew each run) and /srv/mixfit-shim (the shim,
# its logs and shim-build.txt). Cost on 2 cores: the shim about 4 minutes (once), the build about 1 minute, the suite
# as long as ./test.sh takes.
# Exit status: ./test.sh's; 2 bad arguments or no root; 3 the shim did not build.
set -uo pipefail

die() { echo "current-libtorch test: $*" >&2; exit 2; }
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
root="${MIXFIT_CURRENT_LIBTORCH_ROOT:-/var/lib/mixfit/current-libtorch}" torchsharp="" shim="" only_shim=0
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root="${2:-}"; shift 2 ;;
    --torchsharp) torchsharp="${2:-}"; shift 2 ;;
    --shim) shim="${2:-}"; shift 2 ;;
    --only-shim) only_shim=1; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (expected --root, --torchsharp, --shim, --only-shim)" ;;
  esac
done
[ -f "$root/.mixfit-current-libtorch" ] || die "no finished root at '$root': make it with tools/current-libtorch/setup.sh --root $root"
root="$(cd "$root" && pwd)"
enter=("$here/enter.sh" --root "$root")

if [ -z "$shim" ]; then
  if [ -z "$torchsharp" ]; then
    if [ -d "$root/opt/torchsharp/src/Native/LibTorchSharp" ]; then torchsharp="$root/opt/torchsharp"
    elif [ -n "${MIXFIT_TORCHSHARP_SRC:-}" ]; then torchsharp="$MIXFIT_TORCHSHARP_SRC"
    else die "no TorchSharp sources to build the shim from: give --torchsharp <TorchSharp v0.107.0 checkout>, or put them in the root once with tools/current-libtorch/setup.sh --torchsharp <checkout>"; fi
  fi
  [ -d "$torchsharp" ] || die "--torchsharp '$torchsharp' is not a folder"
  torchsharp="$(cd "$torchsharp" && pwd)"
  native="$torchsharp"; [ -d "$native/src/Native" ] && native="$native/src/Native"
  [ -d "$native/LibTorchSharp" ] || die "no LibTorchSharp folder under '$torchsharp'"
  # The shim is rebuilt when what builds it changes: the script, the compatibility files, or the sources.
  stamp=$({ cat "$repo/tools/build-torchsharp-shim.sh" "$repo"/tools/torchsharp-compat/* "$native"/LibTorchSharp/*; grep -E '^(torch|headers) ' "$root/.mixfit-current-libtorch"; } 2>/dev/null | sha256sum | cut -c1-16)
  out="$root/srv/mixfit-shim"
  if [ -f "$out/libLibTorchSharp.so" ] && [ "$(cat "$out/stamp" 2>/dev/null)" = "$stamp" ]; then
    echo "current-libtorch test: the shim in $out is up to date ($(grep -m1 '^libtorch version' "$out/shim-build.txt"))"
  else
    echo "current-libtorch test: building the TorchSharp shim against the root's libtorch (about 4 minutes on 2 cores)"
    mkdir -p "$out"
    rm -f "$out/stamp"
    # The sources and the script are bound in read-only where they are; the shim is written inside the root.
    "${enter[@]}" --bind "$repo" --bind "$native" --cwd / -- bash "$repo/tools/build-torchsharp-shim.sh" --torchsharp "$native" \
      --include /usr/include --lib /usr/lib/x86_64-linux-gnu --out /srv/mixfit-shim || { echo "current-libtorch test: the shim did not build (logs in $out/logs)" >&2; exit 3; }
    echo "$stamp" >"$out/stamp"
  fi
  shim=/srv/mixfit-shim/libLibTorchSharp.so
else
  [ -f "$shim" ] || die "--shim '$shim' is not a file"
  mkdir -p "$root/srv/mixfit-shim-given" && cp "$shim" "$root/srv/mixfit-shim-given/libLibTorchSharp.so" || die "cannot copy '$shim' into the root"
  shim=/srv/mixfit-shim-given/libLibTorchSharp.so
fi
[ $only_shim = 1 ] && exit 0

# A fresh copy of the checkout (tracked files and untracked ones git does not ignore: what CI would see, plus work
# in progress), so the root's build never touches this checkout's bin/ and obj/.
work="$root/srv/mixfit"
rm -rf "$work" && mkdir -p "$work" || die "cannot make $work"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done | tar --null -cf - -T -) | tar -xf - -C "$work" \
  || die "copying the checkout into $work failed"
echo "current-libtorch test: the suite on $(grep -m1 '^torch ' "$root/.mixfit-current-libtorch"), shim $shim, in $work"
# The headers' version is what the tests expect the loaded library to report (tests/MixFit.Tests/Support/ExpectedLibTorch.cs).
expect=$(sed -n 's/^headers \([0-9][0-9.]*\).*/\1/p' "$root/.mixfit-current-libtorch")
status=0
"${enter[@]}" --cwd /srv/mixfit -- env MIXFIT_EXPECT_LIBTORCH="$expect" ./test.sh -p:MixFitTorchBackend=external \
  -p:MixFitLibTorchDir=/usr/lib/x86_64-linux-gnu -p:MixFitLibTorchSharp="$shim" || status=$?
# The compiler server the build started in the root would outlive the run by minutes: stop it.
"${enter[@]}" --cwd /srv/mixfit -- dotnet build-server shutdown >/dev/null 2>&1 || true
exit $status
