"""Factory shop scheduling: optima worked out by hand or by brute force, every plan checked by
`violations` (not by the solver), rush orders, what-if scenarios and Gantt charts."""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import replace
from typing import Any

import pytest

from solvers.scheduling.gantt import gantt_json, render
from solvers.scheduling.shop import (
    Job,
    Machine,
    Objective,
    Operation,
    Problem,
    ShopError,
    ShopPlan,
    Task,
    add_job,
    compare,
    greedy,
    insert_rush,
    schedule,
    violations,
)

# Small solves on a shared machine: one worker, a few seconds at most.
FAST: dict[str, Any] = {"time_limit_s": 5.0, "workers": 1}
MAKESPAN_ONLY = Objective(lateness=0.0, makespan=1.0)


def job(id: str, *options: dict[str, int], **fields) -> Job:
    return Job(id, tuple(Operation(o) for o in options), **fields)


def solve_checked(problem: Problem, objective: Objective | None = None, **kwargs) -> ShopPlan:
    plan = schedule(problem, objective or Objective(), **{**FAST, **kwargs})
    assert plan.feasible, plan.status
    assert violations(problem, plan) == []
    return plan


# ---------------------------------------------------------------------------------------------
# Known optima


def test_two_jobs_two_machines_optimum_is_the_busier_machine() -> None:
    # Machine A carries 3 + 4 = 7 minutes; J1 on A first and J2 on B first meet that bound.
    problem = Problem(
        (Machine("A"), Machine("B")),
        (job("J1", {"A": 3}, {"B": 2}), job("J2", {"B": 2}, {"A": 4})),
    )
    plan = solve_checked(problem, MAKESPAN_ONLY)
    assert (plan.status, plan.makespan, plan.objective, plan.bound) == ("optimal", 7, 7.0, 7.0)


def test_flexible_work_cannot_be_split_across_machines() -> None:
    # 10 minutes over two machines would be 5 each, but one machine gets two jobs: 4+3 or 3+3.
    problem = Problem(
        (Machine("A"), Machine("B")),
        (job("a", {"A": 4, "B": 4}), job("b", {"A": 3, "B": 3}), job("c", {"A": 3, "B": 3})),
    )
    plan = solve_checked(problem, MAKESPAN_ONLY)
    assert (plan.status, plan.makespan) == ("optimal", 6)
    machine_of = {t.job: t.machine for t in plan.tasks}
    assert machine_of["b"] == machine_of["c"] != machine_of["a"]


def test_weighted_lateness_optimum_worked_out_by_hand() -> None:
    # One machine, always 9 minutes of work. b first (weight 5, due 2), then a (2 late), then c:
    # 1 * 2 + 0.1 * 9 = 2.9. Putting a first would cost b 3 minutes at weight 5.
    problem = Problem(
        (Machine("M"),),
        (
            job("a", {"M": 3}, due=3),
            job("b", {"M": 2}, due=2, weight=5.0),
            job("c", {"M": 4}, due=10),
        ),
    )
    plan = solve_checked(problem)
    assert plan.status == "optimal"
    assert plan.objective == pytest.approx(2.9)
    assert plan.bound == pytest.approx(2.9)
    assert plan.lateness == {"a": 2, "b": 0, "c": 0}
    assert plan.weighted_lateness == pytest.approx(2.0)
    assert [t.job for t in plan.tasks] == ["b", "a", "c"]


def test_release_delays_the_start_and_lateness_is_counted_from_the_due_date() -> None:
    problem = Problem(
        (Machine("M"),),
        (job("early", {"M": 4}, due=20), job("late", {"M": 6}, release=10, due=12, weight=2.0)),
    )
    plan = solve_checked(problem)
    ends = plan.job_ends()
    start_of = {t.job: t.start for t in plan.tasks}
    assert start_of["late"] == 10
    assert ends["late"] == 16
    assert plan.lateness == {"early": 0, "late": 4}
    assert plan.weighted_lateness == pytest.approx(8.0)
    assert plan.objective == pytest.approx(8.0 + 0.1 * 16)


def test_setup_between_families_forces_a_gap_and_groups_the_families() -> None:
    # X X Y needs one 10-minute change; any other order needs two.
    problem = Problem(
        (Machine("M"),),
        (
            job("x1", {"M": 2}, family="X"),
            job("y", {"M": 2}, family="Y"),
            job("x2", {"M": 2}, family="X"),
        ),
        setups={("X", "Y"): 10, ("Y", "X"): 10},
    )
    plan = solve_checked(problem, MAKESPAN_ONLY)
    assert (plan.status, plan.makespan) == ("optimal", 16)
    tasks = sorted(plan.tasks, key=lambda t: t.start)
    assert [t.job for t in tasks][-1] == "y"
    assert (tasks[-1].setup, tasks[-1].start - tasks[-2].end) == (10, 10)
    # The checker sees a plan that skips the changeover.
    squeezed = replace(tasks[-1], start=tasks[-2].end, end=tasks[-2].end + 2, setup=0)
    broken = replace(plan, tasks=[*tasks[:-1], squeezed], makespan=squeezed.end)
    assert any("family change needs 10" in v for v in violations(problem, broken))


def test_shifts_and_downtime_keep_operations_whole() -> None:
    # Working 0-8 and 10-20, down 12-14: one 5-minute job fits before the break, the other only
    # after the downtime (10-12 is too short), so 14-19.
    problem = Problem(
        (Machine("M", shifts=((0, 8), (10, 20)), downtime=((12, 14),)),),
        (job("a", {"M": 5}), job("b", {"M": 5})),
    )
    plan = solve_checked(problem, MAKESPAN_ONLY)
    assert (plan.status, plan.makespan) == ("optimal", 19)
    assert max(t.start for t in plan.tasks) == 14
    assert min(t.end for t in plan.tasks) <= 8


def test_setup_must_also_fall_inside_a_working_window() -> None:
    # y needs a 3-minute changeover after x; the shift break 5-10 cannot host it, so y starts
    # at 13 (setup 10-13), not at 10.
    problem = Problem(
        (Machine("M", shifts=((0, 5), (10, 30))),),
        (job("x", {"M": 5}, family="X"), job("y", {"M": 4}, family="Y", release=6)),
        setups={("X", "Y"): 3},
    )
    plan = solve_checked(problem, MAKESPAN_ONLY)
    assert plan.status == "optimal"
    y = next(t for t in plan.tasks if t.job == "y")
    assert (y.start, y.setup) == (13, 3)


def _brute_force_single_machine(problem: Problem, objective: Objective) -> float:
    """Every order on one machine, each job as early as the order allows: the best objective."""
    machine = problem.machines[0]
    shifts = machine.shifts or ((0, 10**6),)
    free: list[tuple[int, int]] = []
    for a, b in shifts:
        pieces = [(a, b)]
        for d0, d1 in machine.downtime:
            pieces = [
                part
                for x, y in pieces
                for part in ((x, min(y, d0)), (max(x, d1), y))
                if part[0] < part[1]
            ]
        free += pieces
    best = float("inf")
    for order in itertools.permutations(problem.jobs):
        time, family, cost, end = 0, None, 0.0, 0
        for j in order:
            minutes = j.operations[0].options[machine.id]
            setup = 0 if family is None else problem.setups.get((family, j.family), 0)
            earliest = max(time, j.release - setup)
            occupied = next(
                max(a, earliest) for a, b in sorted(free) if max(a, earliest) + setup + minutes <= b
            )
            end = occupied + setup + minutes
            if j.due is not None:
                cost += objective.lateness * j.weight * max(0, end - j.due)
            time, family = end, j.family
        best = min(best, cost + objective.makespan * end)
    return best


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_single_machine_optimum_matches_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    families = "ABC"
    releases = [rng.randint(0, 15) for _ in range(5)]
    jobs = tuple(
        job(
            f"j{i}",
            {"M": rng.randint(2, 9)},
            release=release,
            due=release + rng.randint(5, 25),
            weight=float(rng.randint(1, 3)),
            family=rng.choice(families),
        )
        for i, release in enumerate(releases)
    )
    setups = {(a, b): rng.randint(1, 6) for a in families for b in families if a != b}
    machine = Machine("M", shifts=((0, 25), (30, 300)), downtime=((rng.randint(5, 20), 22),))
    problem = Problem((machine,), jobs, setups=setups)
    plan = solve_checked(problem)
    assert plan.status == "optimal"
    assert plan.objective == pytest.approx(_brute_force_single_machine(problem, Objective()))


# ---------------------------------------------------------------------------------------------
# Every hard rule, on generated shops


def random_shop(seed: int, jobs: int = 5) -> Problem:
    rng = random.Random(seed)
    machines = (
        Machine("M1", shifts=((0, 45), (55, 400))),
        Machine("M2", downtime=((rng.randint(5, 30), 40),)),
        Machine("M3", shifts=((0, 30), (35, 70), (80, 400)), downtime=((90, 95),)),
    )
    ids = [m.id for m in machines]
    made = []
    for i in range(jobs):
        operations = []
        for _ in range(rng.randint(2, 3)):
            options = rng.sample(ids, rng.randint(1, 2))
            operations.append({m: rng.randint(3, 12) for m in options})
        made.append(
            job(
                f"J{i}",
                *operations,
                release=(release := rng.randint(0, 20)),
                due=release + rng.randint(10, 45),
                weight=float(rng.randint(1, 4)),
                family=rng.choice("PQ"),
            )
        )
    return Problem(machines, tuple(made), setups={("P", "Q"): 4, ("Q", "P"): 2, ("Q", "Q"): 1})


@pytest.mark.parametrize("seed", [7, 8, 9])
def test_solver_and_greedy_plans_obey_every_hard_rule(seed: int) -> None:
    problem = random_shop(seed)
    fallback = greedy(problem)
    assert fallback.status == "feasible"
    assert violations(problem, fallback) == []
    plan = schedule(problem, time_limit_s=2.0, workers=1)
    assert plan.feasible
    assert violations(problem, plan) == []
    assert plan.objective is not None
    assert fallback.objective is not None
    assert plan.bound is not None
    assert plan.bound <= plan.objective + 1e-6
    assert plan.objective <= fallback.objective + 1e-6
    assert {(t.job, t.operation) for t in plan.tasks} == {
        (j.id, k) for j in problem.jobs for k in range(len(j.operations))
    }


def test_a_horizon_too_short_is_reported_infeasible() -> None:
    problem = Problem((Machine("M"),), (job("a", {"M": 5}), job("b", {"M": 5})), horizon=9)
    plan = schedule(problem, **FAST)
    assert (plan.status, plan.tasks, plan.makespan) == ("infeasible", [], None)


# ---------------------------------------------------------------------------------------------
# Rush orders and scenarios


def rush_shop() -> Problem:
    machines = (Machine("M1"), Machine("M2"), Machine("M3"))
    jobs = tuple(
        job(
            f"J{i}",
            {"M1": 6 + i % 3, "M2": 8},
            {"M2": 5 + i % 2, "M3": 5},
            {"M3": 4, "M1": 6},
            due=40 + 5 * i,
        )
        for i in range(6)
    )
    return Problem(machines, jobs)


@pytest.fixture(scope="module")
def rush_case() -> tuple[Problem, ShopPlan, Job, int]:
    problem = rush_shop()
    plan = solve_checked(problem)
    assert plan.status == "optimal"
    now = 10
    # 10 minutes of work due 20 minutes from now, while every machine is busy.
    rush = job("R", {"M1": 5}, {"M2": 5}, due=now + 20, weight=50.0)
    return problem, plan, rush, now


def test_rush_order_meets_its_due_date_and_leaves_started_work_alone(
    rush_case: tuple[Problem, ShopPlan, Job, int],
) -> None:
    problem, plan, rush, now = rush_case
    replanned = insert_rush(problem, plan, rush, now=now, **FAST)
    with_rush = add_job(problem, rush)
    assert replanned.status == "optimal"
    assert violations(with_rush, replanned) == []
    assert replanned.lateness["R"] == 0
    assert all(t.start >= now for t in replanned.tasks if t.job == "R")

    started = [t for t in plan.tasks if t.start - t.setup < now]
    assert started
    assert sorted(replanned.pinned, key=lambda t: t.key) == sorted(started, key=lambda t: t.key)
    assert set(started) <= set(replanned.tasks)
    assert all(t.start - t.setup >= now for t in replanned.tasks if t not in started)

    # Something had to give way, but less than a replan that ignores the old plan.
    before = {t.key: (t.machine, t.start) for t in plan.tasks}
    moved = sorted(
        t.key
        for t in replanned.tasks
        if before.get(t.key, (t.machine, t.start)) != (t.machine, t.start)
    )
    assert sorted(replanned.changed) == moved
    assert 1 <= len(moved)
    scratch = schedule(with_rush, Objective(changes=0.0), baseline=plan, frozen_before=now, **FAST)
    assert scratch.status == "optimal"
    assert violations(with_rush, scratch) == []
    assert len(replanned.changed) < len(scratch.changed)
    assert replanned.weighted_lateness is not None
    assert replanned.makespan is not None
    assert replanned.objective == pytest.approx(
        replanned.weighted_lateness + 0.1 * replanned.makespan + 10.0 * len(replanned.changed)
    )


def test_compare_puts_scenarios_side_by_side(
    rush_case: tuple[Problem, ShopPlan, Job, int],
) -> None:
    problem, plan, rush, now = rush_case
    replanned = insert_rush(problem, plan, rush, now=now, **FAST)
    # What if M2 breaks down for an hour from the start instead?
    broken_m2 = replace(
        problem,
        machines=tuple(
            replace(m, downtime=((0, 60),)) if m.id == "M2" else m for m in problem.machines
        ),
    )
    breakdown = solve_checked(broken_m2)
    table: Any = compare({"plan": plan, "rush": replanned, "M2 down": breakdown})

    rows = {row["name"]: row for row in table["scenarios"]}
    assert list(rows) == ["plan", "rush", "M2 down"]
    assert rows["plan"]["makespan"] == plan.makespan
    assert rows["rush"]["changes"] == len(replanned.changed)
    assert rows["M2 down"]["status"] == "optimal"
    assert rows["M2 down"]["weighted_lateness"] == breakdown.weighted_lateness
    assert rows["M2 down"]["late_jobs"] == sorted(
        j for j, late in breakdown.lateness.items() if late > 0
    )
    assert all(t.machine != "M2" or t.start >= 60 for t in breakdown.tasks)

    jobs = {row["id"]: row for row in table["jobs"]}
    assert set(jobs) == {j.id for j in problem.jobs} | {"R"}
    assert jobs["R"]["end"]["plan"] is None
    assert jobs["R"]["lateness"]["rush"] == 0
    assert jobs["J0"]["end"] == {
        "plan": plan.job_ends()["J0"],
        "rush": replanned.job_ends()["J0"],
        "M2 down": breakdown.job_ends()["J0"],
    }
    assert table["best"]["makespan"] == ["plan"]


# ---------------------------------------------------------------------------------------------
# The checker and bad input


def hand_problem(**changes) -> Problem:
    problem = Problem(
        (Machine("M1", shifts=((0, 40), (50, 100))), Machine("M2", downtime=((10, 15),))),
        (
            job("A", {"M1": 5}, {"M2": 4, "M1": 6}, due=30, family="X"),
            job("B", {"M1": 6}, release=2, due=20, family="Y"),
            job("C", {"M2": 5}, family="X"),
        ),
        setups={("X", "Y"): 3, ("Y", "X"): 3},
    )
    return replace(problem, **changes)


A0 = Task("A", 0, "M1", 0, 5)
B0 = Task("B", 0, "M1", 8, 14, setup=3)
A1 = Task("A", 1, "M2", 5, 9)
C0 = Task("C", 0, "M2", 15, 20)


def hand_plan(*tasks: Task, **changes) -> ShopPlan:
    plan = ShopPlan(
        status="feasible",
        objective=2.0,
        bound=None,
        makespan=20,
        weighted_lateness=0.0,
        lateness={"A": 0, "B": 0, "C": 0},
        tasks=list(tasks or (A0, B0, A1, C0)),
        solve_time_s=0.0,
    )
    return replace(plan, **changes)


def test_the_hand_made_plan_is_valid() -> None:
    assert violations(hand_problem(), hand_plan()) == []


@pytest.mark.parametrize(
    ("plan", "problem", "expected"),
    [
        (hand_plan(A0, replace(B0, start=5, end=11, setup=0), A1, C0), None, "needs 3"),
        (hand_plan(A0, replace(B0, start=6, end=12), A1, C0), None, "overlaps the task before"),
        (hand_plan(A0, B0, replace(A1, start=4, end=8), C0), None, "before operation 0 ends"),
        (hand_plan(A0, B0, A1, replace(C0, start=12, end=17)), None, "working window"),
        (hand_plan(A0, replace(B0, start=37, end=43), A1, C0), None, "working window"),
        (hand_plan(), hand_problem(horizon=18), "after the horizon 18"),
        (hand_plan(replace(A0, end=6), B0, A1, C0), None, "lasts 6 min"),
        (hand_plan(A0, B0, A1, replace(C0, machine="M1", start=60, end=65)), None, "options"),
        (hand_plan(A0, B0, A1), None, "job C operation 0 is not scheduled"),
        (hand_plan(A0, B0, A1, C0, A0), None, "scheduled twice"),
        (hand_plan(A0, B0, A1, C0, Task("Z", 0, "M1", 60, 61)), None, "not in the problem"),
        (hand_plan(makespan=19), None, "makespan 19"),
        (hand_plan(lateness={"A": 0, "B": 1, "C": 0}), None, "job B is 1 min late, it is 0"),
        (hand_plan(pinned=[replace(A0, start=1, end=6)], frozen_before=3), None, "was moved"),
        (hand_plan(frozen_before=6), None, "before 6"),
    ],
)
def test_violations_catch_a_hand_broken_plan(
    plan: ShopPlan, problem: Problem | None, expected: str
) -> None:
    found = violations(problem or hand_problem(), plan)
    assert any(expected in v for v in found), found


def test_violations_catch_a_start_before_release() -> None:
    a, b, c = hand_problem().jobs
    found = violations(hand_problem(jobs=(a, replace(b, release=9), c)), hand_plan())
    assert any("starts at 8, before release 9" in v for v in found), found


M = (Machine("M"),)


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        (Problem(M, (job("a", {"M9": 3}),)), "job a operation 0: unknown machine 'M9'"),
        (Problem(M, (job("a", {"M": 3}, {}),)), "job a operation 1 has no machine option"),
        (Problem(M, (job("a", {"M": -2}),)), "job a operation 0 on M: duration -2"),
        (Problem(M, (job("a", {"M": 3}, release=10, due=5),)), "due 5 is before its release"),
        (Problem(M, (job("a"),)), "job a has no operations"),
        (Problem(M, (job("a", {"M": 3}), job("a", {"M": 3}))), "job a is listed twice"),
        (Problem((*M, *M), (job("a", {"M": 3}),)), "machine M is listed twice"),
        (Problem(M, (job("a", {"M": 3}, weight=-1.0),)), "job a: weight"),
        (
            Problem((Machine("M", shifts=((0, 4), (10, 14))),), (job("a", {"M": 5}),)),
            "job a operation 0 fits no working window of its machines M (5 min)",
        ),
        (
            Problem((Machine("M", downtime=((5, 5),)),), (job("a", {"M": 5}),)),
            "machine M: downtime window (5, 5)",
        ),
        (
            Problem(M, (job("a", {"M": 3}, family="X"),), setups={("X", "Y"): -1}),
            "setup 'X' -> 'Y': negative minutes",
        ),
    ],
)
def test_bad_input_is_rejected_with_the_cause(problem: Problem, message: str) -> None:
    with pytest.raises(ShopError, match=re.escape(message)):
        schedule(problem, **FAST)


def test_bad_rush_input_is_rejected(rush_case: tuple[Problem, ShopPlan, Job, int]) -> None:
    problem, plan, _, now = rush_case
    with pytest.raises(ShopError, match="job J0 is already in the problem"):
        insert_rush(problem, plan, job("J0", {"M1": 3}), now=now, **FAST)
    with pytest.raises(ShopError, match="objective changes must be a finite number"):
        insert_rush(
            problem, plan, job("R", {"M1": 3}), now=now, objective=Objective(changes=-1), **FAST
        )
    # A machine that breaks down under work already running cannot keep that work.
    running = next(t for t in plan.tasks if t.start < now < t.end)
    down = replace(
        problem,
        machines=tuple(
            replace(m, downtime=((now, now + 30),)) if m.id == running.machine else m
            for m in problem.machines
        ),
    )
    with pytest.raises(ShopError, match="has started on .* and now overlaps"):
        insert_rush(down, plan, job("R", {"M1": 3}), now=now, **FAST)


# ---------------------------------------------------------------------------------------------
# Gantt charts and JSON


def test_gantt_json_lists_tasks_unavailable_time_and_jobs() -> None:
    problem = Problem(
        (Machine("M", "Press", shifts=((0, 8), (10, 40)), downtime=((12, 14),)), Machine("N")),
        (job("a", {"M": 5}, due=3), job("b", {"M": 5}, {"N": 2}, due=30)),
    )
    plan = solve_checked(problem)
    chart: Any = gantt_json(problem, plan)
    assert chart["makespan"] == plan.makespan
    press, other = chart["machines"]
    assert (press["id"], press["name"], other["name"]) == ("M", "Press", "N")
    assert press["unavailable"] == [
        {"start": 8, "end": 10, "kind": "off-shift"},
        {"start": 12, "end": 14, "kind": "downtime"},
    ]
    assert other["unavailable"] == []
    shown = [(t["job"], t["operation"]) for m in chart["machines"] for t in m["tasks"]]
    assert sorted(shown) == sorted(t.key for t in plan.tasks)
    first = next(t for t in press["tasks"] if t["job"] == "a")
    assert set(first) == {"job", "operation", "start", "end", "setup", "family", "late"}
    assert first["late"] is True  # a cannot be done by 3
    assert {j["id"]: j["lateness"] for j in chart["jobs"]} == plan.lateness
    assert chart["jobs"][0] == {"id": "a", "release": 0, "due": 3, "end": 5, "lateness": 2}


def test_render_exports_png_and_svg(rush_case: tuple[Problem, ShopPlan, Job, int]) -> None:
    problem, plan, _, _ = rush_case
    shifted = replace(
        problem,
        machines=(
            replace(problem.machines[0], shifts=((0, 100),), downtime=((40, 45),)),
            *problem.machines[1:],
        ),
    )
    png = render(shifted, plan, "png", title="week 12")
    assert png.startswith(b"\x89PNG")
    svg = render(shifted, plan, "svg")
    assert b"<svg" in svg
    with pytest.raises(ValueError, match="png or svg"):
        render(shifted, plan, "gif")  # type: ignore[arg-type]


def test_plan_as_json_is_plain_data(rush_case: tuple[Problem, ShopPlan, Job, int]) -> None:
    _, plan, _, _ = rush_case
    data: Any = plan.as_json()
    assert data["status"] == "optimal"
    assert data["makespan"] == plan.makespan
    tasks = data["tasks"]
    assert isinstance(tasks, list)
    assert len(tasks) == len(plan.tasks)
    assert set(tasks[0]) == {"job", "operation", "machine", "start", "end", "setup"}
