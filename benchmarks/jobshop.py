"""Our CP-SAT shop scheduler on the public benchmarks, beside the textbook CP-SAT model solved in
the same run, as gaps to the best-known makespans (../shared/benchmarks, CC-BY-SA-4.0, from the
ScheduleOpt/benchmarks repository).

    python -m benchmarks.jobshop [--quick] [--limits 10,60] [--workers 2]
                                 [--families ft,la,mk] [--instances ft10,mk06] [--no-reference]

A gap is (makespan - best known) / best known. For each time limit it prints every instance and
the mean gap per family (ft: Fisher & Thompson, la: Lawrence, mk: Brandimarte), ours and the
reference. A full run (58 instances, 10 s and 60 s, both models) takes over two hours; `--quick`
solves ft06, la01 and mk01 for 3 s each. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from solvers.scheduling.instances import load
from solvers.scheduling.jobshop import solve

BENCHMARKS = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"
FAMILIES = {"ft": ("jobshop", False), "la": ("jobshop", False), "mk": ("fjsp", True)}


def instances(families: list[str], only: set[str] | None) -> list[tuple[str, Path, bool, int]]:
    chosen = []
    for family in families:
        folder, flexible = FAMILIES[family]
        known = {
            row["instance"]: int(row["upper_bound"])
            for row in json.loads((BENCHMARKS / folder / "best_known.json").read_text())
        }
        for path in sorted((BENCHMARKS / folder).glob(f"{family}*.txt")):
            if only is None or path.stem in only:
                chosen.append((family, path, flexible, known[path.stem]))
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="three small instances, 3 s each")
    parser.add_argument("--limits", default="10,60", help="time limits in seconds")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--families", default="ft,la,mk")
    parser.add_argument("--instances", help="only these, e.g. ft10,mk06")
    parser.add_argument("--no-reference", action="store_true", help="skip the textbook model")
    args = parser.parse_args()
    only = set(args.instances.split(",")) if args.instances else None
    limits = [float(x) for x in args.limits.split(",")]
    if args.quick:
        only, limits = {"ft06", "la01", "mk01"}, [3.0]
    chosen = instances(args.families.split(","), only)
    models = [("ours", True)] + ([] if args.no_reference else [("reference", False)])
    results: dict[str, Any] = {}
    for limit in limits:
        rows = []
        for family, path, flexible, best in chosen:
            instance = load(path, flexible=flexible)
            row: dict[str, Any] = {"instance": path.stem, "family": family, "best_known": best}
            for label, enhanced in models:
                result = solve(
                    instance, time_limit_s=limit, workers=args.workers, enhanced=enhanced
                )
                gap = None if result.makespan is None else (result.makespan - best) / best
                row[label] = {"makespan": result.makespan, "status": result.status, "gap": gap}
            rows.append(row)
            print(
                f"{limit:>4g}s {path.stem:6s} best {best:>5}"
                + "".join(
                    f" | {label} {row[label]['makespan']} ({row[label]['status']}, "
                    f"gap {100 * (row[label]['gap'] or 0):.1f}%)"
                    for label, _ in models
                ),
                flush=True,
            )
        means: dict[str, dict[str, float]] = {}
        for family in dict.fromkeys(r["family"] for r in rows):
            means[family] = {
                label: round(
                    statistics.fmean(
                        r[label]["gap"] if r[label]["gap"] is not None else 1.0
                        for r in rows
                        if r["family"] == family
                    ),
                    4,
                )
                for label, _ in models
            }
            print(
                f"{limit:>4g}s mean gap {family}: "
                + ", ".join(f"{label} {100 * v:.2f}%" for label, v in means[family].items())
            )
        results[f"{limit:g}s"] = {"mean_gap": means, "instances": rows}
    print(
        json.dumps(
            {
                "benchmark": "jobshop",
                "quick": args.quick,
                "workers": args.workers,
                "reference": "textbook CP-SAT model (no greedy horizon, hints or bounds)",
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
