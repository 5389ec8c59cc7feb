"""The matching: worker-days to needs' day-and-shift slots, maximising the covered worker-days
weighted by the needs' priorities, then (among the best) the least travel.

Without teams to keep together the problem is a transportation problem and solved exactly by
OR-Tools' min-cost flow: source -> worker-day (capacity 1: one shift a day) -> slot (need, day,
shift; capacity its headcount) -> sink, each worker-day -> slot arc costing
`-priority * scale + km`, with a zero-cost source -> sink arc so that uncovered slots and idle
workers cost nothing. `scale` exceeds any total travel, so priority-weighted coverage comes first.

A need with `keep_team` takes a team whole or not at all; that is no longer a flow, so when some
team can reach such a need the days are solved one by one with CP-SAT (days are independent:
every constraint is within a day), a team at such a need being one variable for all its members,
starting from the day's flow solution. A day with more than `WHOLE_DAY_ARCS` candidate arcs is
improved around the teams' needs only (the teams and the workers the flow put at those needs are
re-decided, the rest stays): valid, better than or equal to the flow, but not proven optimal.
Days are solved one at a time either way (a tenth of the time of one graph for all days).
Accepted (locked) assignments are kept as they are: their worker-days and slot places are taken
before the solve.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow  # type: ignore[import-untyped]
from ortools.sat.python import cp_model

from solvers.labour.model import Assignment, IntArray, Problem

DEFAULT_TIME_LIMIT_S = 10.0


@dataclass(frozen=True)
class Match:
    assignments: tuple[Assignment, ...]
    """The locked ones first, then the new ones."""
    method: str
    """"min-cost-flow", "cp-sat" or "greedy"."""
    optimal: bool
    covered: int
    """Worker-days covered."""
    demanded: int
    weighted_covered: int
    weighted_demanded: int
    travel_km: float
    elapsed_s: float

    @property
    def coverage(self) -> float:
        return self.covered / self.demanded if self.demanded else 1.0

    @property
    def weighted_coverage(self) -> float:
        return self.weighted_covered / self.weighted_demanded if self.weighted_demanded else 1.0


@dataclass(frozen=True)
class Arcs:
    """Every (worker, need, day, shift) a worker could take, day by day (days as numbers from
    the problem's origin, shifts as indices of `Problem.shift_names`)."""

    worker: IntArray
    need: IntArray
    day: IntArray
    shift: IntArray
    km: IntArray


def candidate_arcs(problem: Problem) -> Arcs:
    a = problem.arrays
    w, n, dist = a.eligible()
    first = np.maximum(a.w_first[w], a.n_first[n])
    length = np.minimum(a.w_last[w], a.n_last[n]) - first + 1
    rows = np.repeat(np.arange(len(w)), length)
    starts = np.repeat(np.cumsum(length) - length, length)
    day = first[rows] + (np.arange(len(rows)) - starts)
    common = a.w_shifts[w[rows]] & a.n_shifts[n[rows]]
    parts: list[tuple[IntArray, IntArray]] = []
    for k in range(len(problem.shift_names)):
        keep = np.nonzero((common >> k) & 1)[0]
        parts.append((keep, np.full(len(keep), k, dtype=np.int64)))
    picked = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    shift = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    r = rows[picked]
    return Arcs(
        worker=w[r],
        need=n[r],
        day=day[picked],
        shift=shift,
        km=np.rint(dist[r]).astype(np.int64),
    )


def _demand(problem: Problem) -> tuple[int, int]:
    a = problem.arrays
    per_day = a.headcount.sum(axis=1) if len(problem.needs) else np.zeros(0, dtype=np.int64)
    days = a.n_last - a.n_first + 1
    return int((per_day * days).sum()), int((per_day * days * a.n_priority).sum())


def summary(
    problem: Problem, assignments: list[Assignment], method: str, optimal: bool, started: float
) -> Match:
    a = problem.arrays
    demanded, weighted_demanded = _demand(problem)
    w = np.array([problem.worker_index(x.worker) for x in assignments], dtype=np.int64)
    n = np.array([problem.need_index(x.need) for x in assignments], dtype=np.int64)
    weighted = int(a.n_priority[n].sum()) if len(n) else 0
    km = float(a.pair_km(w, n).sum()) if len(n) else 0.0
    return Match(
        assignments=tuple(assignments),
        method=method,
        optimal=optimal,
        covered=len(assignments),
        demanded=demanded,
        weighted_covered=weighted,
        weighted_demanded=weighted_demanded,
        travel_km=round(km, 1),
        elapsed_s=time.perf_counter() - started,
    )


def _team_members(problem: Problem) -> dict[tuple[str, str], list[int]]:
    teams: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, worker in enumerate(problem.workers):
        if worker.team_key is not None:
            teams[worker.team_key].append(i)
    return teams


def match(problem: Problem, *, time_limit_s: float = DEFAULT_TIME_LIMIT_S) -> Match:
    """The best assignment (min-cost flow, or CP-SAT day by day when teams must be kept)."""
    started = time.perf_counter()
    arcs = candidate_arcs(problem)
    a = problem.arrays
    keep = a.n_keep if len(problem.needs) else np.zeros(0, dtype=np.bool_)
    in_team = np.array([w.team is not None for w in problem.workers], dtype=np.bool_)
    # A team member reaches a need that keeps teams only with the whole team.
    solo = ~(keep[arcs.need] & in_team[arcs.worker]) if len(arcs.need) else np.zeros(0, bool)
    teams = _team_arcs(problem, arcs) if keep.any() else []
    locked = list(problem.locked)
    if teams:
        new, optimal = _cp_sat(problem, arcs, solo, teams, started + time_limit_s)
        return summary(problem, locked + new, "cp-sat", optimal, started)
    singles = _subset(arcs, solo)
    new = []
    for day in np.unique(singles.day).tolist():
        new.extend(_flow(problem, _subset(singles, singles.day == day)))
    return summary(problem, locked + new, "min-cost-flow", True, started)


def _subset(arcs: Arcs, keep: np.ndarray) -> Arcs:
    return Arcs(arcs.worker[keep], arcs.need[keep], arcs.day[keep], arcs.shift[keep], arcs.km[keep])


def _locks(problem: Problem) -> tuple[set[tuple[int, int]], dict[tuple[int, int, int], int]]:
    """Worker-days taken by accepted assignments, and places they take in slots."""
    shifts = {name: k for k, name in enumerate(problem.shift_names)}
    days: set[tuple[int, int]] = set()
    places: dict[tuple[int, int, int], int] = defaultdict(int)
    for lock in problem.locked:
        w, n = problem.worker_index(lock.worker), problem.need_index(lock.need)
        d = problem.day_number(lock.day)
        days.add((w, d))
        if lock.shift in shifts:
            places[(n, d, shifts[lock.shift])] += 1
    return days, places


def _scale(arcs: Arcs, problem: Problem) -> int:
    """More than any total travel: one priority point outweighs every kilometre."""
    if not len(arcs.km):
        return 1
    units = len(np.unique(arcs.worker * 1_000_000 + arcs.day))
    return int(arcs.km.max() + 1) * max(units, 1) + 1


def _flow(problem: Problem, arcs: Arcs) -> list[Assignment]:
    if not len(arcs.worker):
        return []
    a = problem.arrays
    shifts = len(problem.shift_names)
    taken, places = _locks(problem)
    # Worker-day nodes: only those with an arc; slot nodes: only those with an arc.
    wd_key = arcs.worker * 1_000_000 + arcs.day
    wd_keys, wd_of_arc = np.unique(wd_key, return_inverse=True)
    slot_key = (arcs.need * 1_000_000 + arcs.day) * shifts + arcs.shift
    slot_keys, slot_of_arc = np.unique(slot_key, return_inverse=True)
    n_wd, n_slot = len(wd_keys), len(slot_keys)
    source, sink = 0, 1
    wd_node = 2 + np.arange(n_wd)
    slot_node = 2 + n_wd + np.arange(n_slot)

    wd_cap = np.ones(n_wd, dtype=np.int64)
    if taken:
        for w, d in taken:
            hit = np.searchsorted(wd_keys, w * 1_000_000 + d)
            if hit < n_wd and wd_keys[hit] == w * 1_000_000 + d:
                wd_cap[hit] = 0
    slot_need = slot_keys // shifts // 1_000_000
    slot_day = (slot_keys // shifts) % 1_000_000
    slot_shift = slot_keys % shifts
    slot_cap = a.headcount[slot_need, slot_shift].copy()
    for (n, d, k), count in places.items():
        key = (n * 1_000_000 + d) * shifts + k
        hit = np.searchsorted(slot_keys, key)
        if hit < n_slot and slot_keys[hit] == key:
            slot_cap[hit] = max(0, int(slot_cap[hit]) - count)
    del slot_day

    scale = _scale(arcs, problem)
    cost = -a.n_priority[arcs.need] * scale + arcs.km
    supply = int(wd_cap.sum())
    flow = min_cost_flow.SimpleMinCostFlow()
    tails = np.concatenate(
        [np.full(n_wd, source), wd_node[wd_of_arc], slot_node, np.array([source])]
    ).astype(np.int64)
    heads = np.concatenate(
        [wd_node, slot_node[slot_of_arc], np.full(n_slot, sink), np.array([sink])]
    ).astype(np.int64)
    caps = np.concatenate(
        [wd_cap, np.ones(len(cost), dtype=np.int64), slot_cap, np.array([supply])]
    ).astype(np.int64)
    costs = np.concatenate(
        [np.zeros(n_wd, dtype=np.int64), cost, np.zeros(n_slot + 1, dtype=np.int64)]
    ).astype(np.int64)
    ids = flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    flow.set_node_supply(source, supply)
    flow.set_node_supply(sink, -supply)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow ended {status}")
    used = flow.flows(ids[n_wd : n_wd + len(cost)]) > 0
    return _assignments(problem, _subset(arcs, used))


def _assignments(problem: Problem, arcs: Arcs) -> list[Assignment]:
    origin, shifts = problem.origin, problem.shift_names
    return [
        Assignment(
            worker=problem.workers[w].id,
            need=problem.needs[n].id,
            day=origin + dt.timedelta(days=int(d)),
            shift=shifts[k],
        )
        for w, n, d, k in zip(
            arcs.worker.tolist(),
            arcs.need.tolist(),
            arcs.day.tolist(),
            arcs.shift.tolist(),
            strict=True,
        )
    ]


@dataclass(frozen=True)
class TeamArc:
    members: tuple[int, ...]
    need: int
    day: int
    shift: int
    km: int
    """The members' travel together."""


def _team_arcs(problem: Problem, arcs: Arcs) -> list[TeamArc]:
    """A team at a need that keeps teams: every member eligible, available that day and shift."""
    picked = problem.arrays.n_keep[arcs.need]
    by_worker: dict[int, dict[tuple[int, int, int], int]] = defaultdict(dict)
    for w, n, d, k, km in zip(
        arcs.worker[picked].tolist(), arcs.need[picked].tolist(), arcs.day[picked].tolist(),
        arcs.shift[picked].tolist(), arcs.km[picked].tolist(), strict=True,
    ):  # fmt: skip
        by_worker[w][(n, d, k)] = km
    result: list[TeamArc] = []
    for members in _team_members(problem).values():
        options = [by_worker.get(m, {}) for m in members]
        for key in options[0]:
            kms = [option.get(key) for option in options]
            if all(km is not None for km in kms):
                n, d, k = key
                result.append(TeamArc(tuple(members), n, d, k, sum(km or 0 for km in kms)))
    return result


WHOLE_DAY_ARCS = 2_000
"""Up to this many candidate arcs a day, CP-SAT decides the whole day (optimal); above, only
the workers around the teams' needs, the rest kept as the flow placed them."""


def _cp_sat(
    problem: Problem, arcs: Arcs, solo: np.ndarray, teams: list[TeamArc], deadline: float
) -> tuple[list[Assignment], bool]:
    taken, places = _locks(problem)
    singles = _subset(arcs, solo)
    scale = _scale(arcs, problem)
    teams_by_day: dict[int, list[TeamArc]] = defaultdict(list)
    for team in teams:
        teams_by_day[team.day].append(team)
    days = sorted(set(np.unique(singles.day).tolist()) | set(teams_by_day))
    chosen: list[Assignment] = []
    fallbacks: dict[int, tuple[Arcs, list[Assignment]]] = {}
    for d in days:
        day_arcs = _subset(singles, singles.day == d)
        fallback = _flow(problem, day_arcs)
        if teams_by_day.get(d):
            fallbacks[d] = (day_arcs, fallback)
        else:
            chosen.extend(fallback)
    # What time is left goes to the days a team can work, shared equally; a day left without
    # time keeps its flow solution (valid, not proven optimal).
    optimal = True
    for index, (d, (day_arcs, fallback)) in enumerate(sorted(fallbacks.items())):
        left = (deadline - time.perf_counter()) / (len(fallbacks) - index)
        if left < 0.05:
            chosen.extend(fallback)
            optimal = False
            continue
        found, proven = _cp_sat_day(
            problem, d, day_arcs, fallback, teams_by_day[d], taken, places, scale, left
        )
        chosen.extend(found)
        optimal &= proven
    return chosen, optimal


def _cp_sat_day(
    problem: Problem,
    d: int,
    arcs: Arcs,
    fallback: list[Assignment],
    teams: list[TeamArc],
    taken: set[tuple[int, int]],
    places: dict[tuple[int, int, int], int],
    scale: int,
    time_limit_s: float,
) -> tuple[list[Assignment], bool]:
    a = problem.arrays
    shift_of = {name: k for k, name in enumerate(problem.shift_names)}
    placed = [
        (problem.worker_index(x.worker), problem.need_index(x.need), shift_of[x.shift])
        for x in fallback
    ]
    whole = len(arcs.worker) <= WHOLE_DAY_ARCS
    if whole:
        free = set(arcs.worker.tolist())
    else:
        around = {t.need for t in teams}
        free = {m for t in teams for m in t.members} | {w for w, n, _ in placed if n in around}
    kept = [(w, n, k) for w, n, k in placed if w not in free]
    used: dict[tuple[int, int], int] = defaultdict(int)
    for _, n, k in kept:
        used[(n, k)] += 1
    hinted = {p for p in placed if p[0] in free}
    model = cp_model.CpModel()
    per_worker: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    per_slot: dict[tuple[int, int], list[tuple[int, cp_model.IntVar]]] = defaultdict(list)
    objective: list[tuple[int, cp_model.IntVar]] = []
    singles: list[tuple[tuple[int, int, int], cp_model.IntVar]] = []
    rows = np.nonzero(np.isin(arcs.worker, np.fromiter(free, dtype=np.int64)))[0]
    for w, n, k, km in zip(
        arcs.worker[rows].tolist(), arcs.need[rows].tolist(), arcs.shift[rows].tolist(),
        arcs.km[rows].tolist(), strict=True,
    ):  # fmt: skip
        if (w, d) in taken:
            continue
        var = model.new_bool_var("")
        model.add_hint(var, (w, n, k) in hinted)
        per_worker[w].append(var)
        per_slot[(n, k)].append((1, var))
        objective.append((int(a.n_priority[n]) * scale - km, var))
        singles.append(((w, n, k), var))
    team_vars: list[tuple[TeamArc, cp_model.IntVar]] = []
    for team in teams:
        if any((m, d) in taken for m in team.members):
            continue
        var = model.new_bool_var("")
        model.add_hint(var, False)
        for m in team.members:
            per_worker[m].append(var)
        size = len(team.members)
        per_slot[(team.need, team.shift)].append((size, var))
        objective.append((int(a.n_priority[team.need]) * scale * size - team.km, var))
        team_vars.append((team, var))
    for variables in per_worker.values():
        if len(variables) > 1:
            model.add_at_most_one(variables)
    for (n, k), terms in per_slot.items():
        cap = int(a.headcount[n, k]) - places.get((n, d, k), 0) - used.get((n, k), 0)
        model.add(sum(c * v for c, v in terms) <= max(cap, 0))
    model.maximize(sum(c * v for c, v in objective))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = 2
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        # Out of time before a solution: the day's flow (no team at a need that keeps teams)
        # is a valid one.
        return fallback, False
    day = problem.day_of(d)
    names = problem.shift_names
    found = [
        Assignment(problem.workers[w].id, problem.needs[n].id, day, names[k]) for w, n, k in kept
    ]
    found.extend(
        Assignment(problem.workers[w].id, problem.needs[n].id, day, names[k])
        for (w, n, k), var in singles
        if solver.value(var)
    )
    for team, var in team_vars:
        if solver.value(var):
            found.extend(
                Assignment(
                    problem.workers[m].id, problem.needs[team.need].id, day, names[team.shift]
                )
                for m in team.members
            )
    return found, whole and status == cp_model.OPTIMAL
