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

dotnet build MixFit.sln -c Release -nologo -v q
dotnet test MixFit.sln -c Release --no-build -nologo --filter "Category!=Slow" \
  --logger trx --results-directory "$results/fast"
dotnet test MixFit.sln -c Release --no-build -nologo --filter "Category=Slow" \
  --logger trx --logger "console;verbosity=detailed" --results-directory "$results/slow"

# One closing line over both steps.
passed=0; failed=0; skipped=0
for trx in "$results"/*/*.trx; do
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  p=$(sed -E 's/.* passed="([0-9]+)".*/\1/' <<<"$counters")
  f=$(sed -E 's/.* failed="([0-9]+)".*/\1/' <<<"$counters")
  t=$(sed -E 's/.* total="([0-9]+)".*/\1/' <<<"$counters")
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + t - p - f))
done
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
