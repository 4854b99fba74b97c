#!/usr/bin/env bash
# Makes a Debian unstable root folder that holds a current PyTorch (2.14 when this was written: python3-torch,
# python3-torchvision, libtorch-dev with its C++20 headers, g++, ninja), from Debian's own packages, so MixFit can
# be built and tested against a libtorch newer than the one NuGet ships (2.10) on a machine without a GPU: the same
# skew a GPU machine's PyTorch wheel brings. Then tools/current-libtorch/enter.sh runs commands in it with this
# machine's .NET SDK and the checkout bound in, and tools/current-libtorch/test.sh runs the whole suite there.
#
#   tools/current-libtorch/setup.sh [--root DIR] [--mirror URL] [--torchsharp DIR]
#     --root        the folder to make (default: $MIXFIT_CURRENT_LIBTORCH_ROOT, else /var/lib/mixfit/current-libtorch)
#     --mirror      the Debian archive to read (default: the first 'debian' archive of this machine's apt sources)
#     --torchsharp  a checkout of TorchSharp v0.107.0 (or its src/Native folder): its native sources are copied into
#                   the root's /opt/torchsharp, where tools/current-libtorch/test.sh builds the shim from (also done
#                   when the root is already made)
#
# Needs: root (debootstrap and chroot), Debian's debootstrap (installed here when missing), the Debian archive
# reachable, about 2.5 GB free where the root goes; it takes about 10 minutes on 2 cores. Idempotent: a root that a
# finished run left (its .mixfit-current-libtorch file) is reused as it is, and a half-made one is completed.
# Exit status: 0 ready; 2 bad arguments or a missing requirement (one line says which); 3 a step failed (its log named).
set -uo pipefail

die() { echo "current-libtorch setup: $*" >&2; exit 2; }
fail() { echo "current-libtorch setup: $1 failed; the last lines of $2:" >&2; tail -n 15 "$2" >&2; exit 3; }

root="${MIXFIT_CURRENT_LIBTORCH_ROOT:-/var/lib/mixfit/current-libtorch}" mirror="" torchsharp=""
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root="${2:-}"; shift 2 ;;
    --mirror) mirror="${2:-}"; shift 2 ;;
    --torchsharp) torchsharp="${2:-}"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (expected --root DIR, --mirror URL or --torchsharp DIR)" ;;
  esac
done
[ -n "$root" ] || die "--root needs a folder"
# What the suite needs besides PyTorch: procps (kill, ps), xz-utils (the GPU kit's archive), ICU for .NET, CA
# certificates for NuGet.
packages="python3-torch python3-torchvision libtorch-dev g++ ninja-build ca-certificates libicu-dev procps xz-utils"
marker="$root/.mixfit-current-libtorch"

native=""
if [ -n "$torchsharp" ]; then
  native="$torchsharp"; [ -d "$native/src/Native" ] && native="$native/src/Native"
  [ -d "$native/LibTorchSharp" ] || die "--torchsharp '$torchsharp' has no LibTorchSharp folder (expected a TorchSharp checkout or its src/Native folder)"
  native="$(cd "$native" && pwd)"
fi
# TorchSharp's native sources, copied into the root for tools/current-libtorch/test.sh (never into the repository).
copy_torchsharp() {
  [ -n "$native" ] || return 0
  rm -rf "$root/opt/torchsharp" && mkdir -p "$root/opt/torchsharp/src" && cp -a "$native" "$root/opt/torchsharp/src/Native" \
    || die "cannot copy '$native' into $root/opt/torchsharp"
  git -C "$native" rev-parse HEAD >"$root/opt/torchsharp/COMMIT" 2>/dev/null || rm -f "$root/opt/torchsharp/COMMIT"
  echo "current-libtorch setup: TorchSharp's native sources copied into $root/opt/torchsharp"
}

# A root made by an earlier version of this script may lack a package added since: then it is only completed.
missing_packages() { chroot "$root" dpkg-query -W -f='${Package} ${Status}\n' $packages 2>/dev/null | grep -c ' installed$' | grep -qx "$(echo $packages | wc -w)" || echo yes; }
if [ -f "$marker" ] && [ -z "$(missing_packages)" ]; then
  copy_torchsharp
  echo "current-libtorch setup: $root is ready ($(grep -m1 '^torch ' "$marker")); nothing more to do"
  exit 0
fi

[ "$(id -u)" = 0 ] || die "needs root (debootstrap and chroot); run it with sudo, or as root"
command -v apt-get >/dev/null || die "needs a Debian-family machine (no apt-get here)"
mkdir -p "$root" || die "cannot create '$root'"
root="$(cd "$root" && pwd)"
[ "$root" != / ] || die "--root must not be /"
free_kb=$(df -Pk "$root" | awk 'NR==2 {print $4}')
[ "${free_kb:-0}" -ge 2500000 ] || [ -x "$root/usr/bin/apt-get" ] || die "needs about 2.5 GB free under '$root' (has $((${free_kb:-0} / 1024)) MB)"

if [ -z "$mirror" ]; then
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}')
  [ -n "$mirror" ] || mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}')
  [ -n "$mirror" ] || die "found no Debian archive in this machine's apt sources; give --mirror URL"
fi
logs="$root.logs"; mkdir -p "$logs"
echo "current-libtorch setup: making Debian unstable in $root from $mirror (logs in $logs)"
start=$(date +%s)

if ! command -v debootstrap >/dev/null; then
  echo "  installing debootstrap"
  { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; }; } >"$logs/debootstrap-install.log" 2>&1 \
    || fail "installing debootstrap" "$logs/debootstrap-install.log"
fi

# debootstrap removes its own debootstrap/ folder when it finishes: one still there is a half-made root, made again.
if [ ! -x "$root/usr/bin/apt-get" ] || [ -d "$root/debootstrap" ]; then
  echo "  debootstrap --variant=minbase sid (a few minutes)"
  debootstrap --variant=minbase sid "$root" "$mirror" >"$logs/debootstrap.log" 2>&1 || fail "debootstrap" "$logs/debootstrap.log"
fi

# The unstable index can be older than its Valid-Until date: apt in the root is told not to check it, once, here.
echo 'Acquire::Check-Valid-Until "false";' >"$root/etc/apt/apt.conf.d/99mixfit-no-valid-until"
echo "deb $mirror sid main" >"$root/etc/apt/sources.list"
cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

# Commands in the root see a /proc of their own (PyTorch's UCX reads the boot id there), mounted in a private mount
# namespace so it goes away with them.
in_root() {
  unshare --mount --propagation private /bin/sh -c 'mount -t proc proc "$0/proc" && exec chroot "$0" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive "$@"' "$root" "$@"
}
echo "  apt-get install $packages (about 1.5 GB)"
{ in_root apt-get update && in_root apt-get install -y --no-install-recommends $packages; } >"$logs/packages.log" 2>&1 \
  || fail "installing the packages" "$logs/packages.log"

version=$(in_root python3 -c 'import torch; print("torch", torch.__version__)' 2>"$logs/torch.log" | sed -n 's/^torch //p') \
  && [ -n "$version" ] || fail "importing torch in the root" "$logs/torch.log"
# The headers' own version (torch/headeronly/version.h from 2.10 on, torch/csrc/api/include/torch/version.h before).
header=""
for file in "$root/usr/include/torch/headeronly/version.h" "$root/usr/include/torch/csrc/api/include/torch/version.h"; do
  header=$(sed -n 's/^#define TORCH_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\).*/\2/p' "$file" 2>/dev/null | paste -sd.)
  [ -n "$header" ] && break
done
[ -f "$root/usr/lib/x86_64-linux-gnu/libtorch_cpu.so" ] || die "the root has no /usr/lib/x86_64-linux-gnu/libtorch_cpu.so after installing libtorch-dev"
{
  echo "torch $version"
  echo "headers ${header:-unknown} (/usr/include, C++20 from 2.12 on)"
  echo "libraries /usr/lib/x86_64-linux-gnu"
  echo "mirror $mirror"
  echo "made $(date -u +%Y-%m-%dT%H:%M:%SZ) in $(( $(date +%s) - start )) s"
} >"$marker"
copy_torchsharp
echo "current-libtorch setup: ready in $(( $(date +%s) - start )) s: PyTorch $version, headers ${header:-unknown}, in $root"
