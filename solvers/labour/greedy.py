"""The greedy reference the benchmark sets beside the matching: needs in order of priority,
each day and shift filled with the nearest eligible workers still free that day. Team members
are left out of needs that keep teams (valid, if weaker)."""

from __future__ import annotations

import time
from collections import defaultdict

import numpy as np

from solvers.labour.matching import Match, candidate_arcs, summary
from solvers.labour.model import Assignment, Problem


def greedy(problem: Problem) -> Match:
    started = time.perf_counter()
    a = problem.arrays
    arcs = candidate_arcs(problem)
    in_team = np.array([w.team is not None for w in problem.workers], dtype=np.bool_)
    keep = ~(a.n_keep[arcs.need] & in_team[arcs.worker]) if len(arcs.need) else arcs.need > 0
    order = np.lexsort((arcs.km[keep], arcs.shift[keep], arcs.day[keep], arcs.need[keep]))
    rows = np.nonzero(keep)[0][order]
    by_slot: dict[tuple[int, int, int], list[tuple[int, int]]] = defaultdict(list)
    for w, n, d, k in zip(
        arcs.worker[rows].tolist(), arcs.need[rows].tolist(), arcs.day[rows].tolist(),
        arcs.shift[rows].tolist(), strict=True,
    ):  # fmt: skip
        by_slot[(n, d, k)].append((w, d))
    busy: set[tuple[int, int]] = set()
    places: dict[tuple[int, int, int], int] = defaultdict(int)
    for lock in problem.locked:
        d = problem.day_number(lock.day)
        busy.add((problem.worker_index(lock.worker), d))
        if lock.shift in problem.shift_names:
            k = problem.shift_names.index(lock.shift)
            places[(problem.need_index(lock.need), d, k)] += 1
    chosen: list[Assignment] = list(problem.locked)
    slots = sorted(by_slot, key=lambda s: (-int(a.n_priority[s[0]]), s[0], s[1], s[2]))
    for n, d, k in slots:
        left = int(a.headcount[n, k]) - places[(n, d, k)]
        for w, _ in by_slot[(n, d, k)]:
            if left <= 0:
                break
            if (w, d) in busy:
                continue
            busy.add((w, d))
            left -= 1
            chosen.append(
                Assignment(
                    worker=problem.workers[w].id,
                    need=problem.needs[n].id,
                    day=problem.day_of(d),
                    shift=problem.shift_names[k],
                )
            )
    return summary(problem, chosen, "greedy", False, started)
