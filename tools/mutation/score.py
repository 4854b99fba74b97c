#!/usr/bin/env python3
"""The mutation score of each folder tools/mutation/run.sh reported on, and its surviving mutants.

Reads DIR/FOLDER/reports/mutation-report.json (Stryker's mutation-testing-elements report). Score as Stryker counts it:
detected (killed or timed out) over detected + undetected (survived or not covered); compile errors and ignored
mutants are left out. --survivors lists each survivor as file:line, the mutator and the code it put in.
"""
import argparse
import collections
import glob
import json
import os
import sys

TARGET = {"Precision": 85, "Kernels": 85, "Optimizers": 85, "Checkpoints": 85}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir")
    parser.add_argument("--survivors", action="store_true", help="list every surviving or uncovered mutant")
    args = parser.parse_args()
    reports = sorted(glob.glob(os.path.join(args.dir, "*", "reports", "mutation-report.json")))
    if not reports:
        sys.exit(f"{args.dir}: no */reports/mutation-report.json (run tools/mutation/run.sh first)")
    print("| folder | mutants | killed | timeout | survived | no coverage | compile error | score | target |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    survivors = []
    for report in reports:
        folder = report.split(os.sep)[-3]
        with open(report) as f:
            data = json.load(f)
        counts = collections.Counter()
        for path, entry in data["files"].items():
            source = entry.get("source", "").splitlines()
            for mutant in entry["mutants"]:
                counts[mutant["status"]] += 1
                if mutant["status"] in ("Survived", "NoCoverage"):
                    line = mutant["location"]["start"]["line"]
                    code = source[line - 1].strip() if 0 < line <= len(source) else ""
                    survivors.append((folder, os.path.relpath(path), line, mutant["status"], mutant["mutatorName"], mutant.get("replacement", ""), code))
        detected = counts["Killed"] + counts["Timeout"]
        undetected = counts["Survived"] + counts["NoCoverage"]
        score = 100 * detected / (detected + undetected) if detected + undetected else float("nan")
        target = TARGET.get(folder, 75)
        print(f"| {folder} | {sum(counts.values())} | {counts['Killed']} | {counts['Timeout']} | {counts['Survived']} | {counts['NoCoverage']} | "
              f"{counts['CompileError']} | {score:.1f}% | {'>=' if score >= target else 'BELOW '}{target}% |")
    if args.survivors:
        print()
        for folder, path, line, status, mutator, replacement, code in survivors:
            print(f"{folder}\t{path}:{line}\t{status}\t{mutator}\t{replacement}\t{code}")


if __name__ == "__main__":
    main()
