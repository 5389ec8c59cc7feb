"""The shared-worker matching (solvers.labour): optimal on small random cases (checked by brute
force over every assignment), never breaking a rule on seeded larger ones (checked by an
independent function), accepted assignments kept on a re-match, explanations for assignments
and shortfalls, and the greedy reference valid too."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from dataclasses import replace

import pytest

from solvers.labour import (
    Assignment,
    Need,
    Problem,
    Worker,
    greedy,
    match,
    shortfalls,
    violations,
    why,
)
from solvers.labour.instances import seeded

DAY0 = dt.date(2027, 9, 6)
SITE = (22.82, 113.67)


def _random_problem(rng: random.Random, *, teams: bool) -> Problem:
    workers = []
    for i in range(4):
        workers.append(
            Worker(
                id=f"w{i}",
                source="lender-a" if i < 2 else "lender-b",
                skills={rng.choice(["sew", "mould"]): rng.randint(1, 3)},
                home=(SITE[0] + rng.uniform(-0.15, 0.15), SITE[1] + rng.uniform(-0.15, 0.15)),
                radius_km=rng.choice([5.0, 15.0, 30.0]),
                wage_floor=rng.choice([200.0, 250.0]),
                first_day=DAY0 + dt.timedelta(rng.randint(0, 1)),
                last_day=DAY0 + dt.timedelta(1),
                shifts=rng.choice([frozenset({"day"}), frozenset({"day", "night"})]),
                certificates=frozenset({"cert"}) if rng.random() < 0.5 else frozenset(),
                safety_trained=rng.random() < 0.7,
                team="t" if teams and i < 2 else None,
            )
        )
    if teams:
        # A team of two much alike, so that it often fits the need that keeps teams.
        workers[1] = replace(workers[0], id="w1", wage_floor=rng.choice([200.0, 250.0]))
    needs = []
    for j in range(2):
        needs.append(
            Need(
                id=f"n{j}",
                factory=f"f{j}",
                site=(SITE[0] + rng.uniform(-0.05, 0.05), SITE[1] + rng.uniform(-0.05, 0.05)),
                skill=next(iter(workers[0].skills))
                if teams and j == 0
                else rng.choice(["sew", "mould"]),
                min_level=rng.randint(1, 2),
                first_day=DAY0,
                last_day=DAY0 + dt.timedelta(rng.randint(0, 1)),
                headcount={
                    "day": rng.randint(1, 2),
                    **({"night": 1} if rng.random() < 0.5 else {}),
                },
                wage=rng.choice([220.0, 260.0]),
                priority=rng.randint(1, 4),
                certificates=frozenset({"cert"}) if rng.random() < 0.3 else frozenset(),
                safety_training=rng.random() < 0.3,
                keep_team=teams and j == 0,
            )
        )
    return Problem(workers=tuple(workers), needs=tuple(needs))


def _brute_force(problem: Problem) -> int:
    """The best priority-weighted coverage over every way of giving each worker-day one of the
    slots it could take, or none."""
    days = [DAY0, DAY0 + dt.timedelta(1)]
    # A slot a worker could take on their own; the team rule is checked on whole combinations.
    loose = Problem(
        workers=problem.workers, needs=tuple(replace(n, keep_team=False) for n in problem.needs)
    )
    options = []
    for worker in problem.workers:
        for day in days:
            choices: list[Assignment | None] = [None]
            for need in problem.needs:
                for shift in need.headcount:
                    candidate = Assignment(worker.id, need.id, day, shift)
                    if not violations(loose, [candidate]):
                        choices.append(candidate)
            options.append(choices)
    best = 0
    priority = {n.id: n.priority for n in problem.needs}
    for combo in itertools.product(*options):
        chosen = [x for x in combo if x is not None]
        score = sum(priority[x.need] for x in chosen)
        if score > best and not violations(problem, chosen):
            best = score
    return best


@pytest.mark.parametrize("teams", [False, True])
def test_small_random_cases_are_optimal(teams: bool) -> None:
    rng = random.Random(23 + teams)
    methods: list[str] = []
    for _ in range(40):
        problem = _random_problem(rng, teams=teams)
        result = match(problem)
        assert violations(problem, result.assignments) == []
        assert result.weighted_covered == _brute_force(problem), problem
        methods.append(result.method)
    assert methods.count("cp-sat") >= (5 if teams else 0)
    assert sum(1 for _ in methods) == 40


@pytest.mark.parametrize(("seed", "keep_teams"), [(1, False), (2, True), (3, True)])
def test_seeded_larger_cases_break_no_rule(seed: int, keep_teams: bool) -> None:
    problem = seeded(seed, workers=600, needs=60, keep_teams=keep_teams, keep_share=0.5)
    result = match(problem, time_limit_s=20)
    assert violations(problem, result.assignments) == []
    assert 0 < result.covered <= result.demanded
    reference = greedy(problem)
    assert violations(problem, reference.assignments) == []
    assert result.weighted_covered >= reference.weighted_covered
    if keep_teams:
        assert result.method == "cp-sat"


def test_a_rematch_keeps_accepted_assignments() -> None:
    problem = seeded(4, workers=400, needs=40)
    first = match(problem)
    accepted = tuple(first.assignments[::7])
    # The borrower of the most accepted need now offers less than anyone asks: its accepted
    # days stay, nothing new goes there.
    target = accepted[0].need
    needs = tuple(replace(n, wage=1.0) if n.id == target else n for n in problem.needs)
    again = match(Problem(workers=problem.workers, needs=needs, locked=accepted))
    kept = set(again.assignments)
    assert set(accepted) <= kept
    assert {x for x in again.assignments if x.need == target} == {
        x for x in accepted if x.need == target
    }
    new = [x for x in again.assignments if x not in set(accepted)]
    assert violations(Problem(workers=problem.workers, needs=needs), new) == []


def test_explanations_name_the_match_and_the_missing_hands() -> None:
    sewer = Worker(
        id="w-sew", source="lender", skills={"sewing_operator": 3}, home=(22.83, 113.68),
        radius_km=20, wage_floor=230, first_day=DAY0, last_day=DAY0 + dt.timedelta(2),
    )  # fmt: skip
    far = replace(sewer, id="w-far", skills={"forklift_driver": 4}, home=(23.5, 114.5))
    needs = (
        Need(id="sew", factory="f", site=SITE, skill="sewing_operator", min_level=2,
             first_day=DAY0, last_day=DAY0, headcount={"day": 2}, wage=260),
        Need(id="fork", factory="f", site=SITE, skill="forklift_driver", min_level=1,
             first_day=DAY0, last_day=DAY0, headcount={"day": 1}, wage=300),
        Need(id="cnc", factory="f", site=SITE, skill="cnc_operator", min_level=1,
             first_day=DAY0, last_day=DAY0, headcount={"day": 1}, wage=300),
        Need(id="cheap", factory="f", site=SITE, skill="sewing_operator", min_level=1,
             first_day=DAY0 + dt.timedelta(1), last_day=DAY0 + dt.timedelta(1),
             headcount={"day": 1}, wage=100),
    )  # fmt: skip
    problem = Problem(workers=(sewer, far), needs=needs)
    result = match(problem)
    assert result.assignments == (Assignment("w-sew", "sew", DAY0, "day"),)
    reason = why(problem, result.assignments[0])
    assert (reason.skill, reason.level, reason.min_level) == ("sewing_operator", 3, 2)
    assert reason.km < 20
    assert (reason.wage_floor, reason.wage) == (230, 260)
    codes = {(s.need, s.code) for s in shortfalls(problem, result)}
    assert codes == {("sew", "taken"), ("fork", "radius"), ("cnc", "skill"), ("cheap", "wage")}
    texts = {s.need: s.text for s in shortfalls(problem, result)}
    assert "cnc_operator" in texts["cnc"]
    assert "km away" in texts["fork"]


def test_bad_problems_are_refused() -> None:
    need = Need(id="n", factory="f", site=SITE, skill="s", min_level=1, first_day=DAY0,
                last_day=DAY0 - dt.timedelta(1), headcount={"day": 1}, wage=1)  # fmt: skip
    with pytest.raises(ValueError, match="last day before first day"):
        Problem(workers=(), needs=(need,))
    with pytest.raises(ValueError, match="priority"):
        Problem(workers=(), needs=(replace(need, last_day=DAY0, priority=0),))
