"""Running a query over a product's rows: filters, projection, grouping and aggregates, and the
k-threshold an aggregation-only agreement sets.

Under aggregation-only terms a query may only select and group by dimensions (and the region);
every figure must stand on k contributors; a refusal says that some group is too small but not
which, nor how small, so refusals cannot be used to count. The rows behind each answered figure
come back in `Result.cells` so the service can check them against the agreement's earlier
answers (see `disclosure`).

Pure functions over rows already limited to what the agreement's regions allow; the service
decides which terms apply and what to audit.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import json
import math
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hub.data_exchange.errors import TermViolated
from yunfab.errors import InvalidInput
from yunfab.usage_policy import FieldRole, FieldSpec, FieldType

MAX_FILTERS = 20
MAX_IN_VALUES = 200
MAX_GROUP_BY = 6
MAX_AGGREGATES = 12
MAX_PAGE = 1000


class FilterOp(enum.StrEnum):
    EQ = "eq"
    IN = "in"
    GTE = "gte"
    LTE = "lte"
    CONTAINS = "contains"
    """For string lists: the list holds the value."""


class AggregateFn(enum.StrEnum):
    COUNT = "count"
    SUM = "sum"
    AVG = "avg"
    MIN = "min"
    MAX = "max"


@dataclass(frozen=True)
class Filter:
    field: str
    op: FilterOp
    value: Any


@dataclass(frozen=True)
class Aggregate:
    fn: AggregateFn
    field: str | None = None

    @property
    def name(self) -> str:
        return self.fn.value if self.field is None else f"{self.fn.value}_{self.field}"


@dataclass(frozen=True)
class DataQuery:
    fields: list[str] | None = None
    """Columns of a row query; all the caller may see when not given."""
    filters: list[Filter] = field(default_factory=list)
    group_by: list[str] = field(default_factory=list)
    aggregates: list[Aggregate] = field(default_factory=list)
    limit: int = 100
    offset: int = 0
    fresh: bool = False

    @property
    def aggregate(self) -> bool:
        return bool(self.aggregates)

    def referenced(self, visible: Sequence[str]) -> list[str]:
        """Every field the query touches: what the agreement's field term is checked on."""
        names = [] if self.aggregate else list(visible if self.fields is None else self.fields)
        names += [f.field for f in self.filters] + self.group_by
        names += [a.field for a in self.aggregates if a.field is not None]
        return sorted(set(names))

    def regions(self, schema: Sequence[FieldSpec]) -> list[str]:
        """The regions the query asks for by name (filters on the region field)."""
        region = next((f.name for f in schema if f.role is FieldRole.REGION), None)
        asked: list[str] = []
        for f in self.filters:
            if f.field == region and f.op is FilterOp.EQ:
                asked.append(str(f.value))
            elif f.field == region and f.op is FilterOp.IN:
                asked += [str(v) for v in f.value]
        return sorted(set(asked))


@dataclass(frozen=True)
class Result:
    columns: list[str]
    rows: list[dict[str, Any]]
    total: int
    """Rows (or groups) before paging."""
    min_contributors: int | None = None
    """Aggregates: the fewest contributors behind any group returned; under a k-threshold, the
    threshold itself (every figure has at least that many), not the exact count."""
    cells: list[Cell] = field(default_factory=list)
    """With `cell`: for each figure returned, the rows behind it."""


@dataclass(frozen=True)
class Cell:
    """The rows behind one figure: each row's identity and contributor, in the group's order."""

    rows: list[str]
    contributors: list[str]

    @functools.cached_property
    def digest(self) -> str:
        """The figure's name: its rows' identities, sorted and hashed (identities hold no NUL)."""
        return hashlib.sha256("\0".join(sorted(self.rows)).encode()).hexdigest()


def validate(query: DataQuery, schema: Sequence[FieldSpec]) -> None:
    """A query that names no field of the product, or mixes shapes, is bad input (422), not a
    term violation."""
    by_name = {f.name: f for f in schema}
    if not 1 <= query.limit <= MAX_PAGE:
        raise InvalidInput(f"first must be between 1 and {MAX_PAGE}")
    if query.offset < 0:
        raise InvalidInput("after: not a cursor of this query")
    if len(query.filters) > MAX_FILTERS:
        raise InvalidInput(f"at most {MAX_FILTERS} filters")
    if len(query.group_by) > MAX_GROUP_BY or len(query.aggregates) > MAX_AGGREGATES:
        raise InvalidInput(f"at most {MAX_GROUP_BY} groupBy fields and {MAX_AGGREGATES} aggregates")
    named = list(query.fields or []) + [f.field for f in query.filters] + query.group_by
    named += [a.field for a in query.aggregates if a.field is not None]
    unknown = sorted({n for n in named if n not in by_name})
    if unknown:
        raise InvalidInput(f"not fields of this product: {', '.join(unknown)}")
    if query.group_by and not query.aggregates:
        raise InvalidInput("groupBy needs at least one aggregate")
    if query.fields is not None and query.aggregates:
        raise InvalidInput("ask for fields or for aggregates, not both")
    for name in query.group_by:
        if by_name[name].role is FieldRole.MEASURE:
            raise InvalidInput(f"{name} is a measure: aggregate it, do not group by it")
    for aggregate in query.aggregates:
        if aggregate.fn is AggregateFn.COUNT:
            if aggregate.field is not None:
                raise InvalidInput("count takes no field")
            continue
        spec = by_name.get(aggregate.field or "")
        if spec is None:
            raise InvalidInput(f"{aggregate.fn.value} needs a field")
        numeric = spec.type in (FieldType.INTEGER, FieldType.NUMBER)
        if aggregate.fn in (AggregateFn.SUM, AggregateFn.AVG) and not numeric:
            raise InvalidInput(f"{aggregate.fn.value} needs a numeric field, not {spec.name}")
        if not numeric and spec.type is not FieldType.DATE:
            raise InvalidInput(f"{aggregate.fn.value} needs a number or a date, not {spec.name}")
    for f in query.filters:
        spec = by_name[f.field]
        if f.op is FilterOp.IN and not (
            isinstance(f.value, list) and 0 < len(f.value) <= MAX_IN_VALUES
        ):
            raise InvalidInput(f"{f.field}: in takes a list of 1 to {MAX_IN_VALUES} values")
        if f.op is FilterOp.CONTAINS and spec.type is not FieldType.STRING_LIST:
            raise InvalidInput(f"{f.field}: contains is for lists")
        if f.op in (FilterOp.GTE, FilterOp.LTE) and spec.type not in (
            FieldType.INTEGER, FieldType.NUMBER, FieldType.DATE, FieldType.STRING,
        ):  # fmt: skip
            raise InvalidInput(f"{f.field}: gte/lte need an ordered field")


SELECTABLE = (FieldRole.DIMENSION, FieldRole.REGION)
"""What an aggregation-only query may filter and group by."""


def check_aggregation_only(query: DataQuery, schema: Sequence[FieldSpec]) -> None:
    """Under aggregation-only terms a query selects and groups by dimensions only. A filter on
    a measure (`free_hours >= 20`) or on an attribute or the contributor narrows a group to the
    factories that pass it, which lets repeated queries find one factory's figure; `min` and
    `max` of a measure are one factory's own figure. Refused with term `aggregation`."""
    by_name = {f.name: f for f in schema}
    for name in [f.field for f in query.filters] + list(query.group_by):
        if by_name[name].role not in SELECTABLE:
            raise TermViolated(
                f"aggregation: the agreement allows filtering and grouping by dimensions only; "
                f"{name} is a {by_name[name].role.value}",
                term="aggregation",
            )
    for aggregate in query.aggregates:
        spec = by_name.get(aggregate.field or "")
        if aggregate.fn in (AggregateFn.MIN, AggregateFn.MAX) and (
            spec is not None and spec.role is FieldRole.MEASURE
        ):
            raise TermViolated(
                f"aggregation: {aggregate.fn.value} of a measure is one contributor's own "
                "figure; ask for sum, avg or count",
                term="aggregation",
            )


def row_identity(schema: Sequence[FieldSpec]) -> Callable[[dict[str, Any]], str]:
    """What a row is, independent of its figures: its contributor and every field that is not a
    measure. The same in stored and live rows, and across snapshots."""
    names = [f.name for f in schema if f.role is not FieldRole.MEASURE]

    def identity(row: dict[str, Any]) -> str:
        # repr keeps None, "None" and 1 apart; the separator cannot occur inside a repr.
        return "\n".join([repr(row.get(name)) for name in names])

    return identity


def cell_of(
    identity: Callable[[dict[str, Any]], str], contributor: str | None
) -> Callable[[list[dict[str, Any]]], Cell]:
    """What `run` takes as `cell`: the rows of a group as a `Cell`."""

    def cell(members: list[dict[str, Any]]) -> Cell:
        return Cell(
            [identity(m) for m in members], [str(m.get(contributor or "")) for m in members]
        )

    return cell


def _ordered(value: Any, bound: Any) -> bool:
    """Whether value and bound compare (numbers with numbers, strings with strings)."""
    if isinstance(value, bool) or isinstance(bound, bool):
        return False
    numbers = (int, float)
    return (isinstance(value, numbers) and isinstance(bound, numbers)) or (
        isinstance(value, str) and isinstance(bound, str)
    )


def _predicate(f: Filter) -> Callable[[dict[str, Any]], bool]:
    """One filter, compiled once per query rather than interpreted per row."""
    name, value = f.field, f.value
    if f.op is FilterOp.EQ:
        return lambda row: row.get(name) == value
    if f.op is FilterOp.IN:
        try:
            members: Any = frozenset(value)
        except TypeError:  # lists among the values
            members = list(value)
        return lambda row: _member(row.get(name), members)
    if f.op is FilterOp.CONTAINS:
        return lambda row: isinstance(row.get(name), list) and value in row[name]
    if f.op is FilterOp.GTE:
        return lambda row: _ordered(v := row.get(name), value) and v >= value
    return lambda row: _ordered(v := row.get(name), value) and v <= value


def _member(value: Any, members: Any) -> bool:
    try:
        return value in members
    except TypeError:  # an unhashable value is in no set of hashable ones
        return False


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _group_key(row: dict[str, Any], group_by: Sequence[str]) -> tuple[Any, ...]:
    return tuple(_hashable(row.get(name)) for name in group_by)


def _aggregate(fn: AggregateFn, values: list[Any]) -> Any:
    present = [v for v in values if v is not None]
    if fn is AggregateFn.COUNT:
        return len(values)
    if not present:
        return None
    if fn is AggregateFn.SUM:
        total = math.fsum(present)
        return int(total) if all(isinstance(v, int) for v in present) else total
    if fn is AggregateFn.AVG:
        return math.fsum(present) / len(present)
    return min(present) if fn is AggregateFn.MIN else max(present)


def run(
    rows: Iterable[dict[str, Any]],
    query: DataQuery,
    *,
    visible: Sequence[str],
    contributor: str | None,
    min_contributors: int | None,
    cell: Callable[[list[dict[str, Any]]], Cell] | None = None,
) -> Result:
    """Rows in key order in; the page of the answer out. Raises `TermViolated` (term
    `aggregation`) when a group is backed by fewer than `min_contributors` contributors; the
    refusal names neither the group nor its count. With `cell` (see `cell_of`), the result
    carries the rows behind each figure returned (`Result.cells`)."""
    predicates = [_predicate(f) for f in query.filters]
    if not predicates:
        matching = list(rows)
    elif len(predicates) == 1:
        matching = [row for row in rows if predicates[0](row)]
    else:
        matching = [row for row in rows if all(p(row) for p in predicates)]
    if not query.aggregate:
        columns = list(query.fields) if query.fields is not None else list(visible)
        page = matching[query.offset : query.offset + query.limit]
        return Result(
            columns=columns,
            rows=[{name: row.get(name) for name in columns} for row in page],
            total=len(matching),
        )
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    values_of = operator.itemgetter(*query.group_by) if query.group_by else None
    for row in matching:
        try:
            group = values_of(row) if values_of is not None else ()
            if len(query.group_by) == 1:
                group = (group,)
            groups.setdefault(group, []).append(row)
        except (KeyError, TypeError):  # a field missing from the row, or a list value
            groups.setdefault(_group_key(row, query.group_by), []).append(row)
    answers: list[tuple[str, dict[str, Any], int, list[dict[str, Any]]]] = []
    for group, members in groups.items():
        # Groups sort by their values as JSON: None, numbers and strings side by side.
        key = json.dumps(group, default=str)
        backers = {m.get(contributor) for m in members} if contributor else set()
        contributors = len(backers - {None})
        answer = {name: members[0].get(name) for name in query.group_by}
        for aggregate in query.aggregates:
            values = [m.get(aggregate.field) for m in members] if aggregate.field else members
            answer[aggregate.name] = _aggregate(aggregate.fn, values)
        answers.append((key, answer, contributors, members))
    if min_contributors is not None and any(n < min_contributors for _, _, n, _ in answers):
        # Which group, and how small, would let a consumer count contributors by asking.
        raise TermViolated(
            f"aggregation: a figure of this answer would stand on fewer than {min_contributors} "
            "contributors, which the agreement does not allow: group by fewer fields or filter "
            "less",
            term="aggregation",
        )
    answers.sort(key=lambda item: item[0])
    shown = answers[query.offset : query.offset + query.limit]
    cells = [cell(members) for _, _, _, members in shown] if cell is not None else []
    fewest = min((n for _, _, n, _ in shown), default=None)
    return Result(
        columns=list(query.group_by) + [a.name for a in query.aggregates],
        rows=[answer for _, answer, _, _ in shown],
        total=len(answers),
        min_contributors=min_contributors if min_contributors is not None and shown else fewest,
        cells=cells,
    )
