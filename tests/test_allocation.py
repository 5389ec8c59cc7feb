"""Cloud-factory allocation: hard constraints hold (checked without the solver), infeasible
orders name their cause, and the plan spreads each process as asked."""

from __future__ import annotations

import pytest

from regional_node.allocation.instances import seeded
from regional_node.allocation.model import (
    AllocationError,
    Factory,
    Order,
    Step,
    Weights,
    hard_violations,
    plan,
    required_units,
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
    with pytest.raises(AllocationError, match="unknown step z"):
        required_units([Step("a", 0.1, "x", after=("z",))], 10)


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
