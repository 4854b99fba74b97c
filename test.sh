#!/usr/bin/env bash
# The whole test suite, as a newcomer and CI run it: restore and build everything (library, CLI, benchmarks,
# tests), run the fast tests, then the slow real-data convergence tests in a separate step.
set -euo pipefail
cd "$(dirname "$0")"

results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT

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
