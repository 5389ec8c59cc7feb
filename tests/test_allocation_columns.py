"""Allocation at province scale (issue #24): the array-built model that prices factories in
plans within every hard constraint, proves its bound on the whole model (not only on the
factories it kept), agrees with the MIP engine, and re-plans a breakdown from the previous
plan's candidates."""

from __future__ import annotations

import pytest

from solvers.allocation.explain import explain
from solvers.allocation.instances import most_loaded, province, seeded, with_breakdown
from solvers.allocation.model import (
    Order,
    Weights,
    diagnose,
    hard_violations,
    plan,
    replan,
    target_misses,
)


def test_the_columns_engine_plans_as_the_mip_engine_does() -> None:
    steps, factories, _ = seeded(3, processes=6, factories=20, days=12)
    order = Order(quantity=60_000, days=12, daily_target=8_000, ramp_days=2)
    weights = Weights()
    mip = plan(steps, factories, order, weights, engine="mip")
    columns = plan(steps, factories, order, weights, engine="columns")
    assert hard_violations(steps, factories, order, weights, columns) == []
    assert columns.lp_bound <= columns.objective * (1 + 1e-9)
    assert columns.gap <= 0.01
    assert columns.status == "optimal"
    # The same objective, up to the engines' tolerance (the MIP prices concentration on its
    # candidates' mean cost, the columns engine on every eligible factory's).
    assert columns.objective == pytest.approx(mip.objective, rel=0.02)
    assert target_misses(steps, order, columns.units) == target_misses(steps, order, mip.units)


def test_a_province_shaped_order_keeps_few_factories_and_bounds_the_whole_model() -> None:
    steps, factories, order = province(2, processes=8, factories=150, days=20, daily=80_000)
    weights = Weights()
    result = plan(steps, factories, order, weights, engine="columns", time_limit_s=60)
    assert hard_violations(steps, factories, order, weights, result) == []
    assert result.status == "optimal"
    assert 0 <= result.gap <= 0.01
    assert result.missing == {}
    # Each step chose among fewer factories than could do it: the rest were priced out.
    eligible = diagnose(steps, factories, order, weights).eligible
    assert sum(map(len, result.candidates.values())) < sum(map(len, eligible.values()))
    made = {fid for (_, fid, _) in result.units}
    assert made <= {fid for fids in result.candidates.values() for fid in fids}
    # The explanation reads the same plan: its bound and gap are the whole model's.
    why = explain(steps, factories, order, weights, result)
    assert (why.optimality.bound, why.optimality.gap) == (result.lp_bound, result.gap)


def test_a_columns_replan_keeps_the_past_and_leaves_the_broken_factory_idle() -> None:
    steps, factories, order = province(4, processes=8, factories=150, days=20, daily=80_000)
    weights = Weights()
    before = plan(steps, factories, order, weights, engine="columns", time_limit_s=60)
    failed = most_loaded(steps, before)
    changed = with_breakdown(factories, failed, first_day=6, days=4)
    outcome = replan(
        steps, changed, order, weights, before, today=6, engine="columns", time_limit_s=60
    )
    new = outcome.plan
    assert hard_violations(steps, changed, order, weights, new) == []
    assert new.gap <= 0.01
    assert {k: v for k, v in new.units.items() if k[2] < 6} == pytest.approx(
        {k: v for k, v in before.units.items() if k[2] < 6}
    )
    assert not [k for k, v in new.units.items() if k[1] == failed and 6 <= k[2] < 10 and v > 0]
    # What the failed factory had to make in its outage is all that needed to move, about.
    lost = sum(v for (_, fid, d), v in before.units.items() if fid == failed and 6 <= d < 10)
    assert lost > 0
    assert outcome.effect.units_moved <= 4 * lost


def test_an_unknown_engine_is_refused() -> None:
    steps, factories, _ = seeded(1, processes=3, factories=6, days=5)
    order = Order(quantity=1_000, days=5, daily_target=300)
    with pytest.raises(ValueError, match="unknown engine"):
        plan(steps, factories, order, engine="simplex")  # type: ignore[arg-type]
