"""Shop scheduling: instance files, schedules checked independently of the solver, known optima."""

from __future__ import annotations

import itertools
import json
import math
import random
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from solvers.scheduling import jobshop, tabu
from solvers.scheduling.instances import (
    Instance,
    InstanceError,
    Operation,
    load,
    parse_fjsp,
    parse_jobshop,
)
from solvers.scheduling.jobshop import Assignment, dispatch, greedy, solve, violations
from yunfab.processes import yunfab_argv

INSTANCES = Path(__file__).resolve().parent / "data" / "scheduling"
"""A few public instances, shipped with their licence (the full sets are for `benchmarks/`)."""


def best_known(folder: str) -> dict[str, dict[str, object]]:
    rows = json.loads((INSTANCES / folder / "best_known.json").read_text())
    return {row["instance"]: row for row in rows}


@pytest.fixture(scope="module")
def instances() -> Path:
    return INSTANCES


def test_the_instances_ship_with_the_tests(instances: Path) -> None:
    """A clone runs these tests as it is: nothing is read from outside the repository."""
    repository = Path(__file__).resolve().parents[1]
    assert instances.is_relative_to(repository)
    assert (instances / "LICENSE.CC-BY-SA-4.0").is_file()
    for folder, used in (("jobshop", "ft06"), ("fjsp", "mk01")):
        shipped = {path.stem for path in (instances / folder).glob("*.txt")}
        assert used in shipped
        assert shipped == set(best_known(folder)), folder


def test_standard_files_read_as_their_shape(instances: Path) -> None:
    ft06 = load(instances / "jobshop" / "ft06.txt", flexible=False)
    assert (len(ft06.jobs), ft06.machines, ft06.operations) == (6, 6, 36)
    assert ft06.jobs[0][0].alternatives == ((2, 1),)
    assert not ft06.flexible
    mk01 = load(instances / "fjsp" / "mk01.txt", flexible=True)
    assert (len(mk01.jobs), mk01.machines) == (10, 6)
    assert mk01.flexible
    # First operation of mk01's first job: 2 machines, machine 1 (0-based 0) for 5, 3 for 4.
    assert mk01.jobs[0][0].alternatives == ((0, 5), (2, 4))


@pytest.mark.parametrize(
    ("parser", "text", "message"),
    [
        (parse_jobshop, "", "empty"),
        (parse_jobshop, "2 2\n0 3 1 4\n", "2 jobs announced, 1 given"),
        (parse_jobshop, "1 2\n0 3 5 4\n", "machine 5 outside 0..1"),
        (parse_jobshop, "1 2\n0 3 1\n", "pairs of `machine duration`"),
        (parse_fjsp, "1 2 1\n2 1 1 3\n", "ends in the middle of a job"),
        (parse_fjsp, "1 2 1\n1 1 3 4\n", "machine 2 outside 0..1"),
        (parse_fjsp, "1 x", "whole number"),
    ],
)
def test_malformed_files_are_refused_with_the_reason(parser, text: str, message: str) -> None:
    with pytest.raises(InstanceError, match=message.replace(".", r"\.").replace("`", "`")):
        parser(text, "bad")


def test_the_greedy_plan_is_valid_on_every_shipped_instance(instances: Path) -> None:
    for folder, flexible in (("jobshop", False), ("fjsp", True)):
        known = best_known(folder)
        for path in sorted((instances / folder).glob("*.txt")):
            instance = load(path, flexible=flexible)
            plan = tuple(greedy(instance))
            assert violations(instance, plan) == [], path.name
            makespan = max(a.end for a in plan)
            assert makespan >= int(str(known[path.stem]["lower_bound"])), path.name
            assert instance.trivial_lower_bound() <= int(str(known[path.stem]["upper_bound"]))


def test_ft06_is_solved_to_its_known_optimum(instances: Path) -> None:
    instance = load(instances / "jobshop" / "ft06.txt", flexible=False)
    result = solve(instance, time_limit_s=10, workers=2)
    assert (result.status, result.makespan, result.lower_bound) == ("optimal", 55, 55)
    assert violations(instance, result.assignments) == []


def test_a_flexible_instance_is_solved_within_its_known_bounds(instances: Path) -> None:
    instance = load(instances / "fjsp" / "mk01.txt", flexible=True)
    result = solve(instance, time_limit_s=10, workers=2)
    assert result.makespan is not None
    assert violations(instance, result.assignments) == []
    # Better than the greedy start, and within 10% of the proven optimum (40).
    assert result.makespan <= max(a.end for a in greedy(instance))
    assert result.makespan <= 44


def _sequences(plan: list[Assignment], machines: int) -> list[list[tuple[int, int]]]:
    sequences: list[list[tuple[int, int]]] = [[] for _ in range(machines)]
    for a in sorted(plan, key=lambda a: (a.start, a.end)):
        sequences[a.machine].append((a.job, a.operation))
    return sequences


def _after(checks: int) -> Callable[[], bool]:
    """A stop callback for `tabu.search` that says stop at its `checks`-th call."""
    counter = itertools.count()
    return lambda: next(counter) >= checks


def test_the_tabu_search_improves_a_dispatched_start(instances: Path) -> None:
    instance = load(instances / "jobshop" / "ft10.txt", flexible=False)
    start = dispatch(instance)
    assert violations(instance, tuple(start)) == []
    # Stopped after a fixed number of iterations (checked every 16), not a time: reproducible.
    best, sequences = tabu.search(
        instance, _sequences(start, instance.machines), deadline=math.inf, stop=_after(40)
    )
    starts = tabu.starts(instance, sequences)
    plan = tuple(
        Assignment(
            j, o, m, starts[(j, o)], starts[(j, o)] + dict(instance.jobs[j][o].alternatives)[m]
        )
        for m, sequence in enumerate(sequences)
        for j, o in sequence
    )
    assert violations(instance, plan) == []
    assert max(a.end for a in plan) == best
    assert 930 <= best < max(a.end for a in start)


def test_the_tabu_search_keeps_a_job_in_order_on_one_machine() -> None:
    # Jobs of three operations where two in a row share a machine (as in flexible shops): the
    # search may never swap those two (it would put the job's order in a cycle).
    rng = random.Random(7)
    jobs = tuple(
        tuple(Operation(((m, rng.randint(1, 9)),)) for m in (a, a, b))
        for a, b in ((rng.randrange(3), rng.randrange(3)) for _ in range(8))
    )
    instance = Instance(name="repeat", machines=3, jobs=jobs)
    start = dispatch(instance)
    best, sequences = tabu.search(
        instance, _sequences(start, 3), deadline=math.inf, stop=_after(60)
    )
    starts = tabu.starts(instance, sequences)
    plan = tuple(
        Assignment(j, o, m, starts[(j, o)], starts[(j, o)] + instance.jobs[j][o].alternatives[0][1])
        for m, sequence in enumerate(sequences)
        for j, o in sequence
    )
    assert violations(instance, plan) == []
    assert best == max(a.end for a in plan) <= max(a.end for a in start)


def test_the_tabu_search_moves_operations_between_machines_in_a_flexible_shop(
    instances: Path,
) -> None:
    instance = load(instances / "fjsp" / "mk10.txt", flexible=True)
    start = dispatch(instance)
    best, sequences = tabu.search(
        instance, _sequences(start, instance.machines), deadline=math.inf, stop=_after(40)
    )
    starts = tabu.starts(instance, sequences)
    plan = tuple(
        Assignment(
            j, o, m, starts[(j, o)], starts[(j, o)] + dict(instance.jobs[j][o].alternatives)[m]
        )
        for m, sequence in enumerate(sequences)
        for j, o in sequence
    )
    assert violations(instance, plan) == []
    assert max(a.end for a in plan) == best < max(a.end for a in start)
    machines = {(a.job, a.operation): a.machine for a in start}
    assert any(machines[(a.job, a.operation)] != a.machine for a in plan)


@pytest.mark.parametrize("workers", [1, 2])
def test_the_portfolio_returns_a_valid_schedule_at_least_as_good_as_its_start(
    instances: Path, workers: int
) -> None:
    instance = load(instances / "jobshop" / "la01.txt", flexible=False)
    result = solve(instance, time_limit_s=2, workers=workers)
    assert result.makespan is not None
    assert violations(instance, result.assignments) == []
    assert 666 <= result.makespan <= max(a.end for a in dispatch(instance))
    assert result.lower_bound <= result.makespan
    assert len(result.assignments) == instance.operations


def test_a_machine_choice_is_made_where_it_pays() -> None:
    # Job 0 may run on the fast machine 0 (3) or the slow machine 1 (4); job 1 needs machine 0
    # for 2. Both on machine 0 would take 5; the optimum sends job 0 to machine 1: makespan 4.
    instance = Instance(
        name="choice",
        machines=2,
        jobs=(
            (Operation(((0, 3), (1, 4))),),
            (Operation(((0, 2),)),),
        ),
    )
    result = solve(instance, time_limit_s=5)
    assert (result.status, result.makespan) == ("optimal", 4)
    assert {a.job: a.machine for a in result.assignments} == {0: 1, 1: 0}


def test_a_machine_listed_twice_keeps_its_shorter_time() -> None:
    instance = Instance(name="twice", machines=1, jobs=((Operation(((0, 5), (0, 3))),),))
    result = solve(instance, time_limit_s=5)
    assert (result.status, result.makespan) == ("optimal", 3)
    assert violations(instance, result.assignments) == []


def test_the_independent_check_finds_what_is_wrong() -> None:
    instance = Instance(
        name="check",
        machines=1,
        jobs=((Operation(((0, 3),)), Operation(((0, 2),))), (Operation(((0, 1),)),)),
    )
    broken = (
        Assignment(0, 0, 0, 0, 3),
        Assignment(0, 1, 0, 2, 4),  # before its predecessor ends, and overlapping it
        Assignment(1, 0, 0, 10, 12),  # wrong duration
    )
    problems = violations(instance, broken)
    assert any("starts before operation 0 ends" in p for p in problems)
    assert any("overlap" in p for p in problems)
    assert any("lasts 2" in p for p in problems)


@pytest.mark.slow
def test_the_cli_prints_one_json_object(instances: Path) -> None:
    done = subprocess.run(
        yunfab_argv(
            "schedule", "jobshop", str(instances / "jobshop" / "ft06.txt"), "--time-limit", "5"
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["makespan"], result["lower_bound"], result["status"]) == (55, 55, "optimal")
    assert len(result["schedule"]) == 36
    bad = subprocess.run(
        yunfab_argv("schedule", "fjsp", str(instances / "README.md")),
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("yunfab: README")


def _plan(instance: Instance, sequences: list[list[tuple[int, int]]]) -> tuple[Assignment, ...]:
    starts = tabu.starts(instance, sequences)
    return tuple(
        Assignment(
            j, o, m, starts[(j, o)], starts[(j, o)] + dict(instance.jobs[j][o].alternatives)[m]
        )
        for m, sequence in enumerate(sequences)
        for j, o in sequence
    )


@pytest.mark.parametrize(("folder", "name"), [("jobshop", "ft10"), ("fjsp", "mk10")])
def test_the_tabu_search_is_reproducible_with_a_seed(
    instances: Path, folder: str, name: str
) -> None:
    instance = load(instances / folder / f"{name}.txt", flexible=folder == "fjsp")
    start = _sequences(dispatch(instance), instance.machines)
    first = tabu.search(instance, start, deadline=math.inf, seed=5, iterations=3000)
    again = tabu.search(instance, start, deadline=math.inf, seed=5, iterations=3000)
    assert first == again
    best, sequences = first
    plan = _plan(instance, sequences)
    assert violations(instance, plan) == []
    assert max(a.end for a in plan) == best <= max(a.end for a in dispatch(instance))


def test_the_tabu_search_survives_operations_of_no_duration() -> None:
    # Zero durations make ties everywhere and let a move close a cycle: such moves are undone.
    rng = random.Random(11)
    jobs = tuple(
        tuple(
            Operation(tuple((m, rng.choice((0, 0, 1, 5))) for m in rng.sample(range(4), 2)))
            for _ in range(5)
        )
        for _ in range(6)
    )
    instance = Instance(name="zeros", machines=4, jobs=jobs)
    start = dispatch(instance)
    best, sequences = tabu.search(
        instance, _sequences(start, 4), deadline=math.inf, seed=1, iterations=5000
    )
    plan = _plan(instance, sequences)
    assert violations(instance, plan) == []
    assert max(a.end for a in plan) == best <= max(a.end for a in start)


def test_a_search_takes_over_a_better_schedule_handed_to_it(instances: Path) -> None:
    instance = load(instances / "jobshop" / "ft10.txt", flexible=False)
    worse = _sequences(greedy(instance), instance.machines)
    search = tabu.Search(instance, worse, seed=0)
    better_best, better = tabu.search(instance, worse, deadline=math.inf, seed=2, iterations=4000)
    assert better_best < search.best
    search.adopt(better)
    assert search.best == better_best
    search.run(500)
    assert search.best <= better_best
    assert violations(instance, _plan(instance, search.best_sequences())) == []


def test_a_large_shop_runs_a_search_on_every_worker_and_stays_valid() -> None:
    # From SEARCH_ONLY_FROM operations on, both workers run a tabu search (no CP-SAT).
    rng = random.Random(3)
    jobs = tuple(
        tuple(Operation(((m, rng.randint(1, 99)),)) for m in rng.sample(range(20), 20))
        for _ in range(20)
    )
    instance = Instance(name="large", machines=20, jobs=jobs)
    assert instance.operations >= jobshop.SEARCH_ONLY_FROM
    result = solve(instance, time_limit_s=2, workers=2)
    assert result.makespan is not None
    assert violations(instance, result.assignments) == []
    assert result.lower_bound <= result.makespan < max(a.end for a in dispatch(instance))
