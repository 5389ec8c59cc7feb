"""Checks a sales history and turns it into the regular, non-negative series the models read.

Bad input is refused with a ValueError that names the first offending row (its position in
the frame, 0-based, and its unique_id and ds where they are readable), so an importer can show
it to the person who uploaded the file. Nothing is fixed silently except what demand data
means: a negative quantity is a return (reported, demand counted as 0) and a period missing
inside a series had no sales (filled with 0 and counted).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

REQUIRED_COLUMNS = ("unique_id", "ds", "y")


class HistoryError(ValueError):
    """The history (or exogenous frame) cannot be used; the message names the row."""


@dataclass(frozen=True)
class PreparedHistory:
    frame: pd.DataFrame
    """unique_id (str), ds (datetime64), y (float, >= 0) plus the hierarchy columns, sorted."""
    returns: pd.DataFrame
    """unique_id, ds, returned: the rows whose y was negative, as positive quantities."""
    filled_periods: int
    """Periods missing inside a series' span (or, in a hierarchy, up to the last date) set to 0."""


def _where(frame: pd.DataFrame, position: int) -> str:
    row = frame.iloc[position]
    parts = [f"row {position}"]
    if "unique_id" in frame.columns:
        parts.append(f"unique_id {row['unique_id']!r}")
    if "ds" in frame.columns:
        ds = row["ds"]
        if isinstance(ds, pd.Timestamp) and ds == ds.normalize():
            ds = ds.date()
        parts.append(f"ds {str(ds)!r}")
    return f"{parts[0]} ({', '.join(parts[1:])})" if len(parts) > 1 else parts[0]


def check_columns(frame: object, required: Sequence[str], name: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise HistoryError(f"{name} must be a pandas DataFrame, not {type(frame).__name__}")
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise HistoryError(
            f"{name} is missing column(s) {', '.join(missing)};"
            f" it has {', '.join(map(str, frame.columns))}"
        )
    if frame.empty:
        raise HistoryError(f"{name} has no rows")
    return frame.reset_index(drop=True)


def parse_keys(frame: pd.DataFrame, freq: str, name: str) -> pd.DataFrame:
    """unique_id as str and ds as datetime, each on the ``freq`` grid, no duplicate pairs."""
    out = frame.copy()
    missing_id = out["unique_id"].isna()
    if missing_id.any():
        raise HistoryError(
            f"{name} {_where(out, int(np.argmax(missing_id)))}: unique_id is missing"
        )
    out["unique_id"] = out["unique_id"].astype(str)
    ds = pd.to_datetime(out["ds"], errors="coerce")
    bad = ds.isna()
    if bad.any():
        position = int(np.argmax(bad))
        raise HistoryError(f"{name} {_where(out, position)}: ds is not a date")
    if getattr(ds.dt, "tz", None) is not None:
        ds = ds.dt.tz_localize(None)
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except ValueError as exc:
        raise HistoryError(f"freq {freq!r} is not a pandas frequency") from exc
    on_grid = np.fromiter((offset.is_on_offset(d) for d in ds), bool, len(ds))
    if not on_grid.all():
        position = int(np.argmin(on_grid))
        raise HistoryError(
            f"{name} {_where(out, position)}: ds is not on the {freq} grid"
            " (weekly W-MON dates are Mondays, MS dates first days of months, ...)"
        )
    out["ds"] = ds.astype("datetime64[ns]")
    duplicated = out.duplicated(["unique_id", "ds"], keep="first")
    if duplicated.any():
        position = int(np.argmax(duplicated))
        first = out.index[
            (out["unique_id"] == out.at[position, "unique_id"])
            & (out["ds"] == out.at[position, "ds"])
        ][0]
        raise HistoryError(
            f"{name} {_where(out, position)}: duplicate (unique_id, ds), first given in row {first}"
        )
    return out


def parse_numbers(frame: pd.DataFrame, column: str, name: str) -> pd.Series:
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() | ~np.isfinite(values.astype(float))
    if bad.any():
        position = int(np.argmax(bad.to_numpy()))
        shown = raw.iloc[position]
        reason = "is missing" if pd.isna(shown) else f"{shown!r} is not a finite number"
        raise HistoryError(f"{name} {_where(frame, position)}: {column} {reason}")
    return values.astype(float)


def prepare_history(
    history: pd.DataFrame,
    *,
    freq: str,
    hierarchy_columns: Sequence[str] = (),
    extend_to_end: bool = False,
) -> PreparedHistory:
    """Validated, regular, non-negative history; see the module docstring for the rules.

    ``extend_to_end`` fills every series with zeros up to the last date of the whole history
    (a hierarchy needs all its series to end together for the sums to hold).
    """
    frame = check_columns(history, [*REQUIRED_COLUMNS, *hierarchy_columns], "history")
    frame = parse_keys(frame, freq, "history")
    frame["y"] = parse_numbers(frame, "y", "history")
    for column in hierarchy_columns:
        missing = frame[column].isna()
        if missing.any():
            raise HistoryError(
                f"history {_where(frame, int(np.argmax(missing)))}: {column} is missing"
            )
        frame[column] = frame[column].astype(str)
        varies = frame.groupby("unique_id")[column].transform("nunique") > 1
        if varies.any():
            raise HistoryError(
                f"history {_where(frame, int(np.argmax(varies)))}: {column} changes within the"
                " series; a unique_id belongs to one place in the hierarchy"
            )

    negative = frame["y"] < 0
    returns = frame.loc[negative, ["unique_id", "ds"]].assign(returned=-frame.loc[negative, "y"])
    frame["y"] = frame["y"].clip(lower=0.0)

    keep = ["unique_id", "ds", "y", *hierarchy_columns]
    frame = frame[keep].sort_values(["unique_id", "ds"], kind="stable")
    last = frame["ds"].max()
    pieces = []
    filled = 0
    for uid, series in frame.groupby("unique_id", sort=True):
        end = last if extend_to_end else series["ds"].iloc[-1]
        grid = pd.date_range(series["ds"].iloc[0], end, freq=freq)
        if len(grid) != len(series):
            filled += len(grid) - len(series)
            series = series.set_index("ds").reindex(grid)
            series.index.name = "ds"
            series = series.reset_index()
            series["unique_id"] = uid
            series["y"] = series["y"].fillna(0.0)
            for column in hierarchy_columns:
                series[column] = series[column].ffill().bfill()
        pieces.append(series[keep])
    regular = pd.concat(pieces, ignore_index=True)
    return PreparedHistory(
        frame=regular, returns=returns.reset_index(drop=True), filled_periods=filled
    )
