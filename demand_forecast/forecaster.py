"""`forecast()`: history in, probabilistic (and, given a hierarchy, coherent) forecasts out.

1. The history is checked and made regular (`history`); returns are reported, not forecast.
2. Each series is classed by the ADI/CV² rule (`classification`): smooth and erratic series get
   the smoothing family, intermittent and lumpy series the Croston family (`models`).
3. Rolling-origin cross-validation picks, per series, a model or the mean of its best two or
   three; a global LightGBM model competes where there are enough series and history
   (`selection`). The calendar's Spring Festival, 618 and Double 11 flags (`calendar`) and
   the caller's promotions are taken out of the history as pooled multipliers for the local
   models and put back on their forecasts (`effects`); LightGBM reads them as features.
4. With a hierarchy, the means are reconciled (`reconcile`).
5. Quantiles: a smooth series takes AutoTheta's (for the season length's first available
   model in `SPREAD_MODELS`) forecast standard deviation around its chosen mean; intermittent
   series, and any without that spread, conformal quantiles from the out-of-sample errors of
   the cross-validation windows (`intervals`, reconciled ones where the means were), which
   intermittent series blend with the quantiles of their own recent demand.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np
import pandas as pd

from demand_forecast.accuracy import interval_columns, quantile_column, series_scales
from demand_forecast.calendar import HOLIDAY_COLUMNS, holiday_flags
from demand_forecast.classification import INTERMITTENT_CLASSES, classify_demand
from demand_forecast.effects import estimate as estimate_effects
from demand_forecast.effects import factors as effect_factors
from demand_forecast.history import (
    HistoryError,
    check_columns,
    parse_keys,
    parse_numbers,
    prepare_history,
)
from demand_forecast.intervals import conformal_quantiles
from demand_forecast.models import (
    FORWARD_MODELS,
    GLOBAL_MODEL,
    INTERMITTENT_MODELS,
    SIGMA_LEVEL,
    SIGMA_SUFFIX,
    GlobalSpec,
    default_season_length,
    fallback_model,
    global_model,
    sigma_from_interval,
    smooth_models,
    statistical_model,
)
from demand_forecast.reconcile import Hierarchy, Structure, aggregate, reconcile_means
from demand_forecast.selection import (
    SPREAD,
    choose,
    combo_members,
    cross_validate_global,
    cross_validate_statistical,
    windows_per_series,
)

SMOOTH = "smooth"
INTERMITTENT = "intermittent"
# What a series too short for one cross-validation window gets.
SHORT_DEFAULT = {SMOOTH: "AutoETS", INTERMITTENT: "CrostonSBA"}
# The smooth family's yardstick of difficulty for the intervals, first one present.
SPREAD_MODELS = ("AutoTheta", "AutoETS", "MSTL", "AutoARIMA", "SeasonalNaive")


def _empty_returns() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unique_id": pd.Series(dtype=str),
            "ds": pd.Series(dtype="datetime64[ns]"),
            "returned": pd.Series(dtype=float),
        }
    )


@dataclass(frozen=True)
class Forecast:
    frame: pd.DataFrame
    """unique_id, ds, mean, one ``q{pct}`` column per quantile, ``lo{level}``, ``hi{level}``."""
    chosen: Mapping[str, str]
    """unique_id -> the model (or ``Combo(a+b)``) chosen by rolling-origin CV."""
    cv: pd.DataFrame
    """unique_id, model, rmse, mae, windows, chosen: each candidate's CV error per series."""
    reconciled: bool
    demand_class: Mapping[str, str] = field(default_factory=dict)
    """unique_id -> smooth, erratic, intermittent or lumpy."""
    returns: pd.DataFrame = field(default_factory=_empty_returns)
    """unique_id, ds, returned: negative history rows, counted as zero demand."""
    filled_periods: int = 0
    """Periods missing from the history and taken as zero sales."""
    reconciliation: str | None = None
    """MinTrace(mint_shrink), MinTrace(wls_struct) or BottomUp, with a hierarchy."""
    level_of: Mapping[str, str] = field(default_factory=dict)
    """unique_id -> hierarchy level name, with a hierarchy."""


@dataclass(frozen=True)
class Settings:
    """The method's knobs; the defaults are what docs/forecasting.md measured best.

    ``pooling`` weighs the pooled CV error against the series' own when choosing;
    ``model_spread`` divides the conformal errors by the spread model's standard deviation;
    ``normal_spread`` (0-1) is the weight of the spread model's normal quantiles against the
    conformal ones for smooth series; ``empirical_weight`` that of an intermittent series' own
    recent demand quantiles."""

    smooth_models: Sequence[str] | None = None
    """None: `models.smooth_models` of the season length."""
    intermittent_models: Sequence[str] = INTERMITTENT_MODELS
    combo_sizes: Sequence[int] = (2, 3)
    use_global: bool = True
    global_min_series: int = 20
    global_min_seasons: float = 2.0
    pooling: float = 0.5
    model_spread: bool = True
    normal_spread: float = 1.0
    empirical_weight: float = 0.7
    """Quantiles as the mean plus the spread model's normal quantiles, without conformal."""
    """Intervals scale the errors by the model's own spread where it has one."""
    adjust_effects: bool = True


def _check_arguments(
    horizon: int,
    quantiles: Sequence[float],
    level: int,
    season_length: int | None,
    n_windows: int,
    n_jobs: int,
) -> None:
    if not isinstance(horizon, int | np.integer) or horizon < 1:
        raise ValueError(f"horizon must be a positive whole number of periods, not {horizon!r}")
    if not quantiles:
        raise ValueError("quantiles must not be empty")
    for q in quantiles:
        quantile_column(q)
    interval_columns(level)
    if season_length is not None and season_length < 1:
        raise ValueError("season_length must be at least 1")
    if n_windows < 1:
        raise ValueError("n_windows must be at least 1")
    if n_jobs < 1:
        raise ValueError("n_jobs must be at least 1")


def _future_dates(frame: pd.DataFrame, horizon: int, freq: str) -> pd.DataFrame:
    last = frame.groupby("unique_id", sort=True)["ds"].max()
    offset = pd.tseries.frequencies.to_offset(freq)
    rows = [
        pd.DataFrame(
            {"unique_id": uid, "ds": pd.date_range(end + offset, periods=horizon, freq=freq)}
        )
        for uid, end in last.items()
    ]
    future = pd.concat(rows, ignore_index=True)
    future["ds"] = future["ds"].astype("datetime64[ns]")
    return future


def _exogenous(
    exogenous: pd.DataFrame | None, history: pd.DataFrame, future: pd.DataFrame, freq: str
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """History and future with the caller's regressors (0 where the history has none)."""
    if exogenous is None:
        return history, future, []
    frame = check_columns(exogenous, ["unique_id", "ds"], "exogenous")
    frame = parse_keys(frame, freq, "exogenous")
    columns = [c for c in frame.columns if c not in ("unique_id", "ds")]
    if not columns:
        raise HistoryError("exogenous has no regressor columns beside unique_id and ds")
    clash = [c for c in columns if c in (*history.columns, *HOLIDAY_COLUMNS)]
    if clash:
        raise HistoryError(f"exogenous column(s) {', '.join(clash)} clash with history columns")
    for column in columns:
        frame[column] = parse_numbers(frame, column, "exogenous")
    joined = future.merge(frame, on=["unique_id", "ds"], how="left", indicator=True)
    missing = joined["_merge"] != "both"
    if missing.any():
        row = joined[missing].iloc[0]
        raise HistoryError(
            f"exogenous has no row for unique_id {row['unique_id']!r}, ds"
            f" {row['ds'].date()} in the forecast horizon; regressors must cover it"
        )
    future = joined.drop(columns="_merge")
    history = history.merge(frame, on=["unique_id", "ds"], how="left")
    history[columns] = history[columns].fillna(0.0)
    return history, future, columns


def _add_holidays(
    history: pd.DataFrame, future: pd.DataFrame, freq: str
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    past = holiday_flags(history["ds"], freq)
    ahead = holiday_flags(future["ds"], freq)
    # A flag that never changes in the history cannot be learned (and makes ARIMA's
    # regression singular).
    columns = [c for c in HOLIDAY_COLUMNS if past[c].nunique() > 1]
    history = history.assign(**{c: past[c].to_numpy(float) for c in columns})
    future = future.assign(**{c: ahead[c].to_numpy(float) for c in columns})
    return history, future, columns


def _scales(history: pd.DataFrame, season_length: int) -> dict[str, float]:
    """Per series: the MASE scale, else the mean absolute step, else the mean, else 1."""
    scales = series_scales(history, season_length).set_index("unique_id")["mae_scale"]
    out: dict[str, float] = {}
    for uid, group in history.groupby("unique_id", sort=False):
        value = scales.get(uid, np.nan)
        if not np.isfinite(value) or value <= 0:
            y = group["y"].to_numpy(float)
            step = np.abs(np.diff(y)).mean() if y.size > 1 else 0.0
            value = step if step > 0 else (y.mean() if y.mean() > 0 else 1.0)
        out[str(uid)] = float(value)
    return out


def _final_forecasts(
    needed: Mapping[str, set[str]],
    history: pd.DataFrame,
    local: pd.DataFrame,
    future: pd.DataFrame,
    regressors: Sequence[str],
    *,
    freq: str,
    season_length: int,
    horizon: int,
    n_jobs: int,
    global_ids: Sequence[str],
) -> pd.DataFrame:
    """unique_id, ds and one column per needed model (NaN where a series does not need it).

    The local models fit ``local`` (the history with the effects taken out); their forecasts
    come back without the effects, which the caller puts back."""
    from statsforecast import StatsForecast

    columns = ["unique_id", "ds", "y", *regressors]
    out = future[["unique_id", "ds"]].copy()
    for name, ids in needed.items():
        if not ids:
            continue
        if name == GLOBAL_MODEL:
            fit_ids = set(global_ids)
            train = history[history["unique_id"].isin(fit_ids)][columns]
            ahead = future[future["unique_id"].isin(fit_ids)][["unique_id", "ds", *regressors]]
            lengths = train.groupby("unique_id").size()
            spec = GlobalSpec(
                freq=freq, season_length=season_length, exogenous=regressors, n_jobs=n_jobs
            )
            mlf = global_model(spec, int(lengths.min()))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mlf.fit(train, static_features=[])
                predicted = mlf.predict(h=horizon, X_df=ahead if regressors else None)
        else:
            train = local[local["unique_id"].isin(ids)]
            sf = StatsForecast(
                models=[statistical_model(name, season_length)],
                freq=freq,
                n_jobs=n_jobs,
                fallback_model=fallback_model(),
            )
            native = name in FORWARD_MODELS
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                predicted = sf.forecast(
                    h=horizon, df=train, level=[SIGMA_LEVEL] if native else None
                )
            if native:
                lo, hi = f"{name}-lo-{SIGMA_LEVEL}", f"{name}-hi-{SIGMA_LEVEL}"
                predicted[name + SIGMA_SUFFIX] = sigma_from_interval(
                    predicted[lo].to_numpy(), predicted[hi].to_numpy()
                )
        keep = [c for c in predicted.columns if c == name or c == name + SIGMA_SUFFIX]
        predicted = predicted[["unique_id", "ds", *keep]]
        predicted["unique_id"] = predicted["unique_id"].astype(str)
        predicted["ds"] = predicted["ds"].astype("datetime64[ns]")
        out = out.merge(predicted, on=["unique_id", "ds"], how="left")
    return out


def forecast(
    history: pd.DataFrame,
    *,
    horizon: int,
    freq: str = "W-MON",
    quantiles: Sequence[float] = (0.5, 0.8, 0.9, 0.95),
    level: int = 90,
    hierarchy: Hierarchy | None = None,
    season_length: int | None = None,
    exogenous: pd.DataFrame | None = None,
    holidays: bool = True,
    n_windows: int = 3,
    n_jobs: int = 1,
) -> Forecast:
    """Forecast ``horizon`` periods of every series in ``history``.

    ``history``: long format unique_id, ds, y (plus the hierarchy's columns). Negative y are
    returns: reported in `Forecast.returns` and counted as zero demand. ``exogenous``:
    unique_id, ds and numeric regressors (promotions, say) for the history and the horizon;
    history rows it lacks count as 0. ``holidays`` adds the Chinese calendar's flags.
    Bad input raises ValueError (`HistoryError`) naming the row.
    """
    return forecast_with(
        Settings(),
        history,
        horizon=horizon,
        freq=freq,
        quantiles=quantiles,
        level=level,
        hierarchy=hierarchy,
        season_length=season_length,
        exogenous=exogenous,
        holidays=holidays,
        n_windows=n_windows,
        n_jobs=n_jobs,
    )


def forecast_with(
    settings: Settings,
    history: pd.DataFrame,
    *,
    horizon: int,
    freq: str = "W-MON",
    quantiles: Sequence[float] = (0.5, 0.8, 0.9, 0.95),
    level: int = 90,
    hierarchy: Hierarchy | None = None,
    season_length: int | None = None,
    exogenous: pd.DataFrame | None = None,
    holidays: bool = True,
    n_windows: int = 3,
    n_jobs: int = 1,
) -> Forecast:
    """`forecast` with the method's knobs (for measuring them; `forecast` uses the defaults)."""
    _check_arguments(horizon, quantiles, level, season_length, n_windows, n_jobs)
    horizon = int(horizon)
    columns = hierarchy.columns if hierarchy is not None else ()
    prepared = prepare_history(
        history, freq=freq, hierarchy_columns=columns, extend_to_end=hierarchy is not None
    )
    m = season_length or default_season_length(freq)
    frame = prepared.frame
    future = _future_dates(frame, horizon, freq)
    frame, future, regressors = _exogenous(exogenous, frame, future, freq)

    structure: Structure | None = None
    if hierarchy is not None:
        frame, structure = aggregate(frame, hierarchy, regressors)
        future_bottom = future.merge(
            prepared.frame.drop_duplicates("unique_id")[["unique_id", *columns]], on="unique_id"
        ).assign(y=0.0)
        future, _ = aggregate(future_bottom, hierarchy, regressors)
        future = future.drop(columns="y")
    frame = frame.sort_values(["unique_id", "ds"]).reset_index(drop=True)
    future = future.sort_values(["unique_id", "ds"]).reset_index(drop=True)
    if holidays:
        frame, future, flags = _add_holidays(frame, future, freq)
        regressors = [*regressors, *flags]

    ids = sorted(frame["unique_id"].unique())
    classes = {
        str(uid): classify_demand(group["y"].to_numpy(float))
        for uid, group in frame.groupby("unique_id", sort=True)
    }
    families = {
        u: INTERMITTENT if c in INTERMITTENT_CLASSES else SMOOTH for u, c in classes.items()
    }
    smooth_names = settings.smooth_models
    family_models = {
        SMOOTH: list(smooth_names if smooth_names is not None else smooth_models(m)),
        INTERMITTENT: list(settings.intermittent_models),
    }
    lengths = frame.groupby("unique_id").size()
    # A window tests the model the final fit will be only if its history is as long as a
    # seasonal model needs (two seasons); series too short for that get windows on what they
    # have (the models then fit without their season, and the choice is rougher).
    windows = windows_per_series(
        lengths, horizon=horizon, n_windows=n_windows, min_train=max(8, 2 * m)
    )
    rough = windows_per_series(
        lengths, horizon=horizon, n_windows=n_windows, min_train=max(8, m + 1)
    )
    windows = windows.where(windows > 0, rough)

    # The local models see the smooth series with the calendar's and promotions' effects
    # taken out, and their forecasts get them back (`effects`).
    smooth_rows = frame["unique_id"].map(families).eq(SMOOTH).to_numpy()
    effects = estimate_effects(frame[smooth_rows], regressors) if settings.adjust_effects else {}
    past_factor = np.where(smooth_rows, effect_factors(frame, effects), 1.0)
    future_factor = np.where(
        future["unique_id"].map(families).eq(SMOOTH).to_numpy(),
        effect_factors(future, effects),
        1.0,
    )
    local = frame[["unique_id", "ds", "y"]].assign(y=frame["y"].to_numpy() / past_factor)
    factor_at = pd.concat(
        [
            frame[["unique_id", "ds"]].assign(factor=past_factor, actual=frame["y"]),
            future[["unique_id", "ds"]].assign(factor=future_factor, actual=np.nan),
        ],
        ignore_index=True,
    )

    # One model's forecast spread serves every smooth series as the yardstick of how hard it
    # is (the intervals divide the errors by it), whichever candidate wins.
    spread_model = next(
        (n for n in SPREAD_MODELS if n in family_models[SMOOTH]),
        family_models[SMOOTH][0] if family_models[SMOOTH] else "",
    )
    cv_parts: list[pd.DataFrame] = []
    candidates: dict[str, list[str]] = {}
    global_ids: list[str] = []
    # A calendar flag whose effect did not show in the history (US data has no Spring
    # Festival) is noise to the global model too: it reads only the flags that showed.
    flags = [c for c in HOLIDAY_COLUMNS if c in regressors]
    regressors = [c for c in regressors if c not in flags or c in effects]
    model_columns = ["unique_id", "ds", "y", *regressors]
    for count in sorted(set(windows[windows > 0])):
        group_ids = windows.index[windows == count].tolist()
        global_cv: pd.DataFrame | None = None
        shortest = int(lengths[group_ids].min())
        if (
            settings.use_global
            and len(group_ids) >= settings.global_min_series
            and shortest - count * horizon >= settings.global_min_seasons * max(m, 2)
        ):
            spec = GlobalSpec(freq=freq, season_length=m, exogenous=regressors, n_jobs=n_jobs)
            global_cv = cross_validate_global(
                frame[frame["unique_id"].isin(group_ids)][model_columns],
                spec,
                horizon=horizon,
                n_windows=count,
                min_length=shortest,
            )
            global_ids.extend(group_ids)
        for family, names in family_models.items():
            members = [u for u in group_ids if families[u] == family]
            if not members or not names:
                continue
            cv = cross_validate_statistical(
                local[local["unique_id"].isin(members)],
                names,
                freq=freq,
                season_length=m,
                horizon=horizon,
                n_windows=count,
                n_jobs=n_jobs,
            )
            cv["unique_id"] = cv["unique_id"].astype(str)
            cv = cv.merge(factor_at, on=["unique_id", "ds"], how="left")
            scaled = [c for c in cv.columns if c in names or c.endswith(SIGMA_SUFFIX)]
            cv[scaled] = cv[scaled].mul(cv["factor"], axis=0)
            if spread_model in names and settings.model_spread:
                cv[SPREAD] = cv[spread_model + SIGMA_SUFFIX]
            cv["y"] = cv["actual"]
            cv = cv.drop(columns=["factor", "actual"])
            usable = list(names)
            if global_cv is not None:
                cv = cv.merge(
                    global_cv.drop(columns="y"), on=["unique_id", "ds", "cutoff"], how="left"
                )
                usable.append(GLOBAL_MODEL)
            cv["unique_id"] = cv["unique_id"].astype(str)
            for uid in members:
                candidates[uid] = usable
            cv_parts.append(cv)

    scales = _scales(frame, m)
    chosen: dict[str, str] = {}
    scores = pd.DataFrame(columns=["unique_id", "model", "rmse", "mae", "windows", "chosen"])
    errors = pd.DataFrame(columns=["unique_id", "step", "error", "sigma"])
    winner_cv = pd.DataFrame(columns=["unique_id", "ds", "y", "forecast"])
    if cv_parts:
        all_cv = pd.concat(cv_parts, ignore_index=True)
        choice = choose(
            all_cv,
            candidates,
            scales=scales,
            combo_sizes=settings.combo_sizes,
            pooling=settings.pooling,
        )
        chosen.update(choice.chosen)
        scores = choice.scores
        winner_cv = choice.cv
        errors = choice.cv.assign(error=choice.cv["y"] - choice.cv["forecast"])[
            ["unique_id", "step", "error", "sigma"]
        ]
    for uid in ids:
        if uid not in chosen:
            chosen[uid] = SHORT_DEFAULT[families[uid]]

    needed: dict[str, set[str]] = {}
    for uid, name in chosen.items():
        for member in combo_members(name):
            needed.setdefault(member, set()).add(uid)
    spread_ids = {u for u in ids if families[u] == SMOOTH}
    if settings.model_spread and spread_model in FORWARD_MODELS and spread_ids:
        needed.setdefault(spread_model, set()).update(spread_ids)
    finals = _final_forecasts(
        needed,
        frame,
        local,
        future,
        regressors,
        freq=freq,
        season_length=m,
        horizon=horizon,
        n_jobs=n_jobs,
        global_ids=global_ids,
    )
    local_names = [c for c in finals.columns if c not in ("unique_id", "ds", GLOBAL_MODEL)]
    finals = finals.merge(factor_at[["unique_id", "ds", "factor"]], on=["unique_id", "ds"])
    finals[local_names] = finals[local_names].mul(finals["factor"], axis=0)
    means = np.empty(len(finals))
    sigmas = np.full(len(finals), np.nan)
    spread_column = spread_model + SIGMA_SUFFIX
    uids = finals["unique_id"].to_numpy()
    for i, uid in enumerate(uids):
        values = [finals.at[i, name] for name in combo_members(chosen[uid])]
        means[i] = max(0.0, float(np.nanmean(values))) if np.isfinite(values).any() else 0.0
        if families[uid] == SMOOTH and spread_column in finals.columns:
            sigmas[i] = finals.at[i, spread_column]
    result = finals[["unique_id", "ds"]].copy()
    result["mean"] = means
    result["sigma"] = sigmas
    result["step"] = result.groupby("unique_id").cumcount() + 1

    lo_p = (1 - level / 100) / 2
    probabilities = [*quantiles, lo_p, 1 - lo_p]
    if not settings.model_spread:
        result["sigma"] = np.nan
        errors = errors.assign(sigma=np.nan)

    reconciled = False
    method: str | None = None
    if structure is not None:
        order = {uid: i for i, uid in enumerate(structure.ids)}
        result = result.assign(_row=result["unique_id"].map(order))
        result = result.sort_values(["_row", "step"]).drop(columns="_row").reset_index(drop=True)
        base = result["mean"].to_numpy().reshape(len(structure.ids), horizon)
        insample_y, insample_hat = _insample(winner_cv, structure.ids)
        coherent, method = reconcile_means(structure, base, insample_y, insample_hat)
        result["mean"] = coherent.reshape(-1)
        reconciled = True
        if insample_y is not None and insample_hat is not None and np.isfinite(insample_hat).all():
            # The intervals come from the errors of the reconciled method: the windows'
            # forecasts reconciled the same way.
            coherent_cv, _ = reconcile_means(
                structure, insample_hat, insample_y, insample_hat, only=method
            )
            errors = _errors_of(winner_cv, structure.ids, insample_y - coherent_cv)
            if not settings.model_spread:
                errors = errors.assign(sigma=np.nan)

    levels = structure.level_of if structure is not None else {}
    groups = {uid: (families[uid], levels.get(uid, "")) for uid in ids}
    bands = conformal_quantiles(
        result, errors, scales=scales, groups=groups, probabilities=probabilities
    )

    if settings.normal_spread > 0:
        z = np.array([NormalDist().inv_cdf(p) for p in probabilities])
        sigma = result["sigma"].to_numpy(float)
        usable = np.isfinite(sigma) & (sigma > 0)
        native = np.clip(result["mean"].to_numpy(float)[:, None] + sigma[:, None] * z, 0, None)
        w = settings.normal_spread
        bands[usable] = (1 - w) * bands[usable] + w * native[usable]
    if settings.empirical_weight > 0:
        bands = _empirical_blend(
            result, bands, frame, families, probabilities, settings.empirical_weight, m
        )
    for j, q in enumerate(quantiles):
        result[quantile_column(q)] = bands[:, j]
    lo, hi = interval_columns(level)
    result[lo] = bands[:, len(quantiles)]
    result[hi] = bands[:, len(quantiles) + 1]
    result = result.drop(columns=["step", "sigma"]).reset_index(drop=True)
    return Forecast(
        frame=result,
        chosen=dict(sorted(chosen.items())),
        cv=scores.reset_index(drop=True),
        reconciled=reconciled,
        demand_class=classes,
        returns=prepared.returns,
        filled_periods=prepared.filled_periods,
        reconciliation=method,
        level_of=dict(structure.level_of) if structure is not None else {},
    )


def _empirical_blend(
    result: pd.DataFrame,
    bands: np.ndarray,
    history: pd.DataFrame,
    families: Mapping[str, str],
    probabilities: Sequence[float],
    weight: float,
    season_length: int,
) -> np.ndarray:
    """Intermittent series: the quantiles of their own recent demand (the last two seasons,
    three years of months at least), scaled from the recent mean to the forecast mean,
    weighted ``weight`` against the conformal quantiles. A slow mover's next month looks like
    its past months (mostly nothing, now and then a few); pooled errors know less of that."""
    keep = max(2 * season_length, 36)
    intermittent = {u for u, f in families.items() if f == INTERMITTENT}
    if not intermittent:
        return bands
    out = bands.copy()
    recent = (
        history[history["unique_id"].isin(intermittent)]
        .groupby("unique_id")["y"]
        .apply(lambda y: y.to_numpy(float)[-keep:])
    )
    positions = result.groupby("unique_id", sort=False).indices
    for uid in intermittent:
        rows = positions.get(uid)
        if rows is None:
            continue
        past = np.clip(recent[uid], 0.0, None)
        level = past.mean()
        ratio = result["mean"].to_numpy(float)[rows] / level if level > 0 else np.ones(len(rows))
        own = np.outer(ratio, np.quantile(past, probabilities))
        out[rows] = weight * own + (1 - weight) * bands[rows]
    order = np.argsort(probabilities)
    out[:, order] = np.maximum.accumulate(np.clip(out[:, order], 0.0, None), axis=1)
    return out


def _errors_of(winner_cv: pd.DataFrame, ids: Sequence[str], errors: np.ndarray) -> pd.DataFrame:
    """unique_id, step, error from a (series x window dates) error array laid out as `_insample`."""
    dates = sorted(winner_cv["ds"].unique())
    steps = winner_cv.drop_duplicates("ds").set_index("ds")["step"]
    frame = pd.DataFrame(errors, index=list(ids), columns=dates)
    long = frame.stack(future_stack=True).dropna().rename("error").reset_index()
    long.columns = ["unique_id", "ds", "error"]
    long["step"] = long["ds"].map(steps).astype(int)
    spread = winner_cv.set_index(["unique_id", "ds"])["sigma"]
    long["sigma"] = spread.reindex(pd.MultiIndex.from_frame(long[["unique_id", "ds"]])).to_numpy()
    return long[["unique_id", "step", "error", "sigma"]]


def _insample(
    winner_cv: pd.DataFrame, ids: Sequence[str]
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Actuals and chosen forecasts of the CV windows as (series x dates) arrays, NaN-padded."""
    if winner_cv.empty:
        return None, None
    y = winner_cv.pivot_table(index="unique_id", columns="ds", values="y", aggfunc="mean")
    hat = winner_cv.pivot_table(index="unique_id", columns="ds", values="forecast", aggfunc="mean")
    y = y.reindex(list(ids))
    hat = hat.reindex(list(ids))
    return y.to_numpy(float), hat.to_numpy(float)
