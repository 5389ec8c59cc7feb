"""The candidate models: statsforecast's local models per demand class and a global LightGBM.

Smooth and erratic series get the exponential-smoothing family (AutoETS, AutoARIMA, AutoTheta,
seasonal naive); intermittent and lumpy ones the Croston family (Croston, SBA, TSB, ADIDA,
IMAPA), which forecast a demand rate instead of a level that drops to zero after each sale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

SMOOTH_MODELS = ("AutoETS", "AutoARIMA", "AutoTheta", "SeasonalNaive")
# With a season longer than this (52 weeks), AutoETS and AutoARIMA cost 0.1-0.3 s a series
# and fit the season badly; MSTL (the season by STL, the rest by AutoETS) takes their place.
# Seasonal naive, last year's week, made poor combinations there (docs/forecasting.md).
LONG_SEASON = 24
LONG_SEASON_MODELS = ("MSTL", "AutoTheta")
INTERMITTENT_MODELS = ("CrostonClassic", "CrostonSBA", "TSB", "ADIDA", "IMAPA")
ALL_STATISTICAL = (
    "AutoETS",
    "AutoARIMA",
    "MSTL",
    "AutoTheta",
    "SeasonalNaive",
    *INTERMITTENT_MODELS,
)
GLOBAL_MODEL = "LightGBM"
# Models that can reuse the parameters fitted on the first cross-validation window on later
# windows (statsforecast's `forward`); the others are refitted per window, which is cheap.
# These also have their own forecast distributions, whose spread the intervals use.
FORWARD_MODELS = frozenset({"AutoETS", "AutoARIMA", "MSTL", "AutoTheta", "SeasonalNaive"})
SIGMA_LEVEL = 80
SIGMA_SUFFIX = "__sigma"
_Z80 = 1.2815515655446004


def sigma_from_interval(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The normal standard deviation that an 80% interval [lo, hi] implies."""
    return np.asarray((hi - lo) / (2 * _Z80), float)


# TSB needs its two smoothing constants: 0.1 for both is the usual starting point (Teunter,
# Syntetos & Babai 2011) and close to what their grid search picked on their data.
TSB_ALPHAS = (0.1, 0.1)
DEFAULT_SEASON = {
    "W": 52,
    "D": 7,
    "B": 5,
    "H": 24,
    "h": 24,
    "M": 12,
    "MS": 12,
    "ME": 12,
    "Q": 4,
    "QS": 4,
    "QE": 4,
    "Y": 1,
    "YS": 1,
    "YE": 1,
    "A": 1,
    "AS": 1,
}


def smooth_models(season_length: int) -> tuple[str, ...]:
    """The smooth family's candidates for this season length."""
    return SMOOTH_MODELS if season_length <= LONG_SEASON else LONG_SEASON_MODELS


def default_season_length(freq: str) -> int:
    """52 for weekly, 12 for monthly, 4 for quarterly, 7 for daily, 24 for hourly, else 1."""
    base = freq.split("-")[0].lstrip("0123456789")
    return DEFAULT_SEASON.get(base, 1)


def statistical_model(name: str, season_length: int) -> Any:
    """A fresh statsforecast model; its alias is ``name``."""
    from statsforecast import models as sf

    m = max(1, season_length)
    if name == "AutoETS":
        return sf.AutoETS(season_length=m, alias=name)
    if name == "AutoARIMA":
        # Beyond LONG_SEASON only the non-seasonal orders (a 52-week seasonal search takes
        # about a second a series).
        return sf.AutoARIMA(season_length=m if m <= LONG_SEASON else 1, alias=name)
    if name == "MSTL":
        return sf.MSTL(season_length=m, trend_forecaster=sf.AutoETS(model="ZZN"), alias=name)
    if name == "AutoTheta":
        return sf.AutoTheta(season_length=m, alias=name)
    if name == "SeasonalNaive":
        return sf.SeasonalNaive(season_length=m, alias=name)
    if name == "CrostonClassic":
        return sf.CrostonClassic(alias=name)
    if name == "CrostonSBA":
        return sf.CrostonSBA(alias=name)
    if name == "TSB":
        return sf.TSB(alpha_d=TSB_ALPHAS[0], alpha_p=TSB_ALPHAS[1], alias=name)
    if name == "ADIDA":
        return sf.ADIDA(alias=name)
    if name == "IMAPA":
        return sf.IMAPA(alias=name)
    if name == "Naive":
        return sf.Naive(alias=name)
    raise ValueError(f"unknown model {name!r}")


def fallback_model() -> Any:
    """What statsforecast uses for a series on which a model fails (too short, constant)."""
    from statsforecast.models import Naive

    return Naive()


@dataclass(frozen=True)
class GlobalSpec:
    """The LightGBM model's features; lags beyond the training length are dropped."""

    freq: str
    season_length: int
    exogenous: Sequence[str]
    n_jobs: int = 1
    seed: int = 0


def _week_of_year(dates: pd.DatetimeIndex) -> np.ndarray:
    return np.asarray(dates.isocalendar().week.to_numpy(), dtype=np.int64)


def global_model(spec: GlobalSpec, min_length: int) -> Any:
    """mlforecast's MLForecast with a LightGBM regressor on lags, rolling means and calendar.

    Recursive (one model, its own forecasts fed back as lags); each series is standardised by
    its own mean and standard deviation so one model serves small and large series.
    """
    import lightgbm as lgb
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import RollingMean
    from mlforecast.target_transforms import LocalStandardScaler

    m = spec.season_length
    lags = [lag for lag in (1, 2, 3, 4, m) if lag < min_length - 2]
    windows = [w for w in (4, m) if w < min_length - 2 and w > 1]
    dates: list[Any] = ["month"]
    if m >= 52:
        dates.append(_week_of_year)
    return MLForecast(
        models={
            GLOBAL_MODEL: lgb.LGBMRegressor(
                n_estimators=200,
                learning_rate=0.05,
                num_leaves=31,
                min_child_samples=20,
                subsample=0.8,
                subsample_freq=1,
                colsample_bytree=0.8,
                random_state=spec.seed,
                n_jobs=spec.n_jobs,
                verbose=-1,
            )
        },
        freq=spec.freq,
        lags=sorted(set(lags)),
        lag_transforms={1: [RollingMean(window_size=w) for w in sorted(set(windows))]},
        date_features=dates,
        target_transforms=[LocalStandardScaler()],
        num_threads=spec.n_jobs,
    )
