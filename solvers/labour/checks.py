"""An independent check of a matching, written apart from the solver's columns: every
assignment taken one by one against the plain records (no numpy, its own distance)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

from solvers.labour.model import Assignment, Problem


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    # Spherical law of cosines: a different formula from the solver's haversine.
    lat1, lon1, lat2, lon2 = (math.radians(v) for v in (*a, *b))
    c = math.sin(lat1) * math.sin(lat2) + math.cos(lat1) * math.cos(lat2) * math.cos(lon2 - lon1)
    return 6371.0088 * math.acos(max(-1.0, min(1.0, c)))


def violations(
    problem: Problem, assignments: tuple[Assignment, ...] | list[Assignment]
) -> list[str]:
    """Each broken rule, in words; empty when the assignments keep them all."""
    workers = {w.id: w for w in problem.workers}
    needs = {n.id: n for n in problem.needs}
    found: list[str] = []
    per_day: Counter[tuple[str, object]] = Counter()
    per_slot: Counter[tuple[str, object, str]] = Counter()
    at_need: dict[tuple[str, object, str], set[str]] = defaultdict(set)
    for x in assignments:
        worker, need = workers.get(x.worker), needs.get(x.need)
        if worker is None or need is None:
            found.append(f"{x}: unknown worker or need")
            continue
        per_day[(x.worker, x.day)] += 1
        per_slot[(x.need, x.day, x.shift)] += 1
        at_need[(x.need, x.day, x.shift)].add(x.worker)
        if not need.first_day <= x.day <= need.last_day:
            found.append(f"{x}: outside the need's dates")
        if not worker.first_day <= x.day <= worker.last_day:
            found.append(f"{x}: outside the worker's availability")
        if x.shift not in worker.shifts:
            found.append(f"{x}: the worker does not work the {x.shift} shift")
        if need.headcount.get(x.shift, 0) <= 0:
            found.append(f"{x}: the need asks nobody on the {x.shift} shift")
        if worker.skills.get(need.skill, 0) < max(need.min_level, 1):
            found.append(f"{x}: skill {need.skill} below level {need.min_level}")
        if not need.certificates <= worker.certificates:
            found.append(f"{x}: certificates missing")
        if need.safety_training and not worker.safety_trained:
            found.append(f"{x}: safety training missing")
        if _km(worker.home, need.site) > worker.radius_km + 1e-6:
            found.append(f"{x}: beyond the worker's travel radius")
        if worker.wage_floor > need.wage:
            found.append(f"{x}: wage below the worker's floor")
    for (worker_id, day), count in per_day.items():
        if count > 1:
            found.append(f"worker {worker_id} has {count} shifts on {day}")
    for (need_id, day, shift), count in per_slot.items():
        if count > needs[need_id].headcount.get(shift, 0):
            found.append(f"need {need_id} on {day} {shift}: {count} over its headcount")
    teams: dict[tuple[str, str], set[str]] = defaultdict(set)
    for w in problem.workers:
        if w.team:
            teams[(w.source, w.team)].add(w.id)
    team_of = {m: key for key, members in teams.items() for m in members}
    for (need_id, day, shift), present in at_need.items():
        if not needs[need_id].keep_team:
            continue
        for member in present:
            key = team_of.get(member)
            if key is not None and not teams[key] <= present:
                found.append(f"need {need_id} on {day} {shift}: team {key[1]} split")
                break
    chosen = set(assignments)
    found.extend(
        f"{lock}: an accepted assignment was moved" for lock in problem.locked if lock not in chosen
    )
    return found
