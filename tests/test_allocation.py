"""Cloud-factory allocation: hard constraints hold (checked without the solver), infeasible
orders name their cause with a code, the plan spreads each process as asked, an explanation says
why, and a re-plan after a breakdown keeps the past and moves little."""

from __future__ import annotations

import json

import pytest

from solvers.allocation.explain import explain
from solvers.allocation.instances import most_loaded, seeded, with_breakdown
from solvers.allocation.model import (
    AllocationError,
    Factory,
    Order,
    Step,
    Weights,
    diagnose,
    hard_violations,
    plan,
    replan,
    replan_effect,
    required_units,
    target_misses,
)


def test_a_seeded_order_is_planned_within_every_hard_constraint() -> None:
    steps, factories, order = seeded(3, processes=6, factories=20, days=12)
    order = Order(quantity=60_000, days=12, daily_target=8_000, ramp_days=2)
    weights = Weights()
    result = plan(steps, factories, order, weights, time_limit_s=20)
    assert result.status in ("optimal", "feasible")
    assert hard_violations(steps, factories, order, weights, result) == []
    assert result.lp_bound <= result.objective * (1 + 1e-6)
    # Each process is spread: no factory above the cap, at least two factories.
    needed = required_units(steps, order.quantity)
    for step in steps:
        shares: dict[str, float] = {}
        for (sid, fid, _), units in result.units.items():
            if sid == step.id:
                shares[fid] = shares.get(fid, 0.0) + units
        assert len(shares) >= 2
        assert max(shares.values()) <= 0.4 * needed[step.id] * 1.0001


def test_precedence_lag_and_yield_are_respected() -> None:
    # Two steps, the second one day behind the first; 10% of the first step's output is lost.
    steps = [
        Step("cut", hours_per_unit=0.01, equipment="press", yield_=0.9),
        Step("paint", hours_per_unit=0.01, equipment="line", after=("cut",), lag_days=1),
    ]
    factories = [
        Factory(f"f{i}", frozenset({"press", "line"}), frozenset(), (10.0,) * 5, 40.0 + i)
        for i in range(3)
    ]
    order = Order(quantity=2000, days=5, daily_target=400, ramp_days=1)
    result = plan(steps, factories, order, Weights(min_factories=2, max_share=0.5))
    assert (
        hard_violations(steps, factories, order, Weights(min_factories=2, max_share=0.5), result)
        == []
    )
    painted_day0 = sum(u for (s, _, d), u in result.units.items() if s == "paint" and d == 0)
    assert painted_day0 == pytest.approx(0.0, abs=1e-6)
    assert required_units(steps, 2000)["cut"] == pytest.approx(2000 / 0.9)


def test_an_order_nobody_can_make_names_the_missing_capability() -> None:
    steps = [Step("anodise", hours_per_unit=0.01, equipment="anodising-tank")]
    factories = [Factory("f0", frozenset({"press"}), frozenset(), (8.0,) * 3, 40.0)]
    with pytest.raises(
        AllocationError, match="no factory can do step anodise: it needs anodising-tank"
    ):
        plan(steps, factories, Order(quantity=100, days=3, daily_target=50))


def test_cycles_and_unknown_steps_are_refused() -> None:
    with pytest.raises(AllocationError, match="cycle"):
        required_units([Step("a", 0.1, "x", after=("b",)), Step("b", 0.1, "x", after=("a",))], 10)
    with pytest.raises(AllocationError, match="unknown step z") as caught:
        required_units([Step("a", 0.1, "x", after=("z",))], 10)
    assert caught.value.code == "INVALID_ROUTING"


def test_a_short_capacity_is_reported_as_shortfall_not_hidden() -> None:
    steps = [Step("mould", hours_per_unit=0.1, equipment="imm")]
    factories = [
        Factory(f"f{i}", frozenset({"imm"}), frozenset(), (8.0,) * 4, 40.0) for i in range(2)
    ]
    # Two factories make 80 a day each at most (160); the order wants 300 a day.
    order = Order(quantity=1200, days=4, daily_target=300)
    result = plan(steps, factories, order, Weights(max_share=0.6))
    assert hard_violations(steps, factories, order, Weights(max_share=0.6), result) == []
    assert sum(result.shortfall.values()) > 0
    assert result.weak_points  # losing either factory leaves the process short
    # The explanation says the same, with the numbers: 80 a day left against 300 needed.
    risk = {
        w.factory: w for w in explain(steps, factories, order, Weights(max_share=0.6), result).risk
    }
    assert set(risk) == {"f0", "f1"}
    assert risk["f0"].capacity_left_per_day == pytest.approx(80.0)
    assert risk["f0"].shortfall_per_day == pytest.approx(220.0)


def test_taking_part_means_making_something() -> None:
    # Two factories, one much dearer: the minimum of two factories is met by both making
    # some of the step, not by the dear one standing idle.
    steps = [Step("mould", hours_per_unit=1.0, equipment="imm")]
    factories = [
        Factory("cheap", frozenset({"imm"}), frozenset(), (100.0,) * 3, 10.0),
        Factory("dear", frozenset({"imm"}), frozenset(), (100.0,) * 3, 90.0),
    ]
    order = Order(quantity=300, days=3, daily_target=100)
    weights = Weights(max_share=1.0, min_factories=2)
    result = plan(steps, factories, order, weights)
    assert hard_violations(steps, factories, order, weights, result) == []
    makers = {fid for (_, fid, _), units in result.units.items() if units > 0}
    assert makers == {"cheap", "dear"}


def test_what_cannot_be_made_is_reported_once() -> None:
    steps = [Step("mould", hours_per_unit=1.0, equipment="imm")]
    factories = [Factory("only", frozenset({"imm"}), frozenset(), (100.0,) * 3, 10.0)]
    order = Order(quantity=1000, days=3, daily_target=100)
    result = plan(steps, factories, order, Weights())
    # One eligible factory: the share cap gives way (it may make everything it can).
    assert sum(result.units.values()) == pytest.approx(300)
    assert result.missing == {"mould": pytest.approx(700)}
    # Priced once: 700 missing at 1000, 300 made at 10, and the lone factory is a single point
    # of failure for the 100-a-day target (50 per unit short). Nothing is behind on days 1-2.
    assert result.objective == pytest.approx(700 * 1000 + 300 * 10 + 50 * 100, rel=1e-3)
    assert result.shortfall == {}


def test_nonsense_steps_are_refused() -> None:
    factories = [Factory("f", frozenset({"imm"}), frozenset(), (8.0,), 10.0)]
    order = Order(quantity=10, days=1, daily_target=10)
    with pytest.raises(AllocationError, match="hours per unit must be positive"):
        plan([Step("a", 0.0, "imm")], factories, order)
    with pytest.raises(AllocationError, match="yield must be in"):
        plan([Step("a", 0.1, "imm", yield_=0.0)], factories, order)


# --- Explanations ------------------------------------------------------------------------------


def _one_step(*plants: tuple[str, float, float]) -> tuple[list[Step], list[Factory]]:
    """One moulding step, 4 days; plants are (id, hours a day, cost per hour)."""
    steps = [Step("mould", hours_per_unit=0.1, equipment="imm")]
    factories = [
        Factory(fid, frozenset({"imm"}), frozenset(), (hours,) * 4, cost)
        for fid, hours, cost in plants
    ]
    return steps, factories


def test_the_explanation_names_the_cheapest_factory_the_binding_capacity_and_the_gap() -> None:
    steps, factories = _one_step(
        ("cheap", 5.0, 20.0), ("mid", 8.0, 30.0), ("dear", 8.0, 60.0),
        ("idle", 0.0, 10.0), ("dearest", 8.0, 90.0),
    )  # fmt: skip
    order = Order(quantity=600, days=4, daily_target=150)
    weights = Weights(max_share=0.5)
    result = plan(steps, factories, order, weights)
    why = explain(steps, factories, order, weights, result)

    step = why.steps[0]
    cheapest = step.used[0]
    assert cheapest.factory == "cheap"
    assert cheapest.cost_rank == 1
    assert cheapest.reason == "cheapest eligible at 2/unit; capacity full on 4 of 4 days"
    assert cheapest.hours_used == pytest.approx(20.0)
    assert cheapest.hours_available == 20.0
    # The cheapest factory is full every day: a binding capacity, summarised per factory.
    capacity = {c.factory: c for c in why.binding.capacity}
    assert capacity["cheap"].full_days == [0, 1, 2, 3]
    assert capacity["cheap"].steps == ["mould"]
    # The next one takes up to its share cap (half the step), the dear one the rest.
    assert [(c.factory, c.cap_units) for c in why.binding.share_caps] == [("mid", 300.0)]
    assert "at its share cap (50% of the step)" in step.used[1].reason
    unused = {u.factory: u.reason for u in step.unused}
    assert unused == {
        "idle": "no capacity in window (days 1-4)",
        "dearest": "costlier than the 3 used (9/unit, the dearest used 6)",
    }
    assert why.optimality.gap == result.gap
    assert why.optimality.bound == result.lp_bound
    assert why.optimality.gap == pytest.approx(0.0, abs=0.01)
    assert "gap 0.00%" in why.summary[0]
    # Risk left: without mid or dear the other makers give 130 a day against a need of 150.
    risk = {(w.step, w.factory): w for w in why.risk}
    assert set(risk) == {("mould", "mid"), ("mould", "dear")}
    assert risk[("mould", "mid")].capacity_left_per_day == pytest.approx(130.0)
    assert risk[("mould", "mid")].shortfall_per_day == pytest.approx(20.0)
    data = json.loads(json.dumps(why.as_json()))
    assert data["steps"][0]["used"][0]["factory"] == "cheap"


def test_a_capacity_short_order_is_planned_and_its_limit_named() -> None:
    steps = [Step("mould", hours_per_unit=1.0, equipment="imm")]
    factories = [Factory("only", frozenset({"imm"}), frozenset(), (100.0,) * 3, 10.0)]
    order = Order(quantity=1000, days=3, daily_target=100)
    diagnosis = diagnose(steps, factories, order)
    assert diagnosis.max_quantity == pytest.approx(300)
    result = plan(steps, factories, order, Weights())
    assert result.missing == {"mould": pytest.approx(700)}
    why = explain(steps, factories, order, Weights(), result)
    [limit] = why.binding.step_capacity
    assert (limit.step, limit.max_units, limit.max_quantity) == ("mould", 300, 300)
    assert why.max_quantity == pytest.approx(300)
    assert why.made_quantity == pytest.approx(300)
    assert any("mould's capacity binds" in line and "at most 300" in line for line in why.summary)
    assert why.binding.missing == {"mould": pytest.approx(700)}


def test_precedence_that_holds_a_step_back_is_reported() -> None:
    steps = [
        Step("cut", hours_per_unit=0.01, equipment="press", yield_=0.9),
        Step("paint", hours_per_unit=0.01, equipment="line", after=("cut",), lag_days=1),
    ]
    factories = [
        Factory(f"f{i}", frozenset({"press", "line"}), frozenset(), (10.0,) * 5, 40.0 + i)
        for i in range(3)
    ]
    order = Order(quantity=2000, days=5, daily_target=400, ramp_days=1)
    weights = Weights(min_factories=2, max_share=0.5)
    why = explain(steps, factories, order, weights, plan(steps, factories, order, weights))
    [held] = why.binding.precedence
    assert (held.step, held.before, held.lag_days) == ("paint", "cut", 1)
    assert 0 in held.days  # nothing cut yet on the first day
    assert why.steps[1].window == (1, 4)


# --- Re-planning -------------------------------------------------------------------------------


def _two_steps(cut_hours: float, line_hours: float) -> tuple[list[Step], list[Factory]]:
    steps = [
        Step("cut", hours_per_unit=0.01, equipment="press", yield_=0.95),
        Step("paint", hours_per_unit=0.01, equipment="line", after=("cut",), lag_days=1),
    ]
    plants = [("f0", "press", 30.0), ("f1", "press", 34.0), ("f2", "press", 38.0)]
    plants += [("f3", "line", 31.0), ("f4", "line", 36.0), ("f5", "line", 40.0)]
    factories = [
        Factory(
            fid,
            frozenset({kind}),
            frozenset(),
            (cut_hours if kind == "press" else line_hours,) * 8,
            cost,
        )
        for fid, kind, cost in plants
    ]
    return steps, factories


def test_a_replan_keeps_the_past_and_moves_less_than_planning_afresh() -> None:
    steps, factories = _two_steps(cut_hours=8.0, line_hours=8.0)
    order = Order(quantity=8000, days=8, daily_target=1300, ramp_days=1)
    weights = Weights()
    before = plan(steps, factories, order, weights)
    failed, today = most_loaded(steps, before), 3
    changed = with_breakdown(factories, failed, first_day=today, days=3)
    # What was made: as planned, except that painting fell 10% short on day 3.
    done = {k: v * (0.9 if k[0] == "paint" and k[2] == 2 else 1.0) for k, v in before.units.items()}
    done = {k: v for k, v in done.items() if k[2] < today}

    outcome = replan(steps, changed, order, weights, before, today=today, done=done)
    after = outcome.plan
    assert {k: v for k, v in after.units.items() if k[2] < today} == done
    assert not any(fid == failed and 3 <= d < 6 for (_, fid, d) in after.units)
    assert after.today == today
    assert hard_violations(steps, changed, order, weights, after) == []
    afresh = plan(steps, changed, order, weights)
    assert (
        outcome.effect.units_moved
        < replan_effect(steps, order, before, afresh, today=today).units_moved
    )
    # Day 3's short painting is now behind the target, and said so.
    assert outcome.effect.newly_missed[2] == pytest.approx(130.0)
    assert outcome.effect.missed_days_before == {}
    moved = {(c.step, c.factory): c for c in outcome.effect.changes}
    assert moved[("cut", failed)].removed > 0
    stored = json.loads(json.dumps(outcome.as_json()))
    assert stored["units_moved"] == pytest.approx(outcome.effect.units_moved)
    assert stored["missed_days"]["2"] == pytest.approx(130.0)


def test_a_replan_reports_the_days_a_breakdown_costs() -> None:
    steps, factories = _two_steps(cut_hours=6.0, line_hours=8.0)
    order = Order(quantity=9000, days=8, daily_target=1500, ramp_days=1)
    weights = Weights()
    before = plan(steps, factories, order, weights)
    assert target_misses(steps, order, before.units) == {}
    failed = most_loaded(steps, before)
    changed = with_breakdown(factories, failed, first_day=3, days=3)

    outcome = replan(steps, changed, order, weights, before, today=3)
    effect = outcome.effect
    assert hard_violations(steps, changed, order, weights, outcome.plan) == []
    # Cutting loses capacity for three days from day 3: painting, a day behind it, falls
    # behind the target a day or two later.
    assert effect.missed_days_before == {}
    assert set(effect.newly_missed) == set(effect.missed_days)
    first = min(effect.missed_days)
    assert first in (4, 5)
    assert sum(effect.output_after[: first + 1]) < sum(effect.output_before[: first + 1])
    assert effect.output_after[:3] == pytest.approx(effect.output_before[:3])
    assert sum(effect.output_after) == pytest.approx(order.quantity)  # caught up by the end
    why = explain(steps, changed, order, weights, outcome.plan)
    assert why.binding.target_shortfall == pytest.approx(effect.missed_days)


def test_a_replan_without_the_factory_keeps_what_it_made() -> None:
    steps, factories = _two_steps(cut_hours=8.0, line_hours=8.0)
    order = Order(quantity=8000, days=8, daily_target=1300, ramp_days=1)
    weights = Weights()
    before = plan(steps, factories, order, weights)
    failed = most_loaded(steps, before)
    remaining = [f for f in factories if f.id != failed]
    outcome = replan(steps, remaining, order, weights, before, today=4)
    past = {k: v for k, v in before.units.items() if k[2] < 4}
    assert {k: v for k, v in outcome.plan.units.items() if k[2] < 4} == past
    assert any(fid == failed for (_, fid, _) in past)
    assert not any(fid == failed and d >= 4 for (_, fid, d) in outcome.plan.units)
    assert hard_violations(steps, remaining, order, weights, outcome.plan) == []
    # What the gone factory made still counts; it is no longer among the makers.
    why = explain(steps, remaining, order, weights, outcome.plan)
    cut = why.steps[0]
    made = sum(u for (sid, _, _), u in outcome.plan.units.items() if sid == "cut")
    assert cut.made_units == pytest.approx(made)
    assert failed not in {u.factory for u in cut.used}


def test_what_was_made_may_beat_the_planned_yield_but_not_its_inputs() -> None:
    steps, factories = _two_steps(cut_hours=8.0, line_hours=8.0)
    order = Order(quantity=8000, days=8, daily_target=1300, ramp_days=1)
    weights = Weights()
    before = plan(steps, factories, order, weights)
    # Cutting's yield is planned at 95%, but on day 2 painting used every unit cut on day 1.
    done = {("cut", "f0", 0): 1000.0, ("paint", "f3", 1): 1000.0}
    outcome = replan(steps, factories, order, weights, before, today=2, done=done)
    assert hard_violations(steps, factories, order, weights, outcome.plan) == []
    # From today on painting keeps that lead of 50 units and takes no more.
    painted = sum(u for (sid, _, d), u in outcome.plan.units.items() if sid == "paint" and d <= 2)
    cut = sum(u for (sid, _, d), u in outcome.plan.units.items() if sid == "cut" and d <= 1)
    assert painted <= 0.95 * cut + 50 + 1e-3
    # Painting more than was cut at all is no yield: the progress is refused.
    with pytest.raises(
        AllocationError, match="paint made 1001 by day 2, more than the 1000"
    ) as caught:
        replan(
            steps, factories, order, weights, before, today=2,
            done={("cut", "f0", 0): 1000.0, ("paint", "f3", 1): 1001.0},
        )  # fmt: skip
    assert caught.value.code == "INVALID_PROGRESS"
    with pytest.raises(AllocationError, match="before anything from cut could arrive") as caught:
        replan(
            steps, factories, order, Weights(), before, today=2,
            done={("paint", "f3", 0): 500.0},
        )  # fmt: skip
    assert caught.value.code == "INVALID_PROGRESS"
    with pytest.raises(AllocationError) as caught:
        replan(steps, factories, order, Weights(), before, today=8)
    assert caught.value.code == "INVALID_PROGRESS"


# --- Refusals, each with the constraint that makes it so ---------------------------------------


def _press(hours: tuple[float, ...] = (8.0,) * 3, fid: str = "f0") -> Factory:
    return Factory(fid, frozenset({"press", "line"}), frozenset(), hours, 40.0)


def test_an_order_due_before_its_lags_allow_names_the_chain() -> None:
    steps = [
        Step("a", 0.01, "press"),
        Step("b", 0.01, "press", after=("a",), lag_days=1),
        Step("side", 0.01, "press"),
        Step("c", 0.01, "line", after=("b", "side"), lag_days=2),
    ]
    order = Order(quantity=100, days=3, daily_target=50)
    with pytest.raises(AllocationError, match="routing a -> b -> c carries 3 days") as caught:
        plan(steps, [_press()], order)
    assert caught.value.code == "DUE_DATE_TOO_SOON"
    assert caught.value.extra["chain"] == ["a", "b", "c"]
    # One more day is enough: the last step works on day 4 (lags are the only delay).
    longer = Order(quantity=100, days=4, daily_target=25)
    result = plan(steps, [_press((8.0,) * 4), _press((8.0,) * 4, "f1")], longer)
    assert {d for (s, _, d) in result.units if s == "c"} == {3}
    assert result.missing == {}


@pytest.mark.parametrize(
    ("steps", "factories", "order", "code", "message"),
    [
        (
            [Step("anodise", 0.01, "anodising-tank", skills=frozenset({"hard"}))],
            [_press()],
            Order(100, 3, 50),
            "NO_ELIGIBLE_FACTORY",
            "no factory can do step anodise: it needs anodising-tank and skills hard",
        ),
        (
            [Step("a", 0.01, "press")],
            [_press((0.0,) * 3)],
            Order(100, 3, 50),
            "NO_CAPACITY",
            r"step a: its eligible factories \(f0\) have no hours in the order's 3 days",
        ),
        (
            # b can only start once a's output has travelled a day; its factory stops on day 1.
            [Step("a", 0.01, "press"), Step("b", 0.01, "paint", after=("a",), lag_days=1)],
            [_press(), Factory("p", frozenset({"paint"}), frozenset(), (8.0, 0.0, 0.0), 40.0)],
            Order(100, 3, 50),
            "NO_CAPACITY",
            r"step b: its eligible factories \(p\) have no hours from day 2",
        ),
        ([Step("a", 0.01, "press")], [_press()], Order(0, 3, 50), "INVALID_ORDER", "quantity"),
        ([Step("a", 0.01, "press")], [_press()], Order(10, 0, 5), "INVALID_ORDER", "one day"),
        ([Step("a", 0.01, "press")], [_press()], Order(10, 3, -5), "INVALID_ORDER", "target"),
        (
            [Step("a", 0.1, "press", after=("b",)), Step("b", 0.1, "press", after=("a",))],
            [_press()],
            Order(10, 3, 5),
            "INVALID_ROUTING",
            "cycle: a -> b -> a",
        ),
        ([Step("a", 0.0, "press")], [_press()], Order(10, 3, 5), "INVALID_ROUTING", "hours"),
        (
            [Step("a", 0.1, "press"), Step("a", 0.2, "press")],
            [_press()],
            Order(10, 3, 5),
            "INVALID_ROUTING",
            "given twice",
        ),
        (
            [Step("a", 0.1, "press", lag_days=-1)],
            [_press()],
            Order(10, 3, 5),
            "INVALID_ROUTING",
            "lag",
        ),
        (
            [Step("a", 0.1, "press")],
            [_press((8.0,) * 2)],
            Order(10, 3, 5),
            "INVALID_FACTORY",
            "calendar shorter",
        ),
    ],
)
def test_an_order_that_cannot_be_planned_says_why(
    steps: list[Step], factories: list[Factory], order: Order, code: str, message: str
) -> None:
    with pytest.raises(AllocationError, match=message) as caught:
        plan(steps, factories, order)
    assert caught.value.code == code
    assert caught.value.to_body()["error"] == code
    assert caught.value.status_code == 422


def test_no_plan_in_time_is_a_time_limit() -> None:
    steps = [Step("a", 0.01, "press")]
    with pytest.raises(AllocationError, match="time limit") as caught:
        plan(steps, [_press(), _press(fid="f1")], Order(100, 3, 50), time_limit_s=0.0)
    assert caught.value.code == "TIME_LIMIT"
