"""Our CP-SAT shop scheduler on the public benchmarks, beside the textbook CP-SAT model solved in
the same run, as gaps to the best-known makespans (../shared/benchmarks, CC-BY-SA-4.0, from the
ScheduleOpt/benchmarks repository).

    python -m benchmarks.jobshop [--quick] [--limits 10,60] [--workers 2]
                                 [--families ft,la,mk,dmu] [--instances ft10,mk06]
                                 [--per-size 2] [--no-reference]

A gap is (makespan - best known) / best known. For each time limit it prints every instance, the
mean gap per family (ft: Fisher & Thompson, la: Lawrence, mk: Brandimarte, dmu: Demirkol, Mehta
and Uzsoy's 20x15 to 50x20 shops, gen: seeded 20x15 and 30x10 flexible shops with half to all
machines eligible per operation, whose gap is to their lower bound, no best-known being
published) and per size (jobs x machines), ours and the reference, the load average of the
machine and the CPU time each solve got (the figures depend on both: on a loaded machine 10 s
on 2 workers may be far less than 20 CPU-seconds). `--per-size K` keeps K instances of each
family and size (for dmu, alternately from the easier first and the harder second forty). A full
run (144 instances, 10 s and 60 s, both models) takes about six hours; `--quick` solves ft06,
la01, mk01 and dmu01 for 3 s each. The tabu search is compiled (or loaded from numba's cache)
once before the first timed solve; the seconds that took are printed and in the JSON line.
Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from solvers.scheduling import tabu
from solvers.scheduling.instances import Instance, Operation, load
from solvers.scheduling.jobshop import solve

BENCHMARKS = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"
FAMILIES = {
    "ft": ("jobshop", False),
    "la": ("jobshop", False),
    "mk": ("fjsp", True),
    "dmu": ("jobshop-large", False),
}


def _order(family: str, stem: str) -> tuple[int, str]:
    """dmu01-40 and dmu41-80 repeat the same sizes (the second forty harder): alternate them."""
    if family == "dmu":
        number = int(stem[3:])
        return ((number - 1) % 40, stem)
    return (0, stem)


def _size(path: Path) -> str:
    head = path.read_text().split()
    return f"{head[0]}x{head[1]}"


GENERATED = [(20, 15, seed) for seed in (1, 2, 3)] + [(30, 10, seed) for seed in (1, 2, 3)]
"""The `gen` family: seeded flexible shops with many eligible machines per operation."""


def generated(jobs: int, machines: int, seed: int) -> Instance:
    """A seeded flexible job shop with many alternatives: each job has one operation per
    machine count, each operation may run on half to all of the machines, its times there
    between its base time (10-99) and one and a half times it."""
    rng = random.Random(f"{jobs}x{machines}-{seed}")
    shop = []
    for _ in range(jobs):
        operations = []
        for _ in range(machines):
            base = rng.randint(10, 99)
            eligible = rng.sample(range(machines), rng.randint(machines // 2, machines))
            operations.append(
                Operation(tuple((m, round(base * rng.uniform(1.0, 1.5))) for m in eligible))
            )
        shop.append(tuple(operations))
    return Instance(f"gen{jobs}x{machines}s{seed}", machines, tuple(shop))


@dataclass(frozen=True)
class Case:
    family: str
    name: str
    size: str
    best: int
    """The best-known makespan; for `gen`, the instance's lower bound (no best-known)."""
    read: Callable[[], Instance]


def instances(
    families: list[str], only: set[str] | None, per_size: int | None = None
) -> list[Case]:
    chosen = []
    for family in families:
        taken: dict[str, int] = {}
        if family == "gen":
            for jobs, machines, seed in GENERATED:
                instance = generated(jobs, machines, seed)
                size = f"{jobs}x{machines}"
                if only is not None and instance.name not in only:
                    continue
                if per_size is not None and taken.get(size, 0) >= per_size:
                    continue
                taken[size] = taken.get(size, 0) + 1
                bound = instance.trivial_lower_bound()
                chosen.append(
                    Case(
                        family, instance.name, size, bound, partial(generated, jobs, machines, seed)
                    )
                )
            continue
        folder, flexible = FAMILIES[family]
        known = {
            row["instance"]: int(row["upper_bound"])
            for row in json.loads((BENCHMARKS / folder / "best_known.json").read_text())
        }
        paths = sorted(
            (BENCHMARKS / folder).glob(f"{family}*.txt"), key=lambda p: _order(family, p.stem)
        )
        for path in paths:
            if only is not None and path.stem not in only:
                continue
            size = _size(path)
            if per_size is not None and taken.get(size, 0) >= per_size:
                continue
            taken[size] = taken.get(size, 0) + 1
            chosen.append(
                Case(
                    family,
                    path.stem,
                    size,
                    known[path.stem],
                    partial(load, path, flexible=flexible),
                )
            )
    return sorted(chosen, key=lambda c: (families.index(c.family), c.name))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="four instances, 3 s each")
    parser.add_argument("--limits", default="10,60", help="time limits in seconds")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--families", default="ft,la,mk,dmu,gen")
    parser.add_argument("--per-size", type=int, help="at most this many per family and size")
    parser.add_argument("--instances", help="only these, e.g. ft10,mk06")
    parser.add_argument("--no-reference", action="store_true", help="skip the textbook model")
    args = parser.parse_args()
    only = set(args.instances.split(",")) if args.instances else None
    limits = [float(x) for x in args.limits.split(",")]
    if args.quick:
        only, limits = {"ft06", "la01", "mk01", "dmu01"}, [3.0]
    chosen = instances(args.families.split(","), only, args.per_size)
    models = [("ours", True)] + ([] if args.no_reference else [("reference", False)])
    results: dict[str, Any] = {}
    # The tabu search is compiled by numba on its first use in a process (loaded from numba's
    # cache after the first run): that cost is paid here, once, outside every timed solve.
    compile_s = tabu.warm_up()
    print(f"tabu search compiled (or loaded from numba's cache) in {compile_s:.1f} s, untimed")
    for limit in limits:
        rows = []
        for case in chosen:
            instance, best = case.read(), case.best
            row: dict[str, Any] = {
                "instance": case.name,
                "family": case.family,
                "size": case.size,
                "best_known" if case.family != "gen" else "lower_bound": best,
            }
            for label, enhanced in models:
                cpu = time.process_time()
                result = solve(
                    instance, time_limit_s=limit, workers=args.workers, enhanced=enhanced
                )
                cpu = time.process_time() - cpu
                gap = None if result.makespan is None else (result.makespan - best) / best
                row[label] = {
                    "makespan": result.makespan,
                    "status": result.status,
                    "gap": gap,
                    "seconds": round(result.solve_time_s, 2),
                    "cpu_seconds": round(cpu, 2),
                }
            rows.append(row)
            print(
                f"{limit:>4g}s {case.name:6s} {case.size:>5s} "
                f"{'best' if case.family != 'gen' else 'bound'} {best:>5}"
                + "".join(
                    f" | {label} {row[label]['makespan']} ({row[label]['status']}, "
                    + (
                        "no schedule, "
                        if row[label]["gap"] is None
                        else f"gap {100 * row[label]['gap']:.1f}%, "
                    )
                    + f"{row[label]['cpu_seconds']:.1f} CPU-s in {row[label]['seconds']:.1f} s)"
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
        by_size: dict[str, dict[str, float]] = {}
        for family, size in dict.fromkeys((r["family"], r["size"]) for r in rows):
            group = [r for r in rows if r["family"] == family and r["size"] == size]
            by_size[f"{family} {size}"] = {
                label: round(
                    statistics.fmean(
                        r[label]["gap"] if r[label]["gap"] is not None else 1.0 for r in group
                    ),
                    4,
                )
                for label, _ in models
            }
            print(
                f"{limit:>4g}s mean gap {family} {size} ({len(group)}): "
                + ", ".join(
                    f"{label} {100 * v:.2f}%" for label, v in by_size[f"{family} {size}"].items()
                )
            )
        loadavg = os.getloadavg()
        print(f"{limit:>4g}s load average {loadavg[0]:.2f} {loadavg[1]:.2f} {loadavg[2]:.2f}")
        results[f"{limit:g}s"] = {
            "mean_gap": means,
            "mean_gap_by_size": by_size,
            "load_average": [round(x, 2) for x in loadavg],
            "instances": rows,
        }
    print(
        json.dumps(
            {
                "benchmark": "jobshop",
                "quick": args.quick,
                "workers": args.workers,
                "reference": "textbook CP-SAT model (no start, hint, bounds or search)",
                "tabu_compile_s": round(compile_s, 2),
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
