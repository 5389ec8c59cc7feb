"""Promotions a brand records per SKU and week: checked, turned into the forecaster library's
exogenous regressor over the history and the horizon, and heard by the forecast."""

from __future__ import annotations

import datetime as dt
import random
import uuid

import pytest

from regional_node.demand import forecaster
from regional_node.demand.forecasts import Promotion, promotion_weeks
from yunfab.errors import InvalidInput

FIRST = dt.date(2024, 1, 1)  # a Monday
WEEKS = 104
WEEK = dt.timedelta(days=7)
PRODUCT = uuid.uuid4()


def _history(promoted: set[int]) -> forecaster.WeeklyHistory:
    """Two SKUs: A sells about 50 a week and 150 in its promoted weeks, B about 30."""
    rng = random.Random(7)
    refs = {
        code: forecaster.SkuRef(sku_id=uuid.uuid4(), code=code, product_id=PRODUCT, product="cup")
        for code in ("A", "B")
    }
    rows = []
    for i in range(WEEKS):
        day = FIRST + WEEK * i
        rows.append(
            (refs["A"].sku_id, day, 50 + rng.randint(-5, 5) + (100 if i in promoted else 0))
        )
        rows.append((refs["B"].sku_id, day, 30 + rng.randint(-5, 5)))
    history = forecaster.weekly(rows, {ref.sku_id: ref for ref in refs.values()})
    assert history is not None
    return history


def test_promotions_are_checked_and_keyed_by_series_and_monday() -> None:
    history = _history(set())
    last = history.last_week + WEEK * 4
    found = promotion_weeks(
        history,
        [Promotion("A", FIRST + dt.timedelta(days=3)), Promotion("B", last, 0.3),
         Promotion("NEW", FIRST)],  # a SKU without sales is not forecast: left out
        horizon=4,
    )  # fmt: skip
    assert found == {("cup/A", FIRST): 1.0, ("cup/B", last): 0.3}
    with pytest.raises(InvalidInput, match="horizon's last"):
        promotion_weeks(history, [Promotion("A", last + WEEK)], horizon=4)
    with pytest.raises(InvalidInput, match="promotion is 0 to"):
        promotion_weeks(history, [Promotion("A", FIRST, float("nan"))], horizon=4)
    with pytest.raises(InvalidInput, match="twice"):
        promotion_weeks(history, [Promotion("A", FIRST), Promotion("A", FIRST)], horizon=4)


def test_the_regressor_covers_every_sku_over_history_and_horizon() -> None:
    history = _history(set())
    assert forecaster.promotions_frame(history, {}, horizon=4) is None
    frame = forecaster.promotions_frame(history, {("cup/A", FIRST + WEEK): 1.0}, horizon=4)
    assert frame is not None
    assert len(frame) == 2 * (WEEKS + 4)
    assert frame["promotion"].sum() == 1.0
    assert frame["ds"].max().date() == history.last_week + WEEK * 4


def test_a_promotion_ahead_lifts_its_week() -> None:
    promoted = set(range(3, WEEKS, 9))
    history = _history(promoted)
    ahead = history.last_week + WEEK * 2
    promotions = {("cup/A", FIRST + WEEK * i): 1.0 for i in promoted} | {("cup/A", ahead): 1.0}
    outcome = forecaster.run_forecast(
        history, horizon=4, season_length=None, n_windows=1, promotions=promotions
    )
    means = {(p.series, p.week): p.mean for p in outcome.points}
    others = [means["cup/A", history.last_week + WEEK * k] for k in (1, 3, 4)]
    assert means["cup/A", ahead] > max(others) + 40, means
    # Still coherent: SKUs add up to the product and the total.
    for k in range(1, 5):
        week = history.last_week + WEEK * k
        assert means["cup", week] == pytest.approx(
            means["cup/A", week] + means["cup/B", week], rel=1e-6
        )
