#!/usr/bin/env bash
# Runs a command inside the root that tools/current-libtorch/setup.sh made (Debian unstable with a current PyTorch),
# with this machine's .NET SDK, NuGet package folder and configuration, trust store (/etc/ssl/certs), node (when there
# is one) and a folder of yours bound in at the same paths, in a mount namespace of its own: every mount goes away when the command ends, nothing is left mounted.
#
#   tools/current-libtorch/enter.sh [--root DIR] [--bind DIR]... [--cwd DIR] [--] COMMAND [ARG...]
#     --root  the root (default: $MIXFIT_CURRENT_LIBTORCH_ROOT, else /var/lib/mixfit/current-libtorch)
#     --bind  a folder seen inside at the same path, writable (repeatable; default: the current directory)
#     --cwd   the folder, as the root sees it, the command runs in (default: the current directory)
#   The command runs as root, with HOME=/root, the .NET SDK on PATH and CI, TERM and
#   MIXFIT_* passed through. Example: tools/current-libtorch/enter.sh -- python3 -c 'import torch; print(torch.__version__)'
# Exit status: the command's; 2 when the root or a requirement is missing (one line says which).
set -uo pipefail

die() { echo "current-libtorch enter: $*" >&2; exit 2; }
root="${MIXFIT_CURRENT_LIBTORCH_ROOT:-/var/lib/mixfit/current-libtorch}" binds=() cwd="$(pwd)"
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root="${2:-}"; shift 2 ;;
    --bind) [ -d "${2:-}" ] || die "--bind '${2:-}' is not a folder"; binds+=("$(cd "$2" && pwd)"); shift 2 ;;
    --cwd) cwd="${2:-}"; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option '$1' (expected --root DIR, --bind DIR, --cwd DIR, then the command)" ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || die "no command given (example: $0 -- python3 -c 'import torch; print(torch.__version__)')"
[ -f "$root/.mixfit-current-libtorch" ] || die "no finished root at '$root': make it with tools/current-libtorch/setup.sh${root:+ --root $root}"
[ "$(id -u)" = 0 ] || die "needs root (mount namespaces and chroot)"
command -v unshare >/dev/null || die "needs unshare (util-linux)"
root="$(cd "$root" && pwd)"
[ ${#binds[@]} -gt 0 ] || binds=("$(pwd)")

dotnet_dir=""
if command -v dotnet >/dev/null; then dotnet_dir="$(dirname "$(readlink -f "$(command -v dotnet)")")"; fi
[ -n "$dotnet_dir" ] || echo "current-libtorch enter: warning: no dotnet on this machine's PATH; the root gets no .NET SDK" >&2
nuget="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
node="$(command -v node 2>/dev/null || true)"

# Inside the new mount namespace (private propagation: nothing leaks back to this machine's mounts).
inner='
set -e
r="$1"; shift
bind() { mkdir -p "$r$2"; mount --bind "$1" "$r$2"; }
mount -t proc proc "$r/proc"
mount --rbind /dev "$r/dev"
mount --rbind /sys "$r/sys"
mkdir -p "$r/tmp"; chmod 1777 "$r/tmp"
[ -n "$DOTNET_DIR" ] && { bind "$DOTNET_DIR" "$DOTNET_DIR"; mount -o remount,bind,ro "$r$DOTNET_DIR"; }
[ -n "$NUGET_DIR" ] && { mkdir -p "$NUGET_DIR"; bind "$NUGET_DIR" /root/.nuget/packages; }
# This machine'"'"'s trust store and NuGet configuration, so HTTPS (a NuGet restore) works inside as it does outside.
[ -d /etc/ssl/certs ] && { bind /etc/ssl/certs /etc/ssl/certs; mount -o remount,bind,ro "$r/etc/ssl/certs"; }
[ -d "$NUGET_CONFIG_DIR" ] && { bind "$NUGET_CONFIG_DIR" /root/.nuget/NuGet; mount -o remount,bind,ro "$r/root/.nuget/NuGet"; }
[ -d /opt/nuget/packages ] && { bind /opt/nuget/packages /opt/nuget/packages; mount -o remount,bind,ro "$r/opt/nuget/packages"; }
[ -n "$NODE_BIN" ] && { mkdir -p "$r/usr/local/bin"; touch "$r/usr/local/bin/node"; mount --bind "$NODE_BIN" "$r/usr/local/bin/node"; }
for dir in $BIND_DIRS; do bind "$dir" "$dir"; done
cp -L /etc/resolv.conf "$r/etc/resolv.conf" 2>/dev/null || true
exec chroot "$r" /usr/bin/env -i PATH="${DOTNET_DIR:+$DOTNET_DIR:}/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" HOME=/root \
  DOTNET_ROOT="$DOTNET_DIR" MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 \
  NUGET_PACKAGES=/root/.nuget/packages LANG=C.UTF-8 TERM="${TERM:-dumb}" ${CI:+CI=$CI} $PASS_ENV \
  /bin/sh -c "cd \"\$0\" 2>/dev/null || { echo \"current-libtorch enter: no folder \$0 inside the root (give it with --bind)\" >&2; exit 2; }; exec \"\$@\"" "$CWD" "$@"
'
pass_env=""
for name in $(compgen -e | grep -E '^MIXFIT_|^MixFit|^NUGET_CERT_REVOCATION_MODE$|^SSL_CERT_(FILE|DIR)$|^(https?|no)_proxy$|^(HTTPS?|NO)_PROXY$' || true); do pass_env="$pass_env $name=${!name}"; done
DOTNET_DIR="$dotnet_dir" NUGET_DIR="$nuget" NODE_BIN="$node" BIND_DIRS="${binds[*]}" PASS_ENV="$pass_env" CWD="$cwd" NUGET_CONFIG_DIR="$HOME/.nuget/NuGet" \
  exec unshare --mount --propagation private bash -c "$inner" _ "$root" "$@"
