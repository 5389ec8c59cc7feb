"""A brand's sales as the forecaster library wants them, and its answer as rows to store.

Series are weekly (weeks from Monday, `W-MON`), one per SKU that has sold, named
`<product>/<sku code>`, under its product (`<product>`) and the brand's total (`total`): the
SKU -> product -> brand hierarchy the library reconciles, so that SKUs add up to their product
and products to the total. A SKU's series starts in its first week of sales and runs to the
brand's last week of data; weeks without a row count as no sales. Where the brand's sales name
regions, each SKU's regions are series below it (`<product>/<sku code>/<region>`, sales without
one under `unassigned`): region -> SKU -> product -> brand. A forecast made by channel puts each
SKU's sales channels there instead (`<product>/<sku code>/<channel>`, level CHANNEL): channel ->
SKU -> product -> brand.

The library (`demand_forecast`: statsforecast, hierarchicalforecast, mlforecast) is imported in
the forecaster thread, on first use: the node starts without it, and a forecast never runs on
the event loop. One forecast runs at a time per node, a few more may wait (`ForecastPool`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from regional_node.demand.errors import ForecasterBusy
from regional_node.demand.models import ForecastLevel
from regional_node.demand.sales import monday

if TYPE_CHECKING:
    import pandas as pd

T = TypeVar("T")

FREQ = "W-MON"
QUANTILES = (0.5, 0.8, 0.9, 0.95)
LEVEL = 90
TOTAL = "total"
SEASON_WEEKS = 52
WEEK = dt.timedelta(days=7)
UNASSIGNED = "unassigned"
"""The region (or channel) of sales without one, in a brand whose sales name regions (or
channels)."""


@dataclass(frozen=True)
class SkuRef:
    sku_id: uuid.UUID
    code: str
    product_id: uuid.UUID
    product: str
    """The product's slug."""

    @property
    def series(self) -> str:
        return f"{self.product}/{self.code}"


@dataclass(frozen=True)
class SeriesRef:
    series: str
    level: ForecastLevel
    product_id: uuid.UUID | None = None
    sku_id: uuid.UUID | None = None


@dataclass
class WeeklyHistory:
    """Units per SKU per week, every SKU from its first week to the brand's last."""

    skus: dict[str, SkuRef]
    """By series name."""
    weeks: dict[str, dict[dt.date, float]]
    first_week: dt.date
    last_week: dt.date
    regions: dict[str, dict[str, dict[dt.date, float]]] | None = None
    """Per SKU series, its regions' (or channels') weeks (same weeks as the SKU's); None when no
    sale names one."""
    split: ForecastLevel = ForecastLevel.REGION
    """What the series below a SKU are: REGION, or CHANNEL in a forecast made by channel."""

    def region_series(self) -> dict[str, tuple[str, str]]:
        """`<product>/<sku code>/<region>` -> (SKU series, region)."""
        return {
            f"{name}/{region}": (name, region)
            for name, regions in (self.regions or {}).items()
            for region in regions
        }

    def bottom(self) -> dict[str, dict[dt.date, float]]:
        """The bottom level's weeks by series: regions where there are, SKUs otherwise."""
        if self.regions is None:
            return self.weeks
        return {
            key: self.regions[name][region] for key, (name, region) in self.region_series().items()
        }

    @property
    def week_count(self) -> int:
        return (self.last_week - self.first_week).days // 7 + 1

    def refs(self) -> dict[str, SeriesRef]:
        """Every series of the hierarchy: SKUs, their products and the total."""
        found: dict[str, SeriesRef] = {TOTAL: SeriesRef(TOTAL, ForecastLevel.TOTAL)}
        for name, sku in self.skus.items():
            found[sku.product] = SeriesRef(sku.product, ForecastLevel.PRODUCT, sku.product_id)
            found[name] = SeriesRef(name, ForecastLevel.SKU, sku.product_id, sku.sku_id)
        for key, (name, _) in self.region_series().items():
            sku = self.skus[name]
            found[key] = SeriesRef(key, self.split, sku.product_id, sku.sku_id)
        return found

    def frame(self) -> pd.DataFrame:
        """Long format: unique_id, ds, y, product, sku (the bottom level), and region where
        the sales name regions."""
        import pandas as pd

        if self.regions is not None:
            rows_by_region = [
                (key, pd.Timestamp(week), units, self.skus[name].product, self.skus[name].code,
                 region)
                for key, (name, region) in sorted(self.region_series().items())
                for week, units in sorted(self.regions[name][region].items())
            ]  # fmt: skip
            return pd.DataFrame(
                rows_by_region, columns=["unique_id", "ds", "y", "product", "sku", "region"]
            )
        rows = [
            (name, pd.Timestamp(week), units, sku.product, sku.code)
            for name, sku in sorted(self.skus.items())
            for week, units in sorted(self.weeks[name].items())
        ]
        return pd.DataFrame(rows, columns=["unique_id", "ds", "y", "product", "sku"])

    def levels(self) -> dict[str, dict[dt.date, float]]:
        """Every series of the hierarchy, products and total summed from the SKUs."""
        found: dict[str, dict[dt.date, float]] = defaultdict(lambda: defaultdict(float))
        for name, sku in self.skus.items():
            for week, units in self.weeks[name].items():
                found[name][week] += units
                found[sku.product][week] += units
                found[TOTAL][week] += units
        for key, (name, region) in self.region_series().items():
            assert self.regions is not None
            found[key] = defaultdict(float, self.regions[name][region])
        return {name: dict(weeks) for name, weeks in found.items()}


def weekly(
    totals: Iterable[tuple[uuid.UUID, dt.date, float] | tuple[uuid.UUID, dt.date, float, str]],
    skus: Mapping[uuid.UUID, SkuRef],
    *,
    until: dt.date | None = None,
    split: ForecastLevel = ForecastLevel.REGION,
) -> WeeklyHistory | None:
    """Daily (or weekly) totals per SKU (and region, a fourth item, "" for none) as weeks; None
    when there are none. `until`: the last week kept (by its Monday); the brand's last week with
    data otherwise. Regions are kept where any total names one. With `split` CHANNEL the fourth
    item is the sales channel, and channels are kept instead."""
    by_sku: dict[uuid.UUID, dict[dt.date, float]] = defaultdict(lambda: defaultdict(float))
    by_region: dict[uuid.UUID, dict[str, dict[dt.date, float]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(float))
    )
    named_regions = False
    for item in totals:
        sku_id, day, units = item[0], item[1], item[2]
        region = str(item[3]) if len(item) > 3 else ""
        if sku_id in skus and (until is None or monday(day) <= until):
            by_sku[sku_id][monday(day)] += float(units)
            by_region[sku_id][region or UNASSIGNED][monday(day)] += float(units)
            named_regions = named_regions or bool(region)
    if not by_sku:
        return None
    last = until or max(max(weeks) for weeks in by_sku.values())
    first = min(min(weeks) for weeks in by_sku.values())
    named: dict[str, SkuRef] = {}
    weeks: dict[str, dict[dt.date, float]] = {}
    regions: dict[str, dict[str, dict[dt.date, float]]] = {}
    for sku_id, sold in by_sku.items():
        ref = skus[sku_id]
        start = min(sold)
        named[ref.series] = ref
        weeks[ref.series] = _filled(sold, start, last)
        regions[ref.series] = {
            region: _filled(region_sold, start, last)
            for region, region_sold in sorted(by_region[sku_id].items())
        }
    return WeeklyHistory(
        skus=named, weeks=weeks, first_week=first, last_week=last,
        regions=regions if named_regions else None, split=split,
    )  # fmt: skip


def _filled(sold: Mapping[dt.date, float], start: dt.date, last: dt.date) -> dict[dt.date, float]:
    week, series = start, {}
    while week <= last:
        series[week] = sold.get(week, 0.0)
        week += WEEK
    return series


@dataclass(frozen=True)
class PointRow:
    series: str
    week: dt.date
    mean: float
    q50: float
    q80: float
    q90: float
    q95: float
    lo90: float
    hi90: float


@dataclass(frozen=True)
class Outcome:
    points: list[PointRow]
    chosen: dict[str, str]
    details: dict[str, Any]


PROMOTION = "promotion"
"""The regressor's column: the brand's promotion intensity for a SKU in a week (1 for "on
promotion", or a discount fraction, say); 0 where none is recorded."""


def promotions_frame(
    history: WeeklyHistory, promotions: Mapping[tuple[str, dt.date], float], *, horizon: int
) -> pd.DataFrame | None:
    """The library's `exogenous` frame: every bottom series (SKU, or SKU in a region) over every
    week from its first to the horizon's last, `promotion` as recorded for its SKU (by series
    name and Monday) and 0 elsewhere; None when no promotion is recorded."""
    import pandas as pd

    if not promotions:
        return None
    last = history.last_week + WEEK * horizon
    regions = history.region_series()
    rows = []
    for key, weeks in sorted(history.bottom().items()):
        name = regions[key][0] if key in regions else key
        week = min(weeks)
        while week <= last:
            rows.append((key, pd.Timestamp(week), float(promotions.get((name, week), 0.0))))
            week += WEEK
    return pd.DataFrame(rows, columns=["unique_id", "ds", PROMOTION])


def _hierarchy(regions: bool) -> Any:
    from demand_forecast import Hierarchy

    if regions:
        return Hierarchy(levels=[[], ["product"], ["product", "sku"], ["product", "sku", "region"]])
    return Hierarchy(levels=[[], ["product"], ["product", "sku"]])


def series_name(unique_id: str, refs: Mapping[str, SeriesRef]) -> str | None:
    """The library's name of a series as ours: SKUs keep theirs, a product is named by its slug
    and the brand's sum `total`, as ours are."""
    return unique_id if unique_id in refs else None


def run_forecast(
    history: WeeklyHistory, *, horizon: int, season_length: int | None, n_windows: int,
    promotions: Mapping[tuple[str, dt.date], float] | None = None,
) -> Outcome:  # fmt: skip
    """Blocking: the library's reconciled forecast of every series (in the forecast thread).
    `promotions` by (SKU series, Monday): the library's exogenous regressor, past and ahead."""
    from demand_forecast import forecast

    result = forecast(
        history.frame(),
        horizon=horizon,
        freq=FREQ,
        quantiles=QUANTILES,
        level=LEVEL,
        hierarchy=_hierarchy(history.regions is not None),
        season_length=season_length,
        n_windows=n_windows,
        n_jobs=1,
        exogenous=promotions_frame(history, promotions or {}, horizon=horizon),
    )
    refs = history.refs()
    points: list[PointRow] = []
    chosen: dict[str, str] = {}
    frame = result.frame
    for row in frame.itertuples(index=False):
        name = series_name(str(row.unique_id), refs)
        if name is None:
            continue
        values = [float(getattr(row, c)) for c in ("mean", "q50", "q80", "q90", "q95")]
        lo, hi = float(row.lo90), float(row.hi90)
        points.append(
            PointRow(name, _date(row.ds), *values, lo90=lo, hi90=hi)  # type: ignore[misc]
        )
    for unique_id, model in result.chosen.items():
        name = series_name(str(unique_id), refs)
        if name is not None:
            chosen[name] = str(model)
    classes: dict[str, int] = defaultdict(int)
    for name, kind in result.demand_class.items():
        if series_name(str(name), refs) is not None:
            classes[str(kind)] += 1
    details = {
        "reconciliation": result.reconciliation,
        "reconciled": bool(result.reconciled),
        "filled_weeks": int(result.filled_periods),
        "returns": int(len(result.returns)),
        "demand_classes": dict(sorted(classes.items())),
    }
    return Outcome(points=points, chosen=chosen, details=details)


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


@dataclass(frozen=True)
class StoredPoint:
    series: str
    week: dt.date
    mean: float
    q50: float
    q80: float
    q90: float
    q95: float
    lo90: float
    hi90: float


def accuracy_of(
    points: Sequence[StoredPoint],
    actuals: Mapping[str, Mapping[dt.date, float]],
    history: Mapping[str, Mapping[dt.date, float]],
    *,
    season_length: int,
) -> Any:
    """Blocking: the library's accuracy of stored forecasts against the weeks that have come
    in since (per series and pooled)."""
    import pandas as pd

    from demand_forecast import accuracy

    forecast_frame = pd.DataFrame(
        [
            (p.series, pd.Timestamp(p.week), p.mean, p.q50, p.q80, p.q90, p.q95, p.lo90, p.hi90)
            for p in points
        ],
        columns=["unique_id", "ds", "mean", "q50", "q80", "q90", "q95", "lo90", "hi90"],
    )
    actual_frame = pd.DataFrame(
        [
            (name, pd.Timestamp(week), y)
            for name, weeks in actuals.items()
            for week, y in weeks.items()
        ],
        columns=["unique_id", "ds", "y"],
    )
    history_frame = pd.DataFrame(
        [
            (name, pd.Timestamp(week), y)
            for name, weeks in history.items()
            for week, y in weeks.items()
        ],
        columns=["unique_id", "ds", "y"],
    )
    return accuracy(
        actual_frame,
        forecast_frame,
        history_frame,
        season_length=season_length,
        quantiles=QUANTILES,
        level=LEVEL,
    )


@dataclass
class ForecastPool:
    """One forecaster thread per node, and a bound on what may wait for it: more than
    `max_waiting` forecasts asked for at once are refused (ForecasterBusy), not queued."""

    max_waiting: int = 2
    _executor: ThreadPoolExecutor | None = None
    _waiting: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def run(self, call: Callable[[], T]) -> T:
        with self._lock:
            if self._waiting > self.max_waiting:
                raise ForecasterBusy(
                    f"{self._waiting} forecasts are running or waiting on this node: try again "
                    "in a minute"
                )
            self._waiting += 1
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="demand-forecast")
            executor = self._executor
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, call)
        finally:
            with self._lock:
                self._waiting -= 1

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


POOL = ForecastPool()
"""The node's forecaster thread (closed when the demand domain stops)."""
