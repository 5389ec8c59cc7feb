"""Why a worker went where they did, and why a need's day and shift is short of hands.

A shortfall's reason is the first of the need's checks that leaves nobody (no worker with the
skill, none at the level, none with the certificates or safety training, none living within
their travel radius of the site, the wage below every floor left, nobody available those dates
or that shift); when workers pass every check, they were all taken that day, and the reason
says how many went to needs of higher priority.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from solvers.labour.matching import Match
from solvers.labour.model import Assignment, Problem

STAGE_TEXT = {
    "skill": "no worker with skill {skill}",
    "level": "no worker with {skill} at level {level} or above",
    "certificates": "no skilled worker holds {certificates}",
    "safety": "no skilled worker has the safety training asked",
    "radius": "no skilled worker lives within their travel radius of the site "
    "(the nearest is {nearest:.0f} km away)",
    "wage": "the wage offered ({wage:g}) is below the floor of every skilled worker within "
    "reach (the lowest is {lowest:g})",
    "dates": "no suitable worker is available between {first} and {last}",
    "shifts": "no suitable worker works the shifts asked",
}


@dataclass(frozen=True)
class Reason:
    """Why one assignment: the skill matched, the travel, the wage."""

    worker: str
    need: str
    skill: str
    level: int
    min_level: int
    km: float
    radius_km: float
    wage: float
    wage_floor: float
    priority: int

    @property
    def text(self) -> str:
        return (
            f"{self.skill} at level {self.level} (asked {self.min_level}); {self.km:.1f} km of "
            f"{self.radius_km:g} km the worker travels; wage {self.wage:g} over their floor "
            f"{self.wage_floor:g}; need priority {self.priority}"
        )


@dataclass(frozen=True)
class Shortfall:
    need: str
    day: object
    shift: str
    wanted: int
    covered: int
    code: str
    """skill, level, certificates, safety, radius, wage, dates, shifts, day (nobody suitable
    free that day and shift), taken (all suitable ones busy elsewhere), teams (the free ones are
    team members whose team does not fit whole), free (suitable workers left idle: a greedy or
    time-limited result)."""
    text: str


def why(problem: Problem, assignment: Assignment) -> Reason:
    worker = problem.workers[problem.worker_index(assignment.worker)]
    need = problem.needs[problem.need_index(assignment.need)]
    a = problem.arrays
    km = float(
        a.pair_km(
            np.array([problem.worker_index(worker.id)]), np.array([problem.need_index(need.id)])
        )[0]
    )
    return Reason(
        worker=worker.id,
        need=need.id,
        skill=need.skill,
        level=worker.skills.get(need.skill, 0),
        min_level=need.min_level,
        km=round(km, 1),
        radius_km=worker.radius_km,
        wage=need.wage,
        wage_floor=worker.wage_floor,
        priority=need.priority,
    )


def shortfalls(problem: Problem, result: Match, *, limit: int | None = None) -> list[Shortfall]:
    """Every need's day and shift with fewer workers than asked, with its reason (up to
    `limit`)."""
    a = problem.arrays
    shifts = problem.shift_names
    covered: dict[tuple[int, int, int], int] = defaultdict(int)
    busy: dict[tuple[int, int], int] = {}
    for x in result.assignments:
        n, d = problem.need_index(x.need), problem.day_number(x.day)
        covered[(n, d, shifts.index(x.shift))] += 1
        busy[(problem.worker_index(x.worker), d)] = n
    found: list[Shortfall] = []
    for n, need in enumerate(problem.needs):
        stages = None
        for d in range(int(a.n_first[n]), int(a.n_last[n]) + 1):
            for k, shift in enumerate(shifts):
                wanted = int(a.headcount[n, k])
                got = covered.get((n, d, k), 0)
                if got >= wanted:
                    continue
                if stages is None:
                    stages = a.stages(n)
                code, text = _reason(problem, n, d, k, stages, busy)
                found.append(Shortfall(need.id, problem.day_of(d), shift, wanted, got, code, text))
                if limit is not None and len(found) >= limit:
                    return found
    return found


def _reason(
    problem: Problem,
    n: int,
    d: int,
    k: int,
    stages: list[tuple[str, np.ndarray]],
    busy: dict[tuple[int, int], int],
) -> tuple[str, str]:
    a = problem.arrays
    need = problem.needs[n]
    previous = None
    for name, mask in stages:
        if not mask.any():
            values = {
                "skill": need.skill,
                "level": need.min_level,
                "certificates": ", ".join(sorted(need.certificates)),
                "wage": need.wage,
                "first": need.first_day,
                "last": need.last_day,
                "nearest": 0.0,
                "lowest": 0.0,
            }
            if name == "radius" and previous is not None:
                near = a.distance_km(np.array([n]))[previous, 0]
                values["nearest"] = float(near.min())
            if name == "wage" and previous is not None:
                values["lowest"] = float(a.w_floor[previous].min())
            return name, STAGE_TEXT[name].format(**values)
        previous = mask
    suitable = stages[-1][1] & (a.w_first <= d) & (a.w_last >= d) & (((a.w_shifts >> k) & 1) == 1)
    people = np.nonzero(suitable)[0].tolist()
    if not people:
        return (
            "day",
            f"no suitable worker is free on {problem.day_of(d)} for the "
            f"{problem.shift_names[k]} shift",
        )
    elsewhere = [busy[(w, d)] for w in people if (w, d) in busy and busy[(w, d)] != n]
    free = [w for w in people if (w, d) not in busy]
    if free and need.keep_team and all(problem.workers[w].team for w in free):
        return "teams", (
            f"{len(free)} suitable worker(s) free that day belong to teams that do not fit the "
            "need whole"
        )
    if free:
        return "free", f"{len(free)} suitable worker(s) were left free that day (not optimal)"

    higher = sum(1 for other in elsewhere if problem.needs[other].priority > need.priority)
    return "taken", (
        f"all {len(people)} suitable workers free that day are assigned: {len(elsewhere)} to "
        f"other needs ({higher} of higher priority), {len(people) - len(elsewhere)} here"
    )
