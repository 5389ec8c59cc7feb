"""The demand-forecasting library through its public API (`demand_forecast`), on seeded C2M
sales from its own generator: shapes and monotone quantiles, coherent hierarchies, the demand
classes' candidates, accuracy against seasonal naive, the Chinese calendar, the accuracy
metrics by hand, and bad input refused with the row named."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from demand_forecast import (
    Forecast,
    Hierarchy,
    HistoryError,
    accuracy,
    classify_demand,
    forecast,
    holiday_flags,
    spring_festival,
)
from demand_forecast.models import GLOBAL_MODEL, INTERMITTENT_MODELS
from demand_forecast.selection import combo_members
from demand_forecast.synthetic import Product, weekly_sales

HORIZON = 8
QUANTILES = (0.5, 0.8, 0.9, 0.95)
PRODUCTS = (
    Product("hoodie", "apparel", ("black", "grey"), ("M", "L", "XL"), 200.0),
    Product("sneaker", "footwear", ("white", "red"), ("40", "42"), 90.0),
)
LEVELS = Hierarchy([[], ["category"], ["category", "product"], ["category", "product", "sku"]])


@pytest.fixture(scope="module")
def sales():
    data = weekly_sales(products=PRODUCTS, weeks=130, future_weeks=HORIZON, seed=7, slow_share=0.3)
    history = data.history.assign(sku=data.history["unique_id"])
    return data, history


@pytest.fixture(scope="module")
def flat(sales) -> Forecast:
    data, history = sales
    return forecast(
        history[["unique_id", "ds", "y"]],
        horizon=HORIZON,
        quantiles=QUANTILES,
        exogenous=data.promotions,
        n_windows=2,
    )


@pytest.fixture(scope="module")
def reconciled(sales) -> Forecast:
    data, history = sales
    return forecast(history, horizon=HORIZON, hierarchy=LEVELS, n_windows=2)


def test_every_series_gets_the_horizon_with_monotone_quantiles(sales, flat: Forecast) -> None:
    _, history = sales
    frame = flat.frame
    assert list(frame.columns) == [
        "unique_id", "ds", "mean", "q50", "q80", "q90", "q95", "lo90", "hi90"
    ]  # fmt: skip
    last = history["ds"].max()
    expected = pd.date_range(last + pd.Timedelta(weeks=1), periods=HORIZON, freq="W-MON")
    for uid, rows in frame.groupby("unique_id"):
        assert list(rows["ds"]) == list(expected), uid
    assert set(frame["unique_id"]) == set(history["unique_id"])
    ordered = frame[["lo90", "q50", "q80", "q90", "q95", "hi90"]].to_numpy()
    assert (np.diff(ordered[:, 1:5], axis=1) >= 0).all()
    assert (ordered[:, 0] <= ordered[:, 1]).all()  # lo90 is the 5% quantile
    assert (ordered[:, 4] <= ordered[:, 5]).all()  # hi90 the 95% one
    assert (ordered >= 0).all()
    assert (frame["mean"] >= 0).all()
    assert set(flat.chosen) == set(history["unique_id"])
    assert set(flat.cv.columns) >= {"unique_id", "model", "rmse", "chosen"}
    assert flat.cv.groupby("unique_id")["chosen"].sum().eq(1).all()


def test_returns_are_reported_and_counted_as_no_demand(sales, flat: Forecast) -> None:
    _, history = sales
    negative = history[history["y"] < 0]
    assert len(negative) > 0  # the generator nets returns against thin weeks
    assert len(flat.returns) == len(negative)
    assert (flat.returns["returned"] > 0).all()


def test_reconciled_means_add_up_from_sku_to_total(sales, reconciled: Forecast) -> None:
    _, history = sales
    assert reconciled.reconciled
    assert reconciled.reconciliation is not None
    means = reconciled.frame.pivot(index="ds", columns="unique_id", values="mean")
    skus = history.drop_duplicates("unique_id")[["unique_id", "category", "product"]]
    parents = {
        "total": list(skus["category"].unique()),
        **{c: [f"{c}/{p}" for p in g["product"].unique()] for c, g in skus.groupby("category")},
        **{f"{c}/{p}": list(g["unique_id"]) for (c, p), g in skus.groupby(["category", "product"])},
    }
    for parent, children in parents.items():
        summed = means[children].sum(axis=1)
        assert np.allclose(summed, means[parent], rtol=1e-6, atol=1e-9), parent
    assert reconciled.level_of["total"] == "total"
    assert reconciled.level_of["apparel/hoodie"] == "category/product"


def test_intermittent_series_get_an_intermittent_model_or_combination(flat: Forecast) -> None:
    intermittent = [u for u, c in flat.demand_class.items() if c in ("intermittent", "lumpy")]
    assert intermittent, "the seeded data has slow movers"
    for uid in intermittent:
        members = combo_members(flat.chosen[uid])
        assert set(members) <= {*INTERMITTENT_MODELS, GLOBAL_MODEL}, (uid, members)
        assert set(members) & set(INTERMITTENT_MODELS), (uid, members)


def test_the_chosen_forecasts_beat_seasonal_naive_on_held_out_weeks(sales, flat: Forecast) -> None:
    data, history = sales
    actual = data.future.assign(y=data.future["y"].clip(lower=0))
    ours = actual.merge(flat.frame, on=["unique_id", "ds"])
    naive = history.assign(
        ds=history["ds"] + pd.Timedelta(weeks=52), naive=history["y"].clip(lower=0)
    )
    ours = ours.merge(naive[["unique_id", "ds", "naive"]], on=["unique_id", "ds"])
    assert len(ours) == len(actual)
    rmse = np.sqrt(((ours["y"] - ours["mean"]) ** 2).mean())
    rmse_naive = np.sqrt(((ours["y"] - ours["naive"]) ** 2).mean())
    assert rmse < rmse_naive
    held_out = accuracy(
        actual, flat.frame, history, season_length=52, quantiles=QUANTILES, level=90
    )
    assert held_out.pooled["mase"] < 1.0


@pytest.mark.parametrize(
    ("dates", "freq", "expected"),
    [
        # 2024: lunar new year Saturday 10 February; 618 a Tuesday; Double 11 a Monday.
        (["2024-02-05", "2024-02-12", "2024-02-19"], "W-MON", [[1, 0, 0], [1, 0, 0], [0, 0, 0]]),
        (["2024-06-10", "2024-06-17", "2024-11-04", "2024-11-11"], "W-MON",
         [[0, 0, 0], [0, 1, 0], [0, 0, 0], [0, 0, 1]]),
        # 2025: lunar new year Wednesday 29 January, its eve the 28th.
        (["2025-01-20", "2025-01-27", "2025-02-03", "2025-02-10"], "W-MON",
         [[0, 0, 0], [1, 0, 0], [1, 0, 0], [0, 0, 0]]),
        (["2025-01-27", "2025-01-28", "2025-06-18", "2025-06-19", "2025-11-11"], "D",
         [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0], [0, 0, 1]]),
        (["2026-01-01", "2026-02-01", "2026-06-01", "2026-11-01"], "MS",
         [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]]),
        (["2026-01-31", "2026-02-28", "2026-03-31"], "ME", [[0, 0, 0], [1, 0, 0], [0, 0, 0]]),
    ],
)  # fmt: skip
def test_holiday_flags_on_known_dates(
    dates: list[str], freq: str, expected: list[list[int]]
) -> None:
    flags = holiday_flags(pd.to_datetime(dates), freq)
    assert list(flags.columns) == ["spring_festival", "sale_618", "double_11"]
    assert flags.to_numpy().tolist() == expected


def test_spring_festival_table_and_its_limits() -> None:
    assert spring_festival(2024) == dt.date(2024, 2, 10)
    assert spring_festival(2033) == dt.date(2033, 1, 31)
    with pytest.raises(ValueError, match="2015-2035"):
        spring_festival(2036)


def test_demand_classes_by_adi_and_cv2() -> None:
    assert classify_demand([5, 6, 5, 6, 5, 6]) == "smooth"
    assert classify_demand([1, 20, 2, 30, 1, 25]) == "erratic"
    assert classify_demand([0, 3, 0, 0, 3, 0, 0, 3]) == "intermittent"
    assert classify_demand([0, 1, 0, 0, 30, 0, 0, 2]) == "lumpy"
    assert classify_demand([0, 0, 0]) == "intermittent"


def test_accuracy_matches_hand_computed_values() -> None:
    history = pd.DataFrame(
        {
            "unique_id": ["a"] * 6 + ["b"] * 4,
            "ds": list(pd.date_range("2024-01-01", periods=6, freq="W-MON"))
            + list(pd.date_range("2024-01-01", periods=4, freq="W-MON")),
            "y": [1, 2, 3, 4, 5, 6, 10, 12, 10, 12],
        }
    )
    days = pd.date_range("2024-02-12", periods=2, freq="W-MON")
    actuals = pd.DataFrame({"unique_id": ["a", "a"], "ds": days, "y": [7, 8]})
    predicted = pd.DataFrame(
        {
            "unique_id": ["a", "a", "b", "b"],
            "ds": list(days) * 2,
            "mean": [6.0, 10.0, 11.0, 11.0],
            "q50": [6.0, 10.0, 11.0, 11.0],
            "q90": [8.0, 12.0, 13.0, 13.0],
            "lo90": [5.0, 9.0, 9.0, 9.0],
            "hi90": [9.0, 11.0, 13.0, 13.0],
        }
    )
    result = accuracy(actuals, predicted, history, season_length=1, quantiles=(0.5, 0.9), level=90)
    row = result.per_series.set_index("unique_id").loc["a"]
    # errors (forecast - actual): -1, +2; in-sample |diff| = 1 and diff^2 = 1.
    assert row["n"] == 2
    assert row["mase"] == pytest.approx(1.5)
    assert row["rmse"] == pytest.approx(np.sqrt(2.5))
    assert row["rmsse"] == pytest.approx(np.sqrt(2.5))
    assert row["bias"] == pytest.approx(0.5)
    # pinball: q50 0.5 and 1.0, q90 0.1 and 0.4 -> per point 0.3 and 0.7 -> 0.5, scale 1.
    assert row["scaled_pinball"] == pytest.approx(0.5)
    assert row["coverage"] == pytest.approx(0.5)
    assert result.pooled["bias"] == pytest.approx(1 / 15)
    assert result.pooled["series"] == 1  # b has no actuals yet


def test_accuracy_refuses_an_actual_without_forecast() -> None:
    history = pd.DataFrame(
        {
            "unique_id": ["a"] * 3,
            "ds": pd.date_range("2024-01-01", periods=3, freq="W-MON"),
            "y": [1, 2, 3],
        }
    )
    actuals = pd.DataFrame({"unique_id": ["a"], "ds": [pd.Timestamp("2024-01-22")], "y": [4]})
    predicted = pd.DataFrame(
        {"unique_id": ["a"], "ds": [pd.Timestamp("2024-01-29")], "mean": [1.0], "q50": [1.0]}
    ).assign(lo90=0.0, hi90=2.0)
    with pytest.raises(ValueError, match="2024-01-22 has no forecast"):
        accuracy(actuals, predicted, history, season_length=1, quantiles=(0.5,), level=90)


def _small() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unique_id": ["a", "a", "a", "b"],
            "ds": ["2024-01-01", "2024-01-08", "2024-01-15", "2024-01-01"],
            "y": [1, 2, 3, 4],
        }
    )


DUPLICATE = (
    r"row 2 \(unique_id 'a', ds '2024-01-08'\): duplicate \(unique_id, ds\), first given in row 1"
)
BAD_CASES = [
    (lambda f: f.drop(columns="y"), "missing column"),
    (lambda f: f.assign(ds=["2024-01-01", "2024-01-08", "2024-01-08", "2024-01-01"]), DUPLICATE),
    (
        lambda f: f.assign(y=[1, 2, "three", 4]),
        r"row 2 \(unique_id 'a', ds '2024-01-15'\): y 'three'",
    ),
    (lambda f: f.assign(y=[1, None, 3, 4]), r"row 1 .*y is missing"),
    (lambda f: f.assign(ds=["2024-01-01", "x", "2024-01-15", "2024-01-01"]), r"row 1 .*not a date"),
    (lambda f: f.assign(ds=["2024-01-01", "2024-01-09", "2024-01-15", "2024-01-01"]), "W-MON grid"),
]


@pytest.mark.parametrize(("change", "message"), BAD_CASES)
def test_bad_history_is_refused_naming_the_row(change, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        forecast(change(_small()), horizon=2)


def test_bad_arguments_and_missing_promotions_are_refused() -> None:
    history = _small()
    with pytest.raises(ValueError, match="horizon"):
        forecast(history, horizon=0)
    with pytest.raises(ValueError, match="quantile 1.5"):
        forecast(history, horizon=2, quantiles=(0.5, 1.5))
    promotions = pd.DataFrame({"unique_id": ["a"], "ds": ["2024-01-01"], "promotion": [1]})
    with pytest.raises(HistoryError, match="no row for unique_id 'a', ds 2024-01-22"):
        forecast(history, horizon=2, exogenous=promotions)
    with pytest.raises(HistoryError, match="hierarchy columns"):
        forecast(history.assign(sku="same"), horizon=2, hierarchy=Hierarchy([[], ["sku"]]))
