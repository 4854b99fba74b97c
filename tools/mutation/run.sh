#!/usr/bin/env bash
# Mutation testing (Stryker.NET, the repository's local dotnet tool) over the code where a silent bug costs users most,
# against the fast tests. One folder per Stryker run, so a run stays within about an hour on 2 cores and a folder's
# score is its own; --since mutates only what changed since a commit (Stryker's diff mode).
#
#   tools/mutation/run.sh [--since REF] [--out DIR] FOLDER...
#     FOLDER   Precision, Kernels, Optimizers, Checkpoints, Distributed, OnnxExporter (src/MixFit, MixFit.Tests'
#              fast tests) or Store (src/MixFit.Tracking, MixFit.Tracking.Tests); "all" for every one
#     --since  only the mutants in files changed since REF (e.g. main or HEAD~3)
#     --out    where the reports go (default artifacts/mutation); FOLDER/reports/mutation-report.{json,html,md}
# Then tools/mutation/score.py DIR prints the score of each folder. Exit status: 0, or the first failing run's.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$(pwd)" since="" out="artifacts/mutation" folders=()
while [ $# -gt 0 ]; do
  case "$1" in
    --since) since="${2:?--since needs a commit}"; shift 2 ;;
    --out) out="${2:?--out needs a folder}"; shift 2 ;;
    all) folders+=(Precision Kernels Optimizers Checkpoints Distributed OnnxExporter Store); shift ;;
    Precision|Kernels|Optimizers|Checkpoints|Distributed|OnnxExporter|Store) folders+=("$1"); shift ;;
    *) echo "tools/mutation/run.sh: unknown argument '$1' (expected Precision, Kernels, Optimizers, Checkpoints, Distributed, OnnxExporter, Store or all; --since REF; --out DIR)" >&2; exit 2 ;;
  esac
done
[ ${#folders[@]} -gt 0 ] || { echo "tools/mutation/run.sh: name at least one folder (or all)" >&2; exit 2; }
mkdir -p "$out"; out="$(cd "$out" && pwd)"
dotnet tool restore >/dev/null
for folder in "${folders[@]}"; do
  case "$folder" in
    Store) tests=tests/MixFit.Tracking.Tests project=MixFit.Tracking.csproj glob="**/Store/**/*.cs" filter="" ;;
    *)
      # Scoped to the tests that mirror the folder and its neighbours (the whole fast suite took 18 minutes a pass
      # under Stryker on 2 cores, and Stryker makes two passes before the first mutant): a mutant only these do not
      # kill survives.
      tests=tests/MixFit.Tests project=MixFit.csproj glob="**/$folder/**/*.cs"
      case "$folder" in
        Precision) near="Precision Kernels Optimizers Training" ;;
        Kernels) near="Kernels Precision Optimizers" ;;
        Optimizers) near="Optimizers Precision Kernels Checkpoints" ;;
        Checkpoints) near="Checkpoints Training Optimizers" ;;
        Distributed) near="Distributed Data" ;;
        OnnxExporter) near="Onnx"; glob="**/Onnx/OnnxExporter.cs" ;;
      esac
      filter="($(for n in $near; do printf 'FullyQualifiedName~MixFit.Tests.%s.|' "$n"; done | sed 's/|$//'))&Category!=Slow&Category!=Cuda" ;;
  esac
  # Stryker takes coverage analysis from a config file only: one is written per run beside its reports.
  mkdir -p "$out/$folder"
  cat >"$out/$folder/stryker-config.json" <<JSON
{ "stryker-config": { "project": "$project", "configuration": "Release", "coverage-analysis": "perTest",
  "mutation-level": "Standard", "concurrency": 1, "mutate": [ "$glob" ], "test-case-filter": "$filter",
  "reporters": [ "progress", "json", "html", "markdown" ], "thresholds": { "high": 85, "low": 75, "break": 0 } } }
JSON
  args=(--config-file "$out/$folder/stryker-config.json" --output "$out/$folder" --skip-version-check)
  [ -z "$since" ] || args+=("--since:$since")
  echo "tools/mutation/run.sh: $folder ($glob) against $tests, reports in $out/$folder"
  start=$(date +%s)
  (cd "$tests" && dotnet stryker "${args[@]}")
  echo "tools/mutation/run.sh: $folder took $(( $(date +%s) - start )) s"
done
python3 "$repo/tools/mutation/score.py" "$out"
