"""Hierarchies (SKU -> category -> total, or region levels) and coherent forecasts.

Every level's series is forecast on its own, then the means are reconciled with
hierarchicalforecast's MinTrace (``mint_shrink``: the covariance of the cross-validation errors,
shrunk towards its diagonal, Wickramasuriya, Athanasopoulos & Hyndman 2019); when that fails
(singular, too few windows) it falls back to ``wls_struct`` and then to bottom-up. Negative
bottom-level means are set to 0 and every parent recomputed as the sum of its children, so
children sum to their parents exactly.

Quantiles are not summed (quantiles do not add up): each series keeps the shape of its own
conformal distribution, moved by the change reconciliation made to its mean, then clipped at 0
and made monotone again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from demand_forecast.history import HistoryError

TOTAL = "total"


@dataclass(frozen=True)
class Hierarchy:
    """Levels from top to bottom as column names of the history frame.

    ``Hierarchy([[], ["category"], ["category", "sku"]])`` is total -> category -> SKU: the
    empty level is the grand total, each level adds columns to the one above, and the last
    level must single out one unique_id. Aggregate series are named by their columns' values
    joined with "/" (``total`` for the grand total); bottom series keep their unique_id.
    """

    levels: Sequence[Sequence[str]]
    names: Sequence[str] = field(default=())

    def __post_init__(self) -> None:
        levels = [tuple(level) for level in self.levels]
        if not levels:
            raise ValueError("a hierarchy needs at least one level")
        if not levels[-1]:
            raise ValueError("the bottom level of a hierarchy needs columns")
        for upper, lower in zip(levels, levels[1:], strict=False):
            if not set(upper) < set(lower):
                raise ValueError(
                    f"hierarchy level {list(lower)} must add columns to the level above"
                    f" {list(upper)}"
                )
        object.__setattr__(self, "levels", tuple(levels))
        if not self.names:
            object.__setattr__(
                self, "names", tuple("/".join(level) if level else TOTAL for level in levels)
            )

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.levels[-1])


@dataclass(frozen=True)
class Structure:
    ids: list[str]
    """Every series, aggregates first (top to bottom), bottom series last: the rows of S."""
    bottom: list[str]
    S: np.ndarray
    level_of: dict[str, str]


def aggregate(
    frame: pd.DataFrame, hierarchy: Hierarchy, exogenous: Sequence[str] = ()
) -> tuple[pd.DataFrame, Structure]:
    """The history of every series in the hierarchy (y summed, exogenous averaged) and S."""
    bottom_cols = list(hierarchy.columns)
    per_key = frame.groupby(bottom_cols)["unique_id"].nunique()
    if (per_key > 1).any():
        key = per_key[per_key > 1].index[0]
        raise HistoryError(
            f"hierarchy columns {bottom_cols} = {key} hold several unique_ids; the bottom level"
            " must single out one series"
        )
    keys = frame.drop_duplicates("unique_id")[["unique_id", *bottom_cols]]
    keys = keys.sort_values(bottom_cols).reset_index(drop=True)
    bottom = keys["unique_id"].tolist()
    rows: list[np.ndarray] = []
    ids: list[str] = []
    level_of: dict[str, str] = {}
    pieces: list[pd.DataFrame] = []
    value_cols = ["y", *exogenous]
    how = {"y": "sum", **dict.fromkeys(exogenous, "mean")}
    for level, name in zip(hierarchy.levels[:-1], hierarchy.names[:-1], strict=True):
        cols = list(level)
        if cols:
            labels = keys[cols].astype(str).agg("/".join, axis=1)
            member = frame[cols].astype(str).agg("/".join, axis=1)
        else:
            labels = pd.Series(TOTAL, index=keys.index)
            member = pd.Series(TOTAL, index=frame.index)
        summed = (
            frame.assign(unique_id=member)
            .groupby(["unique_id", "ds"], sort=True)[value_cols]
            .agg(how)
            .reset_index()
        )
        pieces.append(summed)
        for label in sorted(labels.unique()):
            if label in level_of or label in set(bottom):
                raise HistoryError(
                    f"hierarchy series name {label!r} is used twice (a unique_id or another level)"
                )
            ids.append(label)
            level_of[label] = name
            rows.append((labels == label).to_numpy(float))
    for uid in bottom:
        level_of[uid] = hierarchy.names[-1]
    ids.extend(bottom)
    rows.extend(np.eye(len(bottom)))
    pieces.append(frame[["unique_id", "ds", *value_cols]])
    every = pd.concat(pieces, ignore_index=True)
    return every, Structure(ids=ids, bottom=bottom, S=np.vstack(rows), level_of=level_of)


def reconcile_means(
    structure: Structure,
    base: np.ndarray,
    insample_y: np.ndarray | None,
    insample_hat: np.ndarray | None,
    *,
    only: str | None = None,
) -> tuple[np.ndarray, str]:
    """Coherent means (rows of S x horizon) and the method that produced them (``only``: try
    that method alone, then bottom-up)."""
    from hierarchicalforecast.methods import MinTrace

    S = structure.S
    n_bottom = S.shape[1]
    attempts: list[tuple[str, MinTrace | None]] = []
    usable = (
        insample_y is not None
        and insample_hat is not None
        and insample_y.shape[1] >= 2
        and np.isfinite(insample_y - insample_hat).any(axis=1).all()
    )
    if usable:
        attempts.append(("MinTrace(mint_shrink)", MinTrace(method="mint_shrink")))
    attempts.append(("MinTrace(wls_struct)", MinTrace(method="wls_struct")))
    if only is not None:
        attempts = [a for a in attempts if a[0] == only]
    bottom: np.ndarray | None = None
    method = "BottomUp"
    for name, reconciler in attempts:
        try:
            assert reconciler is not None
            result = reconciler.fit_predict(
                S=S, y_hat=base, y_insample=insample_y, y_hat_insample=insample_hat
            )
            values = np.asarray(result["mean"], float)
        except (ValueError, np.linalg.LinAlgError, ZeroDivisionError, FloatingPointError):
            continue
        if values.shape == base.shape and np.isfinite(values).all():
            bottom = values[-n_bottom:]
            method = name
            break
    if bottom is None:
        bottom = base[-n_bottom:]
    bottom = np.clip(bottom, 0.0, None)
    return S @ bottom, method
