#!/usr/bin/env bash
# The whole test suite, as a newcomer and CI run it: restore and build everything (library, CLI, benchmarks,
# tests), run the fast tests, then the slow real-data convergence tests in a separate step.
set -euo pipefail
cd "$(dirname "$0")"

results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT

# The distributed tests run under Open MPI's mpirun (Debian's openmpi-bin) and MPICH's mpiexec.mpich (Debian's mpich,
# for the MPICH ABI): installed here when missing and possible (root with apt-get); elsewhere those tests are reported
# as skipped with the reason. Open MPI keeps the mpirun name (Debian gives it the higher alternatives priority).
packages=""
command -v mpirun.openmpi >/dev/null 2>&1 || packages="openmpi-bin libopenmpi-dev"
command -v mpiexec.mpich >/dev/null 2>&1 || packages="$packages mpich"
if [ -n "$packages" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages >/dev/null 2>&1; }; } \
    || echo "test.sh: could not install $packages; the MPI tests that need them will be skipped"
fi

# Arguments are build properties (tools/current-libtorch/test.sh passes the external-libtorch ones).
dotnet build MixFit.sln -c Release -nologo -v q "$@"
dotnet test MixFit.sln -c Release --no-build -nologo --filter "Category!=Slow" \
  --logger trx --results-directory "$results/fast"
dotnet test MixFit.sln -c Release --no-build -nologo --filter "Category=Slow" \
  --logger trx --logger "console;verbosity=detailed" --results-directory "$results/slow"

# One count over both steps.
passed=0; failed=0; skipped=0
for trx in "$results"/*/*.trx; do
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  p=$(sed -E 's/.* passed="([0-9]+)".*/\1/' <<<"$counters")
  f=$(sed -E 's/.* failed="([0-9]+)".*/\1/' <<<"$counters")
  t=$(sed -E 's/.* total="([0-9]+)".*/\1/' <<<"$counters")
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + t - p - f))
done

# The same suite again on a current libtorch (PyTorch 2.14 from Debian unstable), built with the external backend
# against it, where this machine has the root of tools/current-libtorch/setup.sh (with TorchSharp's sources in it).
# Not run inside that run itself (MIXFIT_EXPECT_LIBTORCH is set there). Cost on 2 cores: about 10 minutes, plus 4 for
# the shim when its script or compatibility files changed. MIXFIT_CURRENT_LIBTORCH=skip leaves it out.
if [ -z "${MIXFIT_EXPECT_LIBTORCH:-}" ]; then
  current_root="${MIXFIT_CURRENT_LIBTORCH_ROOT:-/var/lib/mixfit/current-libtorch}"
  if [ "${MIXFIT_CURRENT_LIBTORCH:-}" = skip ]; then
    echo "current libtorch: skipped (MIXFIT_CURRENT_LIBTORCH=skip)"
  elif [ ! -f "$current_root/.mixfit-current-libtorch" ] || [ ! -d "$current_root/opt/torchsharp/src/Native" ] || [ "$(id -u)" != 0 ]; then
    echo "current libtorch: skipped (this machine has no root with a current PyTorch and TorchSharp's sources at $current_root, or this is not root;" \
         "make it with: sudo tools/current-libtorch/setup.sh --torchsharp <TorchSharp v0.107.0 checkout>, about 10 minutes and 2.5 GB)"
  else
    echo "current libtorch: the whole suite again on $(grep -m1 '^torch ' "$current_root/.mixfit-current-libtorch") in $current_root"
    status=0
    tools/current-libtorch/test.sh --root "$current_root" 2>&1 | tee "$results/current.log" || status=$?
    line=$(grep -E '^tests: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$results/current.log" | tail -1 || true)
    if [ -n "$line" ]; then
      read -r p f s <<<"$(sed -E 's/tests: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped/\1 \2 \3/' <<<"$line")"
      echo "current libtorch: $p passed, $f failed, $s skipped (the packaged libtorch: $passed passed, $failed failed, $skipped skipped)"
      passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
    fi
    # A run that stopped before counting (the shim or the build failed) counts as one failure.
    if [ "$status" -ne 0 ] && { [ -z "$line" ] || [ "${f:-0}" -eq 0 ]; }; then
      echo "current libtorch: the run failed (exit $status) before its tests counted a failure"
      failed=$((failed + 1))
    fi
  fi
fi

echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
