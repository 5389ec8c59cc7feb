"""Calendar and promotion effects for the local models, as pooled multipliers.

statsforecast's smoothing models take no regressors, and AutoARIMA with regressors costs over a
second a series, so the effects are taken out before the local models see the history and put
back on their forecasts: each flag's (or promotion's) effect is the ratio of the sales in the
periods it marks to the sales in the unmarked periods just around them (two either side), summed
over every smooth series of the set, so a week of 30 SKUs gives 30 comparisons. An effect
within 5% of none, or seen fewer than three times, is left out. The global LightGBM model reads
the flags as features instead.

The effects are estimated on the whole history, cross-validation windows included: the windows
see a little of their own future through them (a multiplier per flag, not per period).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

NEIGHBOURS = 2
MIN_OCCURRENCES = 3
MIN_EFFECT = 0.05


def estimate(frame: pd.DataFrame, regressors: Sequence[str]) -> dict[str, float]:
    """Multiplier per regressor (only those that pass the rules above).

    ``frame``: unique_id, ds, y and the regressor columns, sorted by unique_id and ds; a
    regressor above 0.5 marks a period.
    """
    if not regressors:
        return {}
    marks = frame[list(regressors)].to_numpy(float) > 0.5
    any_mark = marks.any(axis=1)
    y = frame["y"].to_numpy(float)
    ids = frame["unique_id"].to_numpy()
    start = np.r_[0, np.flatnonzero(ids[1:] != ids[:-1]) + 1]
    end = np.r_[start[1:], len(ids)]
    marked_sum = np.zeros(len(regressors))
    base_sum = np.zeros(len(regressors))
    count = np.zeros(len(regressors), int)
    for lo, hi in zip(start, end, strict=True):
        series_marks = marks[lo:hi]
        free = ~any_mark[lo:hi]
        values = y[lo:hi]
        for j in range(len(regressors)):
            for t in np.flatnonzero(series_marks[:, j]):
                around = [
                    values[k]
                    for k in range(t - NEIGHBOURS, t + NEIGHBOURS + 1)
                    if k != t and 0 <= k < hi - lo and free[k]
                ]
                if len(around) < 2:
                    continue
                marked_sum[j] += values[t]
                base_sum[j] += float(np.mean(around))
                count[j] += 1
    effects: dict[str, float] = {}
    for j, name in enumerate(regressors):
        if count[j] < MIN_OCCURRENCES or base_sum[j] <= 0 or marked_sum[j] <= 0:
            continue
        ratio = marked_sum[j] / base_sum[j]
        if abs(np.log(ratio)) >= np.log1p(MIN_EFFECT):
            effects[name] = float(ratio)
    return effects


def factors(frame: pd.DataFrame, effects: Mapping[str, float]) -> np.ndarray:
    """Per row: the product of the effects its regressors switch on (fractions scale the log)."""
    out = np.ones(len(frame))
    for name, ratio in effects.items():
        out *= np.exp(np.log(ratio) * np.clip(frame[name].to_numpy(float), 0.0, 1.0))
    return out
