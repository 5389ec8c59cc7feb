"""Rolling-origin cross-validation of the candidates and the choice per series.

Each series is cut at ``n_windows`` origins ``horizon`` periods apart, so the windows do not
overlap and together cover the last ``n_windows * horizon`` periods; every candidate forecasts
``horizon`` periods from each origin. A series too short for all windows gets as many as fit
(fewer than one: no cross-validation, see `forecaster`). The candidates of a series are its
class's models, the global LightGBM model where it ran, and the mean of its best two and best
three models; the lowest mean squared error over the windows wins.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from demand_forecast.models import (
    ALL_STATISTICAL,
    FORWARD_MODELS,
    GLOBAL_MODEL,
    SIGMA_LEVEL,
    SIGMA_SUFFIX,
    GlobalSpec,
    fallback_model,
    global_model,
    sigma_from_interval,
    statistical_model,
)

COMBO_PREFIX = "Combo"


def combo_name(members: Sequence[str]) -> str:
    """``Combo(a+b)`` with the members in the candidates' canonical order."""
    order = {name: i for i, name in enumerate((*ALL_STATISTICAL, GLOBAL_MODEL))}
    ordered = sorted(members, key=lambda n: (order.get(n, len(order)), n))
    return f"{COMBO_PREFIX}({'+'.join(ordered)})"


def combo_members(name: str) -> tuple[str, ...]:
    if name.startswith(COMBO_PREFIX + "("):
        return tuple(name[len(COMBO_PREFIX) + 1 : -1].split("+"))
    return (name,)


def windows_per_series(
    lengths: pd.Series, *, horizon: int, n_windows: int, min_train: int
) -> pd.Series:
    """How many non-overlapping windows fit each series, leaving ``min_train`` to fit on."""
    fit = (lengths - min_train) // horizon
    return fit.clip(lower=0, upper=n_windows).astype(int)


def cross_validate_statistical(
    frame: pd.DataFrame,
    names: Sequence[str],
    *,
    freq: str,
    season_length: int,
    horizon: int,
    n_windows: int,
    n_jobs: int,
) -> pd.DataFrame:
    """unique_id, ds, cutoff, y, one column per model and, for the models with a forecast
    distribution, ``<model>__sigma`` (its standard deviation, from its 80% interval)."""
    from statsforecast import StatsForecast

    parts: list[pd.DataFrame] = []
    forward = [n for n in names if n in FORWARD_MODELS]
    refit = [n for n in names if n not in FORWARD_MODELS]
    for group, refit_each in ((forward, False), (refit, True)):
        if not group:
            continue
        sf = StatsForecast(
            models=[statistical_model(n, season_length) for n in group],
            freq=freq,
            n_jobs=n_jobs,
            fallback_model=fallback_model(),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cv = sf.cross_validation(
                h=horizon,
                df=frame,
                n_windows=n_windows,
                step_size=horizon,
                refit=refit_each,
                level=None if refit_each else [SIGMA_LEVEL],
            )
        if not refit_each:
            for name in group:
                lo, hi = f"{name}-lo-{SIGMA_LEVEL}", f"{name}-hi-{SIGMA_LEVEL}"
                cv[name + SIGMA_SUFFIX] = sigma_from_interval(cv[lo].to_numpy(), cv[hi].to_numpy())
                cv = cv.drop(columns=[lo, hi])
        parts.append(cv)
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge(part.drop(columns="y"), on=["unique_id", "ds", "cutoff"])
    return merged


def cross_validate_global(
    frame: pd.DataFrame, spec: GlobalSpec, *, horizon: int, n_windows: int, min_length: int
) -> pd.DataFrame:
    """unique_id, ds, cutoff, y, LightGBM for the series in ``frame`` (one model, refitted per
    window on everything before the window's origin)."""
    mlf = global_model(spec, min_length - n_windows * horizon)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cv = mlf.cross_validation(
            df=frame,
            n_windows=n_windows,
            h=horizon,
            step_size=horizon,
            static_features=[],
        )
    return cv[["unique_id", "ds", "cutoff", "y", GLOBAL_MODEL]]


@dataclass(frozen=True)
class Choice:
    chosen: Mapping[str, str]
    """unique_id -> the winning candidate (a model or a ``Combo(a+b)``)."""
    scores: pd.DataFrame
    """unique_id, model, rmse, mae, windows, chosen (bool): every candidate's CV error."""
    cv: pd.DataFrame
    """unique_id, ds, cutoff, step, y, forecast: out-of-sample errors for the intervals (see
    `choose`)."""


SPREAD = "spread"


def _sigma(group: pd.DataFrame, name: str) -> np.ndarray:
    """The spread the intervals scale by: the series' reference spread (``spread`` column)
    where the caller set one, else the candidate's own."""
    column = SPREAD if SPREAD in group.columns else name + SIGMA_SUFFIX
    if column not in group.columns:
        return np.full(len(group), np.nan)
    values: np.ndarray = np.asarray(group[column].to_numpy(float), float)
    return values


def combined_sigma(sigmas: Sequence[np.ndarray]) -> np.ndarray:
    """A combination's spread: the members' mean, NaN where a member has none."""
    return np.asarray(np.mean(np.vstack(sigmas), axis=0), float)


def _candidates_of(
    group: pd.DataFrame, names: Sequence[str], combo_sizes: Sequence[int], rows: np.ndarray
) -> tuple[dict[str, np.ndarray], dict[str, float], dict[str, str], dict[str, np.ndarray]]:
    """Forecasts (all rows of ``group``), MSE on ``rows``, pool labels and spreads."""
    y = group["y"].to_numpy(float)[rows]
    forecasts: dict[str, np.ndarray] = {}
    sigma: dict[str, np.ndarray] = {}
    for name in names:
        values = group[name].to_numpy(float)
        if np.isfinite(values).all():
            forecasts[name] = np.clip(values, 0.0, None)
            sigma[name] = _sigma(group, name)
    mse = {name: float(np.mean((y - f[rows]) ** 2)) for name, f in forecasts.items()}
    label = {name: name for name in forecasts}
    ranked = sorted(forecasts, key=lambda n: mse[n])
    for k in combo_sizes:
        if 1 < k <= len(ranked):
            members = tuple(ranked[:k])
            name = combo_name(members)
            if name in forecasts:
                continue
            forecasts[name] = np.mean([forecasts[n] for n in members], axis=0)
            sigma[name] = combined_sigma([sigma[n] for n in members])
            mse[name] = float(np.mean((y - forecasts[name][rows]) ** 2))
            label[name] = f"best {k}"
    return forecasts, mse, label, sigma


@dataclass(frozen=True)
class _Found:
    forecasts: dict[str, np.ndarray]
    mse: dict[str, float]
    label: dict[str, str]
    sigma: dict[str, np.ndarray]


def _pick(
    groups: Mapping[str, pd.DataFrame],
    candidates: Mapping[str, Sequence[str]],
    scales: Mapping[str, float],
    combo_sizes: Sequence[int],
    pooling: float,
    rows_of: Mapping[str, np.ndarray],
) -> tuple[dict[str, str], dict[str, _Found]]:
    pooled: dict[str, list[float]] = {}
    found: dict[str, _Found] = {}
    for uid, group in groups.items():
        forecasts, mse, label, sigma = _candidates_of(
            group, candidates[uid], combo_sizes, rows_of[uid]
        )
        if not forecasts:
            raise RuntimeError(f"no candidate model produced a forecast for {uid!r}")
        found[uid] = _Found(forecasts, mse, label, sigma)
        for name, tag in label.items():
            pooled.setdefault(tag, []).append(mse[name] / scales[uid] ** 2)
    pool = {tag: float(np.mean(values)) for tag, values in pooled.items()}
    picked: dict[str, str] = {}
    for uid, got in found.items():
        scale = scales[uid] ** 2
        score = {
            name: (1 - pooling) * got.mse[name] / scale + pooling * pool[got.label[name]]
            for name in got.forecasts
        }
        picked[uid] = min(got.forecasts, key=lambda n: score[n])
    return picked, found


def choose(
    cv: pd.DataFrame,
    candidates: Mapping[str, Sequence[str]],
    *,
    scales: Mapping[str, float],
    combo_sizes: Sequence[int] = (2, 3),
    pooling: float = 0.5,
) -> Choice:
    """The candidate with the lowest cross-validation score per series.

    A series' score of a candidate blends its own mean squared error (divided by the series'
    squared scale) with the candidate's mean of that over all series that had it, weighted
    ``1 - pooling`` and ``pooling``: a few windows per series make the own error noisy, and
    the pooled one says what works on this kind of data. Combinations enter the pool as "mean
    of the best k". ``candidates`` maps each unique_id in ``cv`` to the model columns it may
    use; NaN forecasts (a model that could not run) rule a candidate out.

    The errors handed on for the intervals (`Choice.cv`) are out of sample twice over where a
    series has two windows or more: for each window, the candidate picked on the other windows,
    on that window (the winner's errors on the windows it was picked on are too small).
    """
    cv = cv.sort_values(["unique_id", "cutoff", "ds"]).reset_index(drop=True)
    cv["step"] = cv.groupby(["unique_id", "cutoff"]).cumcount() + 1
    groups = {str(uid): group for uid, group in cv.groupby("unique_id", sort=True)}
    every = {uid: np.ones(len(g), bool) for uid, g in groups.items()}
    chosen, found = _pick(groups, candidates, scales, combo_sizes, pooling, every)
    windows_of = {uid: g["cutoff"].to_numpy() for uid, g in groups.items()}
    several = [uid for uid, g in groups.items() if g["cutoff"].nunique() > 1]
    held_out: dict[str, tuple[np.ndarray, np.ndarray]] = {
        uid: (np.full(len(groups[uid]), np.nan), np.full(len(groups[uid]), np.nan))
        for uid in several
    }
    for cutoff in sorted(cv["cutoff"].unique()):
        ids = [uid for uid in several if (windows_of[uid] == cutoff).any()]
        if not ids:
            continue
        picked, picked_found = _pick(
            {uid: groups[uid] for uid in ids},
            candidates,
            scales,
            combo_sizes,
            pooling,
            {uid: windows_of[uid] != cutoff for uid in ids},
        )
        for uid in ids:
            rows = windows_of[uid] == cutoff
            held_out[uid][0][rows] = picked_found[uid].forecasts[picked[uid]][rows]
            held_out[uid][1][rows] = picked_found[uid].sigma[picked[uid]][rows]

    score_rows: list[tuple[str, str, float, float, int]] = []
    winner_parts: list[pd.DataFrame] = []
    for uid, group in groups.items():
        forecasts, mse = found[uid].forecasts, found[uid].mse
        y = group["y"].to_numpy(float)
        windows = int(group["cutoff"].nunique())
        for name, values in forecasts.items():
            score_rows.append(
                (uid, name, float(np.sqrt(mse[name])), float(np.mean(np.abs(y - values))), windows)
            )
        if uid in held_out:
            honest, spread = held_out[uid]
        else:
            honest, spread = forecasts[chosen[uid]], found[uid].sigma[chosen[uid]]
        winner_parts.append(
            pd.DataFrame(
                {
                    "unique_id": uid,
                    "ds": group["ds"].to_numpy(),
                    "cutoff": group["cutoff"].to_numpy(),
                    "step": group["step"].to_numpy(),
                    "y": y,
                    "forecast": honest,
                    "sigma": spread,
                }
            )
        )
    scores = pd.DataFrame(score_rows, columns=["unique_id", "model", "rmse", "mae", "windows"])
    scores["chosen"] = [
        chosen[u] == m for u, m in zip(scores["unique_id"], scores["model"], strict=True)
    ]
    return Choice(chosen=chosen, scores=scores, cv=pd.concat(winner_parts, ignore_index=True))
