"""Forecast accuracy as actuals arrive: per series and pooled.

- MASE: mean absolute error over the in-sample mean absolute seasonal difference
  (|y_t - y_{t-m}|, m = season_length; m = 1 when the history is shorter than m + 1), as in M4.
- RMSSE: root mean squared error over the in-sample mean squared one-step difference, as in M5.
- bias: mean of forecast - actual (positive = over-forecast); pooled as sum(f - a) / sum(a).
- RMSE: per series, and pooled over every (series, period) point.
- scaled pinball loss: the pinball loss averaged over the quantiles and periods, divided by the
  MASE scale (M5's SPL with M4's scale); pooled as the mean over series. ``pinball`` (pooled) is
  the unscaled mean over all points, which large series dominate as they dominate RMSE.
- coverage: share of actuals inside the central ``level``% interval (lo/hi columns).

A series whose history has no variation (all zeros, say) has no scale: its scaled metrics are
NaN and left out of the means (``unscaled_series`` counts them). Actuals are demand: negative
values (returns) count as 0, as the forecaster counts them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from demand_forecast.history import HistoryError, check_columns


def quantile_column(q: float) -> str:
    """The frame column of quantile ``q``: ``q50`` for 0.5, ``q975`` for 0.975."""
    if not 0.0 < q < 1.0:
        raise ValueError(f"quantile {q} is not between 0 and 1")
    percent = round(q * 100, 6)
    if percent == int(percent):
        return f"q{int(percent)}"
    return "q" + f"{percent:g}".replace(".", "")


def interval_columns(level: int) -> tuple[str, str]:
    if not 0 < level < 100:
        raise ValueError(f"level {level} is not between 0 and 100")
    return f"lo{level}", f"hi{level}"


@dataclass(frozen=True)
class Accuracy:
    per_series: pd.DataFrame
    """unique_id, n, mase, rmsse, bias, rmse, scaled_pinball, coverage."""
    pooled: Mapping[str, float]
    """rmse, mase, rmsse, bias, pinball, scaled_pinball, coverage, series, unscaled_series."""


def series_scales(history: pd.DataFrame, season_length: int) -> pd.DataFrame:
    """Per unique_id: ``mae_scale`` (seasonal differences) and ``mse_scale`` (one-step)."""
    rows = []
    for uid, group in history.sort_values(["unique_id", "ds"]).groupby("unique_id", sort=False):
        y = group["y"].to_numpy(float)
        m = season_length if y.size > season_length else 1
        seasonal = np.abs(y[m:] - y[:-m]) if y.size > m else np.array([])
        step = np.diff(y)
        rows.append(
            (
                uid,
                float(seasonal.mean()) if seasonal.size else np.nan,
                float((step**2).mean()) if step.size else np.nan,
            )
        )
    scales = pd.DataFrame(rows, columns=["unique_id", "mae_scale", "mse_scale"])
    scales.loc[scales["mae_scale"] <= 0, "mae_scale"] = np.nan
    scales.loc[scales["mse_scale"] <= 0, "mse_scale"] = np.nan
    return scales


def pinball(y: np.ndarray, forecast: np.ndarray, q: float) -> np.ndarray:
    diff = y - forecast
    loss: np.ndarray = np.maximum(q * diff, (q - 1.0) * diff)
    return loss


def accuracy(
    actuals: pd.DataFrame,
    forecast: pd.DataFrame,
    history: pd.DataFrame,
    *,
    season_length: int,
    quantiles: Sequence[float],
    level: int,
) -> Accuracy:
    """Per-series and pooled accuracy of ``forecast`` (a `Forecast.frame`) against ``actuals``.

    Every actual (unique_id, ds) must have a forecast row; forecast rows without an actual are
    ignored (the horizon not reached yet).
    """
    if season_length < 1:
        raise ValueError("season_length must be at least 1")
    q_columns = [quantile_column(q) for q in quantiles]
    lo, hi = interval_columns(level)
    actuals = check_columns(actuals, ["unique_id", "ds", "y"], "actuals")
    forecast = check_columns(forecast, ["unique_id", "ds", "mean", *q_columns, lo, hi], "forecast")
    history = check_columns(history, ["unique_id", "ds", "y"], "history")
    keys = {"unique_id": str}
    actuals = actuals.astype(keys).assign(ds=lambda f: pd.to_datetime(f["ds"]))
    forecast = forecast.astype(keys).assign(ds=lambda f: pd.to_datetime(f["ds"]))
    history = history.astype(keys).assign(
        ds=lambda f: pd.to_datetime(f["ds"]), y=lambda f: f["y"].astype(float).clip(lower=0)
    )
    joined = actuals[["unique_id", "ds", "y"]].merge(
        forecast, on=["unique_id", "ds"], how="left", validate="one_to_one", indicator=True
    )
    unmatched = joined["_merge"] != "both"
    if unmatched.any():
        row = joined[unmatched].iloc[0]
        raise HistoryError(
            f"actuals row for unique_id {row['unique_id']!r}, ds {row['ds'].date()} has no forecast"
        )
    joined["y"] = joined["y"].astype(float).clip(lower=0)
    scales = series_scales(history, season_length)
    joined = joined.merge(scales, on="unique_id", how="left")

    y = joined["y"].to_numpy(float)
    mean = joined["mean"].to_numpy(float)
    error = mean - y
    loss = np.mean(
        [
            pinball(y, joined[c].to_numpy(float), q)
            for q, c in zip(quantiles, q_columns, strict=True)
        ],
        axis=0,
    )
    inside = (y >= joined[lo].to_numpy(float)) & (y <= joined[hi].to_numpy(float))
    points = pd.DataFrame(
        {
            "unique_id": joined["unique_id"],
            "abs": np.abs(error),
            "sq": error**2,
            "err": error,
            "loss": loss,
            "inside": inside.astype(float),
            "mae_scale": joined["mae_scale"],
            "mse_scale": joined["mse_scale"],
        }
    )
    grouped = points.groupby("unique_id", sort=True)
    per = grouped.agg(
        n=("abs", "size"),
        mae=("abs", "mean"),
        mse=("sq", "mean"),
        bias=("err", "mean"),
        loss=("loss", "mean"),
        coverage=("inside", "mean"),
        mae_scale=("mae_scale", "first"),
        mse_scale=("mse_scale", "first"),
    ).reset_index()
    per["mase"] = per["mae"] / per["mae_scale"]
    per["rmsse"] = np.sqrt(per["mse"] / per["mse_scale"])
    per["rmse"] = np.sqrt(per["mse"])
    per["scaled_pinball"] = per["loss"] / per["mae_scale"]
    per_series = per[
        ["unique_id", "n", "mase", "rmsse", "bias", "rmse", "scaled_pinball", "coverage"]
    ]
    total = float(y.sum())
    pooled = {
        "rmse": float(np.sqrt(points["sq"].mean())),
        "mase": float(per["mase"].mean()),
        "rmsse": float(per["rmsse"].mean()),
        "bias": float(error.sum() / total) if total > 0 else float(error.mean()),
        "pinball": float(loss.mean()),
        "scaled_pinball": float(per["scaled_pinball"].mean()),
        "coverage": float(inside.mean()),
        "series": float(len(per)),
        "unscaled_series": float(per["mae_scale"].isna().sum()),
    }
    return Accuracy(per_series=per_series, pooled=pooled)
