"""Yunfab's demand forecaster on a demand data set, beside a zero forecast, seasonal naive and
each single statsforecast model, all in the same run on the same split.

    python -m benchmarks.forecast DATA.csv --horizon H [--freq F] [--season-length S]
        [--hierarchy col,col] [--exogenous PROMOTIONS.csv] [--limit N] [--n-windows 3]
        [--no-holidays] [--models AutoETS,...] [--quick]

DATA.csv is long format: unique_id, ds, y (optional hierarchy columns, named with
``--hierarchy`` from the top: ``--hierarchy category,product`` is total -> category -> product
-> series). The
last H periods of every series are held out; everything before is the history. Printed per
method: pooled RMSE, mean MASE and RMSSE, the scaled pinball loss over the quantiles 0.5, 0.8,
0.9, 0.95 (and the unscaled pooled pinball), the 90% interval's coverage, bias and seconds.

Single models give their own intervals where they have them (AutoETS, AutoARIMA, AutoTheta,
SeasonalNaive: quantile q is the upper bound of the 2q-1 interval, the median their mean) and
statsforecast's conformal intervals (2 windows) where they do not (the Croston family). The
zero forecast's quantiles are all 0. The goal (issue #21): Yunfab at or below the best single
statsforecast model's pooled RMSE and scaled pinball loss, coverage between 0.85 and 0.95.

``--exogenous`` hands Yunfab regressors (promotions) covering the history and the held-out
periods, as a planner knows them in advance; the single models do not read them.
``--limit N`` and ``--quick`` keep a seeded sample of series (``--quick``: 30 series, 2
windows, under a minute on 2 cores). With ``--hierarchy`` the accuracy is over the bottom
series. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from demand_forecast import Hierarchy, accuracy, forecast, interval_columns, quantile_column
from demand_forecast.models import ALL_STATISTICAL, default_season_length, statistical_model

QUANTILES = (0.5, 0.8, 0.9, 0.95)
LEVEL = 90
COVERAGE_GOAL = (0.85, 0.95)
QUICK_SERIES = 30
SERIES = "_series"
NATIVE_INTERVALS = frozenset({"AutoETS", "AutoARIMA", "AutoTheta", "SeasonalNaive"})
METRICS = ("rmse", "mase", "rmsse", "scaled_pinball", "pinball", "coverage", "bias")


def read(path: Path, freq: str | None, hierarchy: Sequence[str]) -> tuple[pd.DataFrame, str]:
    data = pd.read_csv(path)
    missing = [c for c in ("unique_id", "ds", "y", *hierarchy) if c not in data.columns]
    if missing:
        raise SystemExit(f"{path}: missing column(s) {', '.join(missing)}")
    data["unique_id"] = data["unique_id"].astype(str)
    data["ds"] = pd.to_datetime(data["ds"])
    data = data.sort_values(["unique_id", "ds"]).reset_index(drop=True)
    if freq is None:
        longest = data.groupby("unique_id").size().idxmax()
        freq = pd.infer_freq(data.loc[data["unique_id"] == longest, "ds"])
        if freq is None:
            raise SystemExit("could not infer the frequency: pass --freq")
    return data, freq


def split(data: pd.DataFrame, horizon: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    from_end = data.groupby("unique_id").cumcount(ascending=False)
    train, test = data[from_end >= horizon], data[from_end < horizon]
    short = train.groupby("unique_id").size()
    keep = short.index[short >= 2]
    return train[train["unique_id"].isin(keep)], test[test["unique_id"].isin(keep)]


def sample(data: pd.DataFrame, limit: int | None, seed: int = 0) -> pd.DataFrame:
    ids = data["unique_id"].drop_duplicates()
    if limit is None or len(ids) <= limit:
        return data
    chosen = ids.sample(limit, random_state=seed)
    return data[data["unique_id"].isin(chosen)]


def _frame_from_levels(
    predicted: pd.DataFrame, name: str, quantiles: Sequence[float], level: int
) -> pd.DataFrame:
    out = predicted[["unique_id", "ds"]].copy()
    out["mean"] = predicted[name].clip(lower=0)
    for q in quantiles:
        column = quantile_column(q)
        if q == 0.5:
            out[column] = out["mean"]
        else:
            lvl = round(100 * (2 * q - 1))
            bound = f"{name}-hi-{lvl}" if q > 0.5 else f"{name}-lo-{round(100 * (1 - 2 * q))}"
            out[column] = predicted[bound].clip(lower=0)
    lo, hi = interval_columns(level)
    out[lo] = predicted[f"{name}-lo-{level}"].clip(lower=0)
    out[hi] = predicted[f"{name}-hi-{level}"].clip(lower=0)
    ordered = [quantile_column(q) for q in sorted(quantiles)]
    out[ordered] = np.maximum.accumulate(out[ordered].to_numpy(), axis=1)
    return out


def levels_for(quantiles: Sequence[float], level: int) -> list[int]:
    wanted = {level, *(round(100 * abs(2 * q - 1)) for q in quantiles if q != 0.5)}
    return sorted(wanted)


def single_model(
    name: str, train: pd.DataFrame, horizon: int, freq: str, season_length: int
) -> pd.DataFrame:
    from statsforecast import StatsForecast
    from statsforecast.models import Naive
    from statsforecast.utils import ConformalIntervals

    model = statistical_model(name, season_length)
    fallback = Naive()
    if name not in NATIVE_INTERVALS:
        conformal = ConformalIntervals(h=horizon, n_windows=2)
        model.prediction_intervals = conformal
        fallback = Naive(prediction_intervals=conformal)
    sf = StatsForecast(models=[model], freq=freq, n_jobs=1, fallback_model=fallback)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        predicted = sf.forecast(
            h=horizon, df=train[["unique_id", "ds", "y"]], level=levels_for(QUANTILES, LEVEL)
        )
    predicted["unique_id"] = predicted["unique_id"].astype(str)
    return _frame_from_levels(predicted, name, QUANTILES, LEVEL)


def zero_forecast(test: pd.DataFrame) -> pd.DataFrame:
    out = test[["unique_id", "ds"]].copy()
    for column in ["mean", *(quantile_column(q) for q in QUANTILES), *interval_columns(LEVEL)]:
        out[column] = 0.0
    return out


def score(
    name: str, frame: pd.DataFrame, test: pd.DataFrame, train: pd.DataFrame, m: int, seconds: float
) -> dict[str, Any]:
    result = accuracy(test, frame, train, season_length=m, quantiles=QUANTILES, level=LEVEL).pooled
    row: dict[str, Any] = {"method": name, "seconds": round(seconds, 2)}
    row.update({k: round(float(result[k]), 4) for k in METRICS})
    return row


def print_row(row: dict[str, Any]) -> None:
    print(
        f"{row['method']:<16s} {row['rmse']:>12,.2f} {row['mase']:>7.3f} {row['rmsse']:>7.3f}"
        f" {row['scaled_pinball']:>8.4f} {row['pinball']:>12,.3f} {row['coverage']:>9.3f}"
        f" {row['bias']:>+8.3f} {row['seconds']:>8.1f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--horizon", type=int, required=True)
    parser.add_argument("--freq")
    parser.add_argument("--season-length", type=int)
    parser.add_argument("--hierarchy", default="", help="columns from the top, comma-separated")
    parser.add_argument("--limit", type=int, help="a seeded sample of this many series")
    parser.add_argument("--n-windows", type=int, default=3)
    parser.add_argument("--no-holidays", action="store_true")
    parser.add_argument(
        "--exogenous", type=Path, help="CSV of unique_id, ds and regressors (promotions)"
    )
    parser.add_argument("--models", default=",".join(ALL_STATISTICAL))
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()

    columns = [c for c in args.hierarchy.split(",") if c]
    data, freq = read(args.data, args.freq, columns)
    limit = QUICK_SERIES if args.quick else args.limit
    if columns and limit is not None:
        # Sample whole top-level groups so the hierarchy stays whole.
        groups = data[columns[0]].drop_duplicates().sample(frac=1.0, random_state=0)
        kept: list[str] = []
        for group in groups:
            ids = data.loc[data[columns[0]] == group, "unique_id"].unique().tolist()
            if kept and len(kept) + len(ids) > limit:
                break
            kept.extend(ids)
        data = data[data["unique_id"].isin(kept)]
    else:
        data = sample(data, limit)
    m = args.season_length or default_season_length(freq)
    n_windows = 2 if args.quick else args.n_windows
    train, test = split(data, args.horizon)
    n_series = train["unique_id"].nunique()
    print(
        f"{args.data.name}: {n_series} series, {len(train):,} history rows, horizon"
        f" {args.horizon}, freq {freq}, season {m}, {n_windows} CV windows"
        + (" (quick)" if args.quick else ""),
        flush=True,
    )
    header = (
        f"{'method':<16s} {'RMSE':>12s} {'MASE':>7s} {'RMSSE':>7s} {'SPL':>8s}"
        f" {'pinball':>12s} {'cov90':>9s} {'bias':>8s} {'seconds':>8s}"
    )
    print(header)
    rows: list[dict[str, Any]] = []

    hierarchy = None
    if columns:
        # The series themselves are the bottom level, under the named columns.
        train = train.assign(**{SERIES: train["unique_id"]})
        levels = [columns[: i + 1] for i in range(len(columns))]
        hierarchy = Hierarchy([[], *levels, [*columns, SERIES]])
    exogenous = None
    if args.exogenous is not None:
        exogenous = pd.read_csv(args.exogenous, parse_dates=["ds"])
        exogenous["unique_id"] = exogenous["unique_id"].astype(str)
        exogenous = exogenous[exogenous["unique_id"].isin(set(train["unique_id"]))]
    started = time.perf_counter()
    ours = forecast(
        train,
        horizon=args.horizon,
        freq=freq,
        quantiles=QUANTILES,
        level=LEVEL,
        season_length=m,
        hierarchy=hierarchy,
        holidays=not args.no_holidays,
        exogenous=exogenous,
        n_windows=n_windows,
    )
    elapsed = time.perf_counter() - started
    bottom = ours.frame[ours.frame["unique_id"].isin(set(train["unique_id"]))]
    yunfab = score("Yunfab", bottom, test, train, m, elapsed)
    print_row(yunfab)

    zero = score("Zero", zero_forecast(test), test, train, m, 0.0)
    print_row(zero)
    singles: list[dict[str, Any]] = []
    for name in [n for n in args.models.split(",") if n]:
        started = time.perf_counter()
        frame = single_model(name, train, args.horizon, freq, m)
        singles.append(score(name, frame, test, train, m, time.perf_counter() - started))
        print_row(singles[-1])
    rows = [yunfab, zero, *singles]

    best_rmse = min(singles, key=lambda r: r["rmse"])
    best_spl = min(singles, key=lambda r: r["scaled_pinball"])
    goal = {
        "rmse_at_or_below_best_single": yunfab["rmse"] <= best_rmse["rmse"],
        "scaled_pinball_at_or_below_best_single": yunfab["scaled_pinball"]
        <= best_spl["scaled_pinball"],
        "coverage_in_range": COVERAGE_GOAL[0] <= yunfab["coverage"] <= COVERAGE_GOAL[1],
    }
    print(
        f"reference: best single RMSE {best_rmse['method']} {best_rmse['rmse']:,.2f}"
        f" (Yunfab {yunfab['rmse']:,.2f}); best single SPL {best_spl['method']}"
        f" {best_spl['scaled_pinball']:.4f} (Yunfab {yunfab['scaled_pinball']:.4f});"
        f" coverage goal {COVERAGE_GOAL[0]}-{COVERAGE_GOAL[1]} (Yunfab {yunfab['coverage']:.3f})"
    )
    chosen = pd.Series(ours.chosen).value_counts()
    print("chosen:", ", ".join(f"{name} {count}" for name, count in chosen.head(8).items()))
    print(
        json.dumps(
            {
                "benchmark": "forecast",
                "data": args.data.name,
                "quick": args.quick,
                "series": n_series,
                "horizon": args.horizon,
                "freq": freq,
                "season_length": m,
                "n_windows": n_windows,
                "yunfab": yunfab,
                "reference": {"best_rmse": best_rmse, "best_scaled_pinball": best_spl},
                "goal": goal,
                "methods": rows,
                "chosen": {str(k): int(v) for k, v in chosen.items()},
                "reconciliation": ours.reconciliation,
            }
        )
    )


if __name__ == "__main__":
    main()
