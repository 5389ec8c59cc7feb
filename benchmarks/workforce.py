"""Shared workers (issue #23): 5,000 seeded workers lent by 70 employers matched to 500 needs
of 90 factories over an eight-week peak season in the Dongguan textile and moulding belt
(solvers.labour.instances): time, worker-days covered / demanded, plain and priority-weighted,
beside the greedy reference (needs by priority, nearest free workers first), and rule
violations found by the independent check; then the same with one need in ten keeping teams
together (CP-SAT day by day, a time limit per run).

    python -m benchmarks.workforce [--quick] [--seeds 1,2,3] [--time-limit 10]

Goal from the issue: 5,000 workers x 500 needs within 10 s on 2 cores. `--quick` runs one seed
without teams. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from solvers.labour import greedy, match, shortfalls, violations
from solvers.labour.instances import seeded


def run(seed: int, keep_teams: bool, time_limit: float) -> dict[str, Any]:
    problem = seeded(seed, keep_teams=keep_teams)
    started = time.perf_counter()
    result = match(problem, time_limit_s=time_limit)
    elapsed = time.perf_counter() - started
    reference = greedy(problem)
    explained = time.perf_counter()
    short = shortfalls(problem, result)
    explain_s = time.perf_counter() - explained
    codes: dict[str, int] = {}
    for s in short:
        codes[s.code] = codes.get(s.code, 0) + 1
    return {
        "seed": seed,
        "teams": keep_teams,
        "workers": len(problem.workers),
        "needs": len(problem.needs),
        "method": result.method,
        "optimal": result.optimal,
        "match_s": round(elapsed, 2),
        "demanded": result.demanded,
        "covered": result.covered,
        "coverage": round(result.coverage, 4),
        "weighted_coverage": round(result.weighted_coverage, 4),
        "greedy_s": round(reference.elapsed_s, 2),
        "greedy_covered": reference.covered,
        "greedy_coverage": round(reference.coverage, 4),
        "greedy_weighted_coverage": round(reference.weighted_coverage, 4),
        "travel_km_per_day": round(result.travel_km / max(result.covered, 1), 1),
        "greedy_travel_km_per_day": round(reference.travel_km / max(reference.covered, 1), 1),
        "violations": len(violations(problem, result.assignments)),
        "greedy_violations": len(violations(problem, reference.assignments)),
        "shortfalls": len(short),
        "shortfall_reasons": codes,
        "explain_s": round(explain_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--time-limit", type=float, default=10.0)
    args = parser.parse_args()
    seeds = [1] if args.quick else [int(s) for s in args.seeds.split(",")]
    rows = []
    for seed in seeds:
        for keep_teams in (False,) if args.quick else (False, True):
            row = run(seed, keep_teams, args.time_limit)
            rows.append(row)
            print(
                f"seed {seed} {'teams' if keep_teams else 'flow ':5s} {row['method']:13s}"
                f" {row['match_s']:5.2f} s | covered {row['covered']:,}/{row['demanded']:,}"
                f" = {row['coverage']:.4f}, weighted {row['weighted_coverage']:.4f}"
                f" | greedy {row['greedy_covered']:,} = {row['greedy_coverage']:.4f},"
                f" weighted {row['greedy_weighted_coverage']:.4f} ({row['greedy_s']:.2f} s)"
                f" | km/day {row['travel_km_per_day']} vs {row['greedy_travel_km_per_day']}"
                f" | violations {row['violations']} (greedy {row['greedy_violations']})"
                f" | shortfalls {row['shortfalls']} {row['shortfall_reasons']}",
                flush=True,
            )
    print(
        json.dumps(
            {
                "benchmark": "workforce",
                "quick": args.quick,
                "max_match_s": max(r["match_s"] for r in rows),
                "min_weighted_coverage": min(r["weighted_coverage"] for r in rows),
                "reference": "greedy: needs by priority, nearest free eligible workers first",
                "runs": rows,
            }
        )
    )


if __name__ == "__main__":
    main()
