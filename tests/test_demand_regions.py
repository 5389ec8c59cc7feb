"""Where a brand's sales name regions, each SKU's regions are forecast below it, reconciled
region -> SKU -> product -> brand; without regions the hierarchy stays SKU -> product -> brand."""

from __future__ import annotations

import datetime as dt
import random
import uuid

import pytest

from regional_node.demand import forecaster
from regional_node.demand.models import ForecastLevel

FIRST = dt.date(2024, 1, 1)  # a Monday
WEEKS = 60
WEEK = dt.timedelta(days=7)
PRODUCT = uuid.uuid4()
REFS = {
    code: forecaster.SkuRef(sku_id=uuid.uuid4(), code=code, product_id=PRODUCT, product="cup")
    for code in ("A", "B")
}


def _totals(regions: bool) -> list[tuple[uuid.UUID, dt.date, float, str]]:
    rng = random.Random(3)
    rows = []
    for i in range(WEEKS):
        day = FIRST + WEEK * i + dt.timedelta(days=2)
        rows.append((REFS["A"].sku_id, day, 40.0 + rng.randint(-5, 5), "CN-ZJ" if regions else ""))
        rows.append((REFS["A"].sku_id, day, 10.0 + rng.randint(-3, 3), "CN-GD" if regions else ""))
        rows.append((REFS["B"].sku_id, day, 20.0 + rng.randint(-4, 4), ""))
    return rows


def _history(regions: bool) -> forecaster.WeeklyHistory:
    history = forecaster.weekly(_totals(regions), {r.sku_id: r for r in REFS.values()})
    assert history is not None
    return history


def test_regions_are_series_below_their_sku_only_where_sales_name_them() -> None:
    plain = _history(regions=False)
    assert plain.regions is None
    assert set(plain.refs()) == {"total", "cup", "cup/A", "cup/B"}
    assert list(plain.frame().columns) == ["unique_id", "ds", "y", "product", "sku"]

    history = _history(regions=True)
    refs = history.refs()
    assert {n for n, r in refs.items() if r.level == ForecastLevel.REGION} == {
        "cup/A/CN-GD", "cup/A/CN-ZJ", "cup/B/unassigned",
    }  # fmt: skip
    assert refs["cup/A/CN-ZJ"].sku_id == REFS["A"].sku_id
    levels = history.levels()
    for week in history.weeks["cup/A"]:
        assert levels["cup/A/CN-ZJ"][week] + levels["cup/A/CN-GD"][week] == levels["cup/A"][week]
    frame = history.frame()
    assert set(frame["unique_id"]) == {"cup/A/CN-GD", "cup/A/CN-ZJ", "cup/B/unassigned"}
    assert "region" in frame.columns
    # Promotions of a SKU reach each of its regions' series.
    promotions = forecaster.promotions_frame(history, {("cup/A", FIRST): 1.0}, horizon=2)
    assert promotions is not None
    on = promotions[promotions["promotion"] > 0]
    assert set(on["unique_id"]) == {"cup/A/CN-GD", "cup/A/CN-ZJ"}


def test_a_forecast_by_region_adds_up_to_the_sku_product_and_total() -> None:
    history = _history(regions=True)
    outcome = forecaster.run_forecast(history, horizon=3, season_length=None, n_windows=1)
    means = {(p.series, p.week): p.mean for p in outcome.points}
    assert {s for s, _ in means} == {
        "total", "cup", "cup/A", "cup/B", "cup/A/CN-GD", "cup/A/CN-ZJ", "cup/B/unassigned",
    }  # fmt: skip
    for k in range(1, 4):
        week = history.last_week + WEEK * k
        assert means["cup/A", week] == pytest.approx(
            means["cup/A/CN-GD", week] + means["cup/A/CN-ZJ", week], rel=1e-6
        )
        assert means["cup/B", week] == pytest.approx(means["cup/B/unassigned", week], rel=1e-6)
        assert means["total", week] == pytest.approx(
            means["cup/A", week] + means["cup/B", week], rel=1e-6
        )
        # Zhejiang sells about four times Guangdong.
        assert means["cup/A/CN-ZJ", week] > 2 * means["cup/A/CN-GD", week]
