"""How list and show commands print: aligned columns for people, JSON for programs.

`--format table` prints chosen columns, times in the local zone, nothing cut; `--format json`
prints the server's data as it came (a list for `list`, an object for `show`), which scripts can
rely on. Without `--format`, a terminal gets the table and a pipe gets JSON, as kubectl and gh do.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Annotated, Any

import typer


class Format(enum.StrEnum):
    TABLE = "table"
    JSON = "json"


FormatOption = Annotated[
    Format | None,
    typer.Option(
        "--format",
        "-o",
        help="table or json (default: table on a terminal, json in a pipe).",
        show_default=False,
    ),
]

Getter = str | Callable[[dict[str, Any]], Any]
Column = tuple[str, Getter]
"""A column's heading and a dotted path into the item (or a function of it)."""

_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


def chosen(given: Format | None) -> Format:
    if given is not None:
        return given
    return Format.TABLE if sys.stdout.isatty() else Format.JSON


def value_at(item: dict[str, Any], getter: Getter) -> Any:
    if callable(getter):
        return getter(item)
    value: Any = item
    for key in getter.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def shown(value: Any) -> str:
    """A cell: times in the local zone to the minute, lists joined, nothing as '-'."""
    if value is None or value == "" or value == []:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and _TIME.match(value):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
        if moment.tzinfo is not None:
            return moment.astimezone().strftime("%Y-%m-%d %H:%M")
        return value
    if isinstance(value, list):
        return ", ".join(shown(part) for part in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def print_list(items: Iterable[dict[str, Any]], columns: Sequence[Column], fmt: Format) -> None:
    listed = list(items)
    if fmt is Format.JSON:
        print_json(listed)
        return
    if not listed:
        typer.echo("No items.", err=True)
        return
    rows = [[heading for heading, _ in columns]]
    rows += [[shown(value_at(item, getter)) for _, getter in columns] for item in listed]
    typer.echo(table(rows))


def print_one(
    item: dict[str, Any],
    fields: Sequence[Column],
    fmt: Format,
    *,
    sections: Sequence[tuple[str, Getter, Sequence[Column]]] = (),
) -> None:
    """One object: its fields as `Heading: value` lines, then lists it holds as small tables."""
    if fmt is Format.JSON:
        print_json(item)
        return
    rows = [[f"{heading}:", shown(value_at(item, getter))] for heading, getter in fields]
    typer.echo(table(rows))
    for title, getter, columns in sections:
        inner = value_at(item, getter) or []
        typer.echo(f"\n{title}:")
        if not inner:
            typer.echo("  -")
            continue
        lines = [[heading for heading, _ in columns]]
        lines += [[shown(value_at(row, g)) for _, g in columns] for row in inner]
        typer.echo("\n".join(f"  {line}" for line in table(lines).splitlines()))
