"""Chinese retail calendar as regressors: Spring Festival, 618 and Double 11.

The Spring Festival (lunar new year) moves between 21 January and 20 February, so a seasonal
model that only looks 52 weeks back puts the holiday dip in the wrong week every other year;
a flag per period lets ARIMA and the gradient-boosted model learn the effect where it falls.

A row's period is ``[ds, ds + one step)``: weekly rows are labelled by their first day (with
``W-MON`` that is the ISO week, Monday to Sunday), daily rows by the day, month-start rows by the
month. For end-anchored frequencies (``ME``, ``QE``, ``YE``) the period is the one that ends on
``ds``. A flag is 1 when the period contains any day of the event's window.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pandas as pd

# First day of the lunar year (正月初一), 2015-2035, from the Hong Kong Observatory's
# Gregorian-Lunar Calendar Conversion Tables (https://www.hko.gov.hk/en/gts/time/conversion.htm),
# checked against the China calendar of the `holidays` package (python-holidays).
SPRING_FESTIVAL: dict[int, dt.date] = {
    2015: dt.date(2015, 2, 19),
    2016: dt.date(2016, 2, 8),
    2017: dt.date(2017, 1, 28),
    2018: dt.date(2018, 2, 16),
    2019: dt.date(2019, 2, 5),
    2020: dt.date(2020, 1, 25),
    2021: dt.date(2021, 2, 12),
    2022: dt.date(2022, 2, 1),
    2023: dt.date(2023, 1, 22),
    2024: dt.date(2024, 2, 10),
    2025: dt.date(2025, 1, 29),
    2026: dt.date(2026, 2, 17),
    2027: dt.date(2027, 2, 6),
    2028: dt.date(2028, 1, 26),
    2029: dt.date(2029, 2, 13),
    2030: dt.date(2030, 2, 3),
    2031: dt.date(2031, 1, 23),
    2032: dt.date(2032, 2, 11),
    2033: dt.date(2033, 1, 31),
    2034: dt.date(2034, 2, 19),
    2035: dt.date(2035, 2, 8),
}

# The public holiday runs from New Year's Eve for about a week; factories close and parcel
# services stop around it, so demand drops in these days.
SPRING_FESTIVAL_WINDOW = (-1, 6)
HOLIDAY_COLUMNS = ("spring_festival", "sale_618", "double_11")

_END_ANCHORED = ("ME", "M", "QE", "Q", "YE", "Y", "A", "BME", "BM", "BQE", "BYE")


def spring_festival(year: int) -> dt.date:
    """The lunar new year's day of ``year``; ValueError outside the table (2015-2035)."""
    try:
        return SPRING_FESTIVAL[year]
    except KeyError:
        first, last = min(SPRING_FESTIVAL), max(SPRING_FESTIVAL)
        raise ValueError(
            f"Spring Festival dates are known for {first}-{last}, not for {year}"
        ) from None


def _event_windows(years: Iterable[int]) -> dict[str, list[tuple[dt.date, dt.date]]]:
    windows: dict[str, list[tuple[dt.date, dt.date]]] = {c: [] for c in HOLIDAY_COLUMNS}
    before, after = SPRING_FESTIVAL_WINDOW
    for year in years:
        if year in SPRING_FESTIVAL:
            day = SPRING_FESTIVAL[year]
            windows["spring_festival"].append(
                (day + dt.timedelta(days=before), day + dt.timedelta(days=after))
            )
        # 618 (JD.com's anniversary sale, peaking on 18 June) and Double 11 (11 November).
        windows["sale_618"].append((dt.date(year, 6, 18), dt.date(year, 6, 18)))
        windows["double_11"].append((dt.date(year, 11, 11), dt.date(year, 11, 11)))
    return windows


def _is_end_anchored(freq: str) -> bool:
    base = freq.split("-")[0].lstrip("0123456789")
    return base in _END_ANCHORED


def period_bounds(ds: pd.Series | pd.DatetimeIndex, freq: str) -> tuple[pd.Series, pd.Series]:
    """First and last day (inclusive) of each row's period; see the module docstring."""
    dates = pd.Series(pd.DatetimeIndex(ds).normalize())
    offset = pd.tseries.frequencies.to_offset(freq)
    if _is_end_anchored(freq):
        start = dates.map(lambda d: (d - offset) + pd.Timedelta(days=1))
        end = dates
    else:
        start = dates
        end = dates.map(lambda d: (d + offset) - pd.Timedelta(days=1))
    return start, end


def holiday_flags(ds: pd.Series | pd.DatetimeIndex, freq: str) -> pd.DataFrame:
    """One 0/1 column per event (`HOLIDAY_COLUMNS`), one row per date in ``ds`` (same order).

    Spring Festival dates are known for 2015-2035; outside those years its flag is 0.
    """
    dates = pd.DatetimeIndex(ds)
    if len(dates) == 0:
        return pd.DataFrame({c: pd.Series(dtype="int8") for c in HOLIDAY_COLUMNS})
    unique = dates.unique()
    start, end = period_bounds(unique, freq)
    years = range(int(start.min().year), int(end.max().year) + 1)
    starts = [d.date() for d in start]
    ends = [d.date() for d in end]
    flags = pd.DataFrame(index=unique)
    for name, spans in _event_windows(years).items():
        flags[name] = [
            int(any(lo <= e and s <= hi for lo, hi in spans))
            for s, e in zip(starts, ends, strict=True)
        ]
    return flags.loc[dates].reset_index(drop=True).astype("int8")
