"""Sales as a brand sends them: CSV (or Parquet) rows read and checked as a whole, every
problem named by its row and column, before anything is stored.

    sku,date,quantity,channel,region
    PLATE-BLK-S,2026-03-02,120,tmall,CN-ZJ
    PLATE-BLK-S,2026-03-09,-3,tmall,CN-ZJ      # a negative quantity: units returned

`channel` and `region` are optional. A row is a day's sales, or a week's dated by any of its
days: forecasts add them up by the week (Monday to Sunday). Rows are refused as a whole when a
date does not parse or lies ahead, a SKU is not the brand's, a quantity is not a number, or the
same SKU, date, channel and region comes twice (in the file, or already stored). Weeks without
a row inside a SKU's history are only warned about: they count as no sales.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from regional_node.demand.errors import SalesInvalid

MAX_ROWS = 200_000
MAX_PROBLEMS = 50
MAX_QUANTITY = 1e9
MAX_TAG = 32
MAX_GAP_WARNINGS = 50
COLUMNS = {
    "sku": "sku",
    "date": "date",
    "day": "date",
    "week": "date",
    "quantity": "quantity",
    "units": "quantity",
    "channel": "channel",
    "region": "region",
}
"""Header names understood (any case), and the column each one is."""
REQUIRED = ("sku", "date", "quantity")
EARLIEST = dt.date(2000, 1, 1)


@dataclass(frozen=True)
class RawRow:
    """A row as read: `row` is its line in a CSV file (the header is line 1), or its number
    (from 1) in a Parquet file or a list."""

    row: int
    sku: Any
    date: Any
    quantity: Any
    channel: Any = None
    region: Any = None


@dataclass(frozen=True)
class Problem:
    row: int | None
    column: str | None
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}

    def __str__(self) -> str:
        where = " ".join(
            part
            for part in (
                f"row {self.row}" if self.row is not None else "",
                f"column {self.column}" if self.column else "",
            )
            if part
        )
        return f"{where}: {self.message}" if where else self.message


@dataclass(frozen=True)
class SaleRow:
    row: int
    sku_id: uuid.UUID
    sku: str
    day: dt.date
    quantity: float
    channel: str
    region: str

    @property
    def key(self) -> tuple[uuid.UUID, dt.date, str, str]:
        return (self.sku_id, self.day, self.channel, self.region)


def refuse(problems: Sequence[Problem], *, rows: int) -> SalesInvalid:
    shown = list(problems[:MAX_PROBLEMS])
    more = len(problems) - len(shown)
    detail = f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {rows} rows; " + (
        f"first: {shown[0]}" if shown else "nothing to import"
    )
    return SalesInvalid(
        detail + (" (nothing was imported)" if rows else ""),
        problems=[p.as_json() for p in shown],
        more_problems=more,
    )


def _header(names: Sequence[str]) -> tuple[dict[str, int], list[Problem]]:
    problems: list[Problem] = []
    where: dict[str, int] = {}
    for index, raw in enumerate(names):
        name = raw.strip().lower()
        column = COLUMNS.get(name)
        if column is None:
            problems.append(
                Problem(1, raw.strip() or f"#{index + 1}", "unknown column: expected sku, "
                        "date, quantity and optionally channel and region")
            )  # fmt: skip
        elif column in where:
            problems.append(Problem(1, raw.strip(), f"{column} is given twice"))
        else:
            where[column] = index
    problems += [Problem(1, name, "missing column") for name in REQUIRED if name not in where]
    return where, problems


def read_csv(data: bytes) -> list[RawRow]:
    """The rows of a CSV file with a header line; SalesInvalid when it cannot be read."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise refuse([Problem(None, None, f"not UTF-8 text (byte {exc.start})")], rows=0) from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise refuse([Problem(None, None, "the file is empty")], rows=0)
        where, problems = _header(header)
        if problems:
            raise refuse(problems, rows=0)
        rows: list[RawRow] = []
        line = reader.line_num
        for fields in reader:
            start, line = line + 1, reader.line_num
            if not any(f.strip() for f in fields):
                continue
            if len(rows) >= MAX_ROWS:
                raise refuse(
                    [Problem(start, None, f"more than {MAX_ROWS:,} rows: split the file")],
                    rows=len(rows),
                )
            if len(fields) > len(header):
                problems.append(
                    Problem(start, None, f"{len(fields)} fields, the header has {len(header)}")
                )
                continue

            def field(name: str, fields: list[str] = fields) -> str | None:
                index = where.get(name)
                return fields[index] if index is not None and index < len(fields) else None

            rows.append(
                RawRow(
                    row=start,
                    sku=field("sku"),
                    date=field("date"),
                    quantity=field("quantity"),
                    channel=field("channel"),
                    region=field("region"),
                )
            )
    except csv.Error as exc:
        raise refuse([Problem(reader.line_num, None, f"not CSV: {exc}")], rows=0) from exc
    if problems:
        raise refuse(problems, rows=len(rows) + len(problems))
    return rows


def read_parquet(data: bytes) -> list[RawRow]:
    """The rows of a Parquet file (columns named as in a CSV header)."""
    try:
        import pyarrow as pa  # type: ignore[import-untyped]
        import pyarrow.parquet as pq  # type: ignore[import-untyped]
    except ImportError as exc:
        raise SalesInvalid("Parquet needs pyarrow on the node: send CSV instead") from exc
    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError) as exc:
        raise refuse([Problem(None, None, f"not a Parquet file: {exc}")], rows=0) from exc
    where, problems = _header(table.column_names)
    if problems:
        raise refuse([Problem(None, p.column, p.message) for p in problems], rows=0)
    if table.num_rows > MAX_ROWS:
        raise refuse([Problem(None, None, f"more than {MAX_ROWS:,} rows: split the file")], rows=0)
    columns = {
        name: table.column(index).to_pylist() for name, index in where.items()
    }  # fmt: skip
    empty = [None] * table.num_rows
    return [
        RawRow(
            row=index + 1,
            sku=columns["sku"][index],
            date=columns["date"][index],
            quantity=columns["quantity"][index],
            channel=columns.get("channel", empty)[index],
            region=columns.get("region", empty)[index],
        )
        for index in range(table.num_rows)
    ]


def parse_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _quantity(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _tag(value: Any) -> str | None:
    text = "" if value is None else str(value).strip()
    return text if len(text) <= MAX_TAG else None


def check(
    rows: Sequence[RawRow],
    skus: Mapping[str, uuid.UUID],
    stored: set[tuple[uuid.UUID, dt.date, str, str]],
    *,
    today: dt.date,
) -> list[SaleRow]:
    """The rows as sales, or SalesInvalid naming every problem (up to MAX_PROBLEMS) by row and
    column. `skus` are the brand's SKU codes; `stored` the (sku, day, channel, region) already
    imported."""
    if not rows:
        raise refuse([Problem(None, None, "no rows")], rows=0)
    problems: list[Problem] = []
    good: list[SaleRow] = []
    seen: dict[tuple[uuid.UUID, dt.date, str, str], int] = {}
    latest = today + dt.timedelta(days=1)
    for raw in rows:
        found: list[Problem] = []
        code = "" if raw.sku is None else str(raw.sku).strip()
        sku_id = skus.get(code)
        if not code:
            found.append(Problem(raw.row, "sku", "missing"))
        elif sku_id is None:
            found.append(
                Problem(raw.row, "sku", f"unknown SKU {code[:64]!r} (not one of the brand's)")
            )
        day = parse_date(raw.date)
        if _blank(raw.date):
            found.append(Problem(raw.row, "date", "missing"))
        elif day is None:
            found.append(
                Problem(raw.row, "date", f"{str(raw.date)[:40]!r} is not a date (YYYY-MM-DD)")
            )
        elif not EARLIEST <= day <= latest:
            found.append(
                Problem(raw.row, "date", f"{day} is {'ahead' if day > latest else 'before 2000'}")
            )
        quantity = _quantity(raw.quantity)
        if _blank(raw.quantity):
            found.append(Problem(raw.row, "quantity", "missing"))
        elif quantity is None:
            found.append(
                Problem(raw.row, "quantity", f"{str(raw.quantity)[:40]!r} is not a number")
            )
        elif abs(quantity) > MAX_QUANTITY:
            found.append(Problem(raw.row, "quantity", f"more than {MAX_QUANTITY:g} units"))
        channel, region = _tag(raw.channel), _tag(raw.region)
        if channel is None:
            found.append(Problem(raw.row, "channel", f"at most {MAX_TAG} characters"))
        if region is None:
            found.append(Problem(raw.row, "region", f"at most {MAX_TAG} characters"))
        if found:
            problems += found
            continue
        assert sku_id is not None
        assert day is not None
        assert quantity is not None
        assert channel is not None
        assert region is not None
        sale = SaleRow(raw.row, sku_id, code, day, quantity, channel, region)
        first = seen.get(sale.key)
        if first is not None:
            problems.append(
                Problem(raw.row, None, f"duplicates row {first} (same sku, date, channel, region)")
            )
        elif sale.key in stored:
            problems.append(
                Problem(raw.row, None, f"{code} on {day}"
                        + (f" ({channel or '-'}, {region or '-'})" if channel or region else "")
                        + " is already imported")
            )  # fmt: skip
        else:
            seen[sale.key] = raw.row
            good.append(sale)
    if problems:
        raise refuse(problems, rows=len(rows))
    return good


def monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def gaps(
    days: Iterable[tuple[uuid.UUID, dt.date]], names: Mapping[uuid.UUID, str]
) -> list[dict[str, Any]]:
    """Weeks without a row between a SKU's first and last week: a warning each run of them."""
    weeks: dict[uuid.UUID, set[dt.date]] = defaultdict(set)
    for sku_id, day in days:
        weeks[sku_id].add(monday(day))
    found: list[dict[str, Any]] = []
    for sku_id in sorted(weeks, key=lambda s: names.get(s, "")):
        have = weeks[sku_id]
        week, last = min(have), max(have)
        missing: list[dt.date] = []
        while week <= last:
            if week not in have:
                missing.append(week)
            elif missing:
                found.append(_gap(names.get(sku_id, str(sku_id)), missing))
                missing = []
            week += dt.timedelta(days=7)
        if len(found) >= MAX_GAP_WARNINGS:
            break
    return found[:MAX_GAP_WARNINGS]


def _gap(sku: str, weeks: list[dt.date]) -> dict[str, Any]:
    n = len(weeks)
    return {
        "sku": sku,
        "from": weeks[0].isoformat(),
        "to": weeks[-1].isoformat(),
        "weeks": n,
        "message": f"{sku}: no sales in {n} week{'s' if n != 1 else ''} from {weeks[0]} "
        f"(counted as none)",
    }
