"""Relay-style connections with keyset cursors.

A cursor is the row's sort key, opaque to clients (base64url of JSON). Keyset rather than offset
paging keeps pages stable while rows are inserted and costs an index seek at any depth.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import strawberry
from sqlalchemy import ColumnElement, Select, func
from sqlalchemy.orm import QueryableAttribute

from yunfab.errors import InvalidInput

T = TypeVar("T")
Row = TypeVar("Row")
RowT = TypeVar("RowT")


def encode_cursor(key: Sequence[Any]) -> str:
    raw = json.dumps(list(key), separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int, types: tuple[type, ...] | None = None) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("invalid cursor") from exc
    if not isinstance(key, list) or len(key) != arity:
        raise InvalidInput("invalid cursor")
    kinds = types or (str,) * arity
    if any(type(part) is not kind for part, kind in zip(key, kinds, strict=True)):
        raise InvalidInput("invalid cursor")
    return key


def newest_first(
    query: Select[RowT],
    at: QueryableAttribute[Any],
    ident: QueryableAttribute[Any],
    after: list[Any] | None,
) -> Select[RowT]:
    """`query` ordered newest first by (`at`, `ident`), after the cursor `[iso time, uuid]`."""
    query = query.order_by(at.desc(), ident.desc())
    if after is None:
        return query
    try:
        when = dt.datetime.fromisoformat(after[0])
        after_id = uuid.UUID(after[1])
    except (ValueError, TypeError, IndexError) as exc:
        raise InvalidInput("invalid cursor") from exc
    return query.where((at < when) | ((at == when) & (ident < after_id)))


MAX_SEARCH = 100


def escape_like(text: str) -> str:
    """`text` taken literally in a LIKE pattern (escape character `\\`)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains(column: QueryableAttribute[str], text: str) -> ColumnElement[bool]:
    """`column` holds `text`, any case, taken literally (a `%` in a search is a percent sign).
    lower() on both sides rather than ILIKE: SQLite has no ILIKE, and the same filter runs on
    both backends."""
    if len(text) > MAX_SEARCH:
        raise InvalidInput(f"search: at most {MAX_SEARCH} characters")
    pattern = "%" + escape_like(text.lower()) + "%"
    return func.lower(column).like(pattern, escape="\\")


def starts_with(column: QueryableAttribute[str], text: str) -> ColumnElement[bool]:
    """`column` begins with `text`, exactly (an index on the column can serve it)."""
    if len(text) > MAX_SEARCH:
        raise InvalidInput(f"prefix: at most {MAX_SEARCH} characters")
    return column.like(escape_like(text) + "%", escape="\\")


@dataclass(frozen=True)
class PageRequest:
    """What a repository needs to fetch one page: a limit and the key to start after."""

    limit: int
    after: list[Any] | None

    @classmethod
    def from_args(
        cls,
        first: int,
        after: str | None,
        *,
        max_size: int,
        arity: int,
        types: tuple[type, ...] | None = None,
    ) -> PageRequest:
        """`types` are the key's column types (all `str` when not given)."""
        if not 1 <= first <= max_size:
            raise InvalidInput(f"first must be between 1 and {max_size}")
        return cls(limit=first, after=decode_cursor(after, arity, types) if after else None)


Counter = Callable[[], Awaitable[int]]


@dataclass(frozen=True)
class Page(Generic[Row]):
    """One page of rows as a repository returns it: `limit + 1` were asked for to see a next.

    `count` runs only if a client selects `totalCount`: most don't, and it is a second query.
    """

    rows: list[Row]
    has_next: bool
    count: Counter | None

    @classmethod
    def from_rows(cls, rows: Sequence[Row], limit: int, count: Counter | None) -> Page[Row]:
        return cls(rows=list(rows[:limit]), has_next=len(rows) > limit, count=count)


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    count: strawberry.Private[Counter | None]

    @strawberry.field(
        description="All matching items; null when a policy decides row by row what is visible."
    )
    async def total_count(self) -> int | None:
        return await self.count() if self.count is not None else None

    @classmethod
    def from_page(
        cls,
        page: Page[Row],
        *,
        key: Callable[[Row], Sequence[Any]],
        node: Callable[[Row], T],
        after: str | None,
    ) -> Connection[T]:
        edges = [Edge(cursor=encode_cursor(key(row)), node=node(row)) for row in page.rows]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next,
                has_previous_page=after is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            count=page.count,
        )


CHUNK = 200
MAX_CHUNKS = 5


async def visible_connection(
    request: PageRequest,
    *,
    fetch: Callable[[PageRequest], Awaitable[Page[Row]]],
    keep: Callable[[list[Row]], Awaitable[list[Row]]],
    key: Callable[[Row], Sequence[Any]],
    node: Callable[[Row], T],
    after: str | None,
) -> Connection[T]:
    """A page of the rows a policy lets the caller see, when it decides row by row.

    Reads in chunks and lets `keep` (one policy call per chunk) filter each, until a page is full;
    a few chunks at most, so a sparse view cannot turn into a scan of the whole table. The total
    is not offered: counting would mean deciding every row.
    """
    visible: list[Row] = []
    cursor, more = request.after, True
    for _ in range(MAX_CHUNKS):
        if not more or len(visible) > request.limit:
            break
        chunk = await fetch(PageRequest(limit=CHUNK, after=cursor))
        visible += await keep(chunk.rows)
        more = chunk.has_next
        cursor = list(key(chunk.rows[-1])) if chunk.rows else cursor
    page = Page(
        rows=visible[: request.limit], has_next=len(visible) > request.limit or more, count=None
    )
    connection = Connection[T].from_page(page, key=key, node=node, after=after)
    if more and len(visible) <= request.limit and cursor is not None:
        # Stopped at the chunk cap with a short page: continue after the last row *read*,
        # not the last row shown, or a run of hidden rows would be read again forever.
        connection.page_info.end_cursor = encode_cursor(cursor)
    return connection


async def counted_or_visible(
    request: PageRequest,
    *,
    sees_all: bool,
    fetch: Callable[[PageRequest], Awaitable[Page[Row]]],
    keep: Callable[[list[Row]], Awaitable[list[Row]]],
    key: Callable[[Row], Sequence[Any]],
    node: Callable[[Row], T],
    after: str | None,
) -> Connection[T]:
    """A page with its total for a caller the policy lets see every row (`sees_all`, decided
    once for the whole view), else `visible_connection` (no total).

    The whole-view page still goes through `keep`: the policy's decision on each row is what
    audits reading other organisations' rows, and the page shows only what it kept."""
    if not sees_all:
        return await visible_connection(
            request, fetch=fetch, keep=keep, key=key, node=node, after=after
        )
    page = await fetch(request)
    kept = await keep(page.rows)
    return Connection[T].from_page(
        Page(rows=kept, has_next=page.has_next, count=page.count), key=key, node=node, after=after
    )
