"""Forecasts of a brand's weekly sales: made in the node's forecaster thread through
`demand_forecast`, stored with their quantiles, read with the actuals that came in since, and
scored (MASE, RMSSE, bias, coverage) as they come in."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.audit.service import append_entry
from regional_node.demand import forecaster
from regional_node.demand.errors import (
    ForecastFailed,
    ForecastNotFound,
    NotEnoughHistory,
    TooManySeries,
)
from regional_node.demand.models import (
    ForecastLevel,
    ForecastPoint,
    ForecastRun,
)
from regional_node.demand.repository import (
    ForecastRepository,
    ProductRepository,
    SalesRepository,
    SkuRepository,
)
from regional_node.demand.sales import monday
from regional_node.demand.service import (
    MAX_HORIZON,
    MAX_SERIES,
    MIN_WEEKS,
    WEEK,
    brand_of,
    brand_resource,
    brands_view,
    seen,
)
from regional_node.runtime import NodeRuntime
from yunfab.errors import InvalidInput
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.subject import Subject

MAX_PROMOTIONS = 10_000
MAX_REGION_SERIES = 2_000
"""SKU x region series in one forecast, where the brand's sales name regions."""
MAX_PROMOTION = 1e6


@dataclass(frozen=True)
class Promotion:
    """A promotion the brand records for a SKU in a week (any day of it): `promotion` is its
    intensity (1 for "on promotion", or the discount's fraction), a regressor of the forecast."""

    sku: str
    week: dt.date
    promotion: float = 1.0


def promotion_weeks(
    history: forecaster.WeeklyHistory, promotions: list[Promotion], *, horizon: int
) -> dict[tuple[str, dt.date], float]:
    """The promotions by (SKU series, Monday), checked: a SKU of the brand, a week from the
    brand's first week of sales to the horizon's last, a finite intensity from 0, each SKU and
    week once. SKUs without sales are not forecast: their promotions are left out."""
    if len(promotions) > MAX_PROMOTIONS:
        raise InvalidInput(f"promotions: at most {MAX_PROMOTIONS:,}")
    by_code = {ref.code: name for name, ref in history.skus.items()}
    last = history.last_week + WEEK * horizon
    found: dict[tuple[str, dt.date], float] = {}
    for number, item in enumerate(promotions, start=1):
        where = f"promotions[{number}] ({item.sku}, {item.week.isoformat()})"
        if not math.isfinite(item.promotion) or not 0 <= item.promotion <= MAX_PROMOTION:
            raise InvalidInput(f"{where}: promotion is 0 to {MAX_PROMOTION:g}")
        week = monday(item.week)
        if not history.first_week <= week <= last:
            raise InvalidInput(
                f"{where}: weeks from {history.first_week.isoformat()} to the horizon's last "
                f"({last.isoformat()})"
            )
        name = by_code.get(item.sku)
        if name is None:
            continue
        if (name, week) in found:
            raise InvalidInput(f"{where}: the SKU's week comes twice")
        found[name, week] = float(item.promotion)
    return found


async def _known_codes(session: AsyncSession, brand: str, codes: set[str]) -> None:
    known = {sku.code for sku in await SkuRepository(session).of_brand(brand)}
    unknown = sorted(codes - known)
    if unknown:
        raise InvalidInput(f"promotions: not the brand's SKU(s): {', '.join(unknown[:10])}")


# --- forecasts --------------------------------------------------------------------------------


async def _sku_refs(session: AsyncSession, brand: str) -> dict[uuid.UUID, forecaster.SkuRef]:
    products = {p.id: p for p in await ProductRepository(session).of_brand(brand)}
    return {
        sku.id: forecaster.SkuRef(
            sku_id=sku.id, code=sku.code, product_id=sku.product_id,
            product=products[sku.product_id].slug,
        )
        for sku in await SkuRepository(session).of_brand(brand)
    }  # fmt: skip


SPLITS = (ForecastLevel.REGION, ForecastLevel.CHANNEL)
"""What a forecast may put below each SKU: its regions (where the sales name them; the default)
or its sales channels."""


async def _split_totals(
    session: AsyncSession, brand: str, split: ForecastLevel
) -> Sequence[tuple[uuid.UUID, dt.date, float, str]]:
    repository = SalesRepository(session)
    rows = (
        await repository.daily_channel_totals(brand)
        if split is ForecastLevel.CHANNEL
        else await repository.daily_region_totals(brand)
    )
    return [(sku_id, day, float(units), str(tag)) for sku_id, day, units, tag in rows]


def split_of(run: ForecastRun) -> ForecastLevel:
    """What a run put below each SKU (runs before channels were a level: regions)."""
    return ForecastLevel(run.details.get("split", ForecastLevel.REGION.value))


async def _history(
    session: AsyncSession,
    brand: str,
    *,
    until: dt.date | None = None,
    split: ForecastLevel = ForecastLevel.REGION,
) -> tuple[dict[uuid.UUID, forecaster.SkuRef], forecaster.WeeklyHistory | None]:
    refs = await _sku_refs(session, brand)
    totals = await _split_totals(session, brand, split)
    return refs, forecaster.weekly(totals, refs, until=until, split=split)


async def run_forecast(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, brand: str | None,
    horizon: int, season_length: int | None = None, n_windows: int = 3,
    promotions: list[Promotion] | None = None, split: ForecastLevel = ForecastLevel.REGION,
) -> ForecastRun:  # fmt: skip
    """Forecast every SKU of the brand that has sold, reconciled over SKU -> product -> brand
    (and over each SKU's regions below it where the sales name regions, or its channels with
    `split` CHANNEL), in the node's
    forecaster thread; the run and its points are stored. `promotions`, past and
    ahead (weeks of the horizon count), are the forecast's regressor and stored with the run."""
    owner = brand_of(subject, brand)
    await runtime.authorizer.check(subject, "node.demand.forecast.run", brand_resource(owner))
    if not 1 <= horizon <= MAX_HORIZON:
        raise InvalidInput(f"horizon: 1 to {MAX_HORIZON} weeks")
    if season_length is not None and not 1 <= season_length <= 104:
        raise InvalidInput("seasonLength: 1 to 104 weeks, or null to let the forecaster decide")
    if not 1 <= n_windows <= 10:
        raise InvalidInput("windows: 1 to 10 cross-validation windows")
    if split not in SPLITS:
        raise InvalidInput("by: REGION or CHANNEL, what the forecast puts below each SKU")
    _, history = await _history(session, owner, split=split)
    if history is None:
        raise NotEnoughHistory("the brand has no sales on this node yet: import them first")
    if len(history.skus) > MAX_SERIES:
        raise TooManySeries(
            f"{len(history.skus)} SKUs have sales: a forecast takes at most {MAX_SERIES}"
        )
    regions = len(history.region_series())
    if regions > MAX_REGION_SERIES:
        raise TooManySeries(
            f"{regions} SKUs x {split.value}s have sales: a forecast takes at most "
            f"{MAX_REGION_SERIES}"
        )
    if history.week_count < MIN_WEEKS:
        raise NotEnoughHistory(
            f"{history.week_count} weeks of sales: a forecast needs at least {MIN_WEEKS}"
        )
    if promotions:
        await _known_codes(session, owner, {p.sku for p in promotions})
    promoted = promotion_weeks(history, promotions or [], horizon=horizon)
    started = time.perf_counter()
    try:
        outcome = await forecaster.POOL.run(
            lambda: forecaster.run_forecast(
                history,
                horizon=horizon,
                season_length=season_length,
                n_windows=n_windows,
                promotions=promoted,
            )  # fmt: skip
        )
    except ValueError as exc:  # the library's HistoryError: input it cannot use, named
        raise ForecastFailed(f"the forecaster refused the history: {exc}") from exc
    refs = history.refs()
    run = ForecastRun(
        brand_org=owner,
        horizon=horizon,
        freq=forecaster.FREQ,
        season_length=season_length,
        level=forecaster.LEVEL,
        quantiles=list(forecaster.QUANTILES),
        history_start=history.first_week,
        history_end=history.last_week,
        skus=len(history.skus),
        chosen=outcome.chosen,
        details={
            **outcome.details,
            "split": split.value,
            "promotions": [
                {"sku": history.skus[name].code, "week": week.isoformat(), "promotion": value}
                for (name, week), value in sorted(promoted.items())
            ],
        },
        elapsed_s=round(time.perf_counter() - started, 3),
        created_by=subject.label,
    )
    session.add(run)
    await session.flush()
    points = [
        ForecastPoint(
            run_id=run.id, series=p.series, week=p.week, level=refs[p.series].level,
            product_id=refs[p.series].product_id, sku_id=refs[p.series].sku_id,
            mean=p.mean, q50=p.q50, q80=p.q80, q90=p.q90, q95=p.q95, lo90=p.lo90, hi90=p.hi90,
        )
        for p in outcome.points
    ]  # fmt: skip
    await ForecastRepository(session).add(run, points)
    await append_entry(
        session, actor=subject, action="node.demand.forecast.run", resource=f"brand:{owner}",
        outcome="ok",
        detail={"run": str(run.id), "skus": run.skus, "horizon": horizon,
                "elapsed_s": run.elapsed_s, "promotions": len(promoted)},
    )  # fmt: skip
    return run


async def get_forecast(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, run_id: uuid.UUID | None,
    brand: str | None = None,
) -> ForecastRun:  # fmt: skip
    """A forecast run by id, or the brand's latest."""
    repository = ForecastRepository(session)
    if run_id is None:
        owner = brand_of(subject, brand)
        await runtime.authorizer.check(subject, "node.demand.forecast.read", brand_resource(owner))
        latest = await repository.latest(owner)
        if latest is None:
            raise ForecastNotFound("the brand has no forecast yet")
        return latest
    run = await repository.get(run_id)
    await runtime.authorizer.check_found(
        subject, "node.demand.forecast.read",
        None if run is None else brand_resource(run.brand_org),
        read="node.demand.forecast.read",
        missing=ForecastNotFound(f"no forecast {run_id} on this node"),
    )  # fmt: skip
    assert run is not None
    return run


async def list_forecasts(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, brand: str | None,
    page: PageRequest,
) -> Page[ForecastRun]:  # fmt: skip
    conditions = await brands_view(
        subject, runtime, brand, ForecastRun.brand_org, "node.demand.forecast.read"
    )
    found = await ForecastRepository(session).page(conditions, page)
    return await seen(subject, runtime, "node.demand.forecast.read", found, lambda r: r.brand_org)


async def forecast_series(
    session: AsyncSession, run: ForecastRun, *, level: ForecastLevel | None, page: PageRequest
) -> Page[str]:
    """The series of a run the caller has read (`get_forecast`)."""
    return await ForecastRepository(session).series_page(run.id, level, page)


async def actual_weeks(session: AsyncSession, run: ForecastRun) -> dict[str, dict[dt.date, float]]:
    """Units sold per series and week, from the run's first week on: what came in since."""
    refs = await _sku_refs(session, run.brand_org)
    split = split_of(run)
    totals = await _split_totals(session, run.brand_org, split)
    first = run.history_end + WEEK
    history = forecaster.weekly((total for total in totals if total[1] >= first), refs, split=split)
    if history is None:
        return {}
    levels = history.levels()
    return {
        name: {week: units for week, units in weeks.items() if week >= first}
        for name, weeks in levels.items()
    }


@dataclass(frozen=True)
class Accuracy:
    run: ForecastRun
    weeks: int
    """Weeks of the forecast with actuals."""
    series: list[dict[str, Any]]
    """unique_id (the series), n, mase, rmsse, bias, rmse, scaled_pinball, coverage."""
    pooled: dict[str, Any] | None
    """rmse, mase, rmsse, bias, pinball, scaled_pinball, coverage, series, unscaled_series."""


async def forecast_accuracy(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, run_id: uuid.UUID | None,
    brand: str | None = None,
) -> Accuracy:  # fmt: skip
    """How the run did on the weeks that have come in since it was made, per series and
    pooled (MASE, RMSSE, bias, interval coverage)."""
    run = await get_forecast(session, subject, runtime=runtime, run_id=run_id, brand=brand)
    actuals = await actual_weeks(session, run)
    points = {(p.series, p.week): p for p in await ForecastRepository(session).points(run.id)}
    # A week counts as soon as its sales have come in (send a week once it is over).
    covered = {
        (name, week): y for name, weeks in actuals.items() for week, y in weeks.items()
        if (name, week) in points
    }  # fmt: skip
    if not covered:
        return Accuracy(run=run, weeks=0, series=[], pooled=None)
    _, history = await _history(session, run.brand_org, until=run.history_end, split=split_of(run))
    assert history is not None
    kept = [
        forecaster.StoredPoint(p.series, p.week, p.mean, p.q50, p.q80, p.q90, p.q95, p.lo90, p.hi90)
        for key, p in points.items()
        if key in covered
    ]
    actual_map: dict[str, dict[dt.date, float]] = defaultdict(dict)
    for (name, week), y in covered.items():
        actual_map[name][week] = y
    result = await asyncio.to_thread(
        forecaster.accuracy_of, kept, actual_map, history.levels(),
        season_length=run.season_length or forecaster.SEASON_WEEKS,
    )  # fmt: skip
    series, pooled = _accuracy_parts(result)
    weeks = len({week for _, week in covered})
    return Accuracy(run=run, weeks=weeks, series=series, pooled=pooled)


def _accuracy_parts(result: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The library's answer as plain rows (NaN, a series without a scale, as None)."""

    def plain(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value.item() if hasattr(value, "item") else value

    rows = [
        {key: plain(value) for key, value in row.items()}
        for row in result.per_series.to_dict("records")
    ]
    return rows, {key: plain(value) for key, value in dict(result.pooled).items()}
