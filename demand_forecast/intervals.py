"""Quantiles and intervals by split conformal prediction on the cross-validation errors: what
intermittent series (which no candidate gives a distribution) get, and smooth series without
a model spread (`forecaster` gives the others the spread model's normal quantiles).

The chosen forecast's out-of-sample errors (actual - forecast, see `selection.choose`) are
divided by each series' scale and pooled by group (demand family, and hierarchy level where
there is one: totals are smoother than SKUs) and by step ahead; quantile p of a forecast is
``mean + scale * Q_p`` of its pool. Pooling is what makes a few windows per series enough, and
the errors are h-step errors, so the intervals widen with the horizon as the errors did. One
method serves every candidate, combinations and the Croston family included, which have no
model-based intervals. A pool smaller than `MIN_POOL` falls back to the group over all steps,
then to the family over all levels, then to everything. Quantiles are clipped at 0 (demand)
and made monotone in p.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

MIN_POOL = 30
# Without any window anywhere (every series too short): a normal band of one scale.
_NORMAL = np.array([-2.326, -1.6449, -1.2816, -0.8416, 0.0, 0.8416, 1.2816, 1.6449, 2.326])


def _normaliser(frame: pd.DataFrame, scales: Mapping[str, float]) -> tuple[np.ndarray, list[str]]:
    sigma = (
        frame["sigma"].to_numpy(float) if "sigma" in frame.columns else np.full(len(frame), np.nan)
    )
    scale = frame["unique_id"].map(scales).to_numpy(float)
    own = np.isfinite(sigma) & (sigma > 0)
    return np.where(own, sigma, scale), ["model" if o else "scale" for o in own]


def conformal_quantiles(
    forecasts: pd.DataFrame,
    errors: pd.DataFrame,
    *,
    scales: Mapping[str, float],
    groups: Mapping[str, tuple[str, str]],
    probabilities: Sequence[float],
) -> np.ndarray:
    """Array (rows of ``forecasts``, probabilities) of quantile forecasts.

    ``forecasts``: unique_id, step, mean, sigma. ``errors``: unique_id, step, error, sigma
    from the windows. ``sigma`` is the model's own standard deviation of that forecast (NaN
    where it has none): errors are divided by it where there is one, else by the series'
    scale, and the two kinds are pooled apart. ``groups``: unique_id -> (family, level).
    ``scales`` must be positive for every series.
    """
    norm, kind = _normaliser(errors, scales)
    z = errors["error"].to_numpy(float) / norm
    pool = pd.DataFrame(
        {
            "group": [(*groups[u], k) for u, k in zip(errors["unique_id"], kind, strict=True)],
            "family": errors["unique_id"].map(lambda u: groups[u][0]),
            "step": errors["step"].to_numpy(int),
            "z": z,
        }
    )
    pool = pool[np.isfinite(pool["z"])]
    by_step = {(g, int(s)): v["z"].to_numpy() for (g, s), v in pool.groupby(["group", "step"])}
    by_group = {g: v["z"].to_numpy() for g, v in pool.groupby("group")}
    by_family = {f: v["z"].to_numpy() for f, v in pool.groupby("family")}
    everything = pool["z"].to_numpy()

    probs = np.asarray(probabilities, float)
    out = np.empty((len(forecasts), len(probs)))
    cache: dict[tuple[tuple[str, str, str], int], np.ndarray] = {}
    uids = forecasts["unique_id"].to_numpy()
    steps = forecasts["step"].to_numpy(int)
    means = forecasts["mean"].to_numpy(float)
    norms, kinds = _normaliser(forecasts, scales)
    empty = np.array([])
    rows = zip(uids, steps, means, norms, kinds, strict=True)
    for i, (uid, step, mean, norm_i, kind_i) in enumerate(rows):
        group = (*groups[uid], kind_i)
        key = (group, int(step))
        if key not in cache:
            for candidate in (
                by_step.get(key, empty),
                by_group.get(group, empty),
                by_family.get(group[0], empty),
                everything,
            ):
                if candidate.size >= MIN_POOL:
                    break
            if candidate.size == 0:
                candidate = _NORMAL
            cache[key] = np.quantile(candidate, probs)
        out[i] = mean + norm_i * cache[key]
    out = np.clip(out, 0.0, None)
    order = np.argsort(probs)
    out[:, order] = np.maximum.accumulate(out[:, order], axis=1)
    return out
