"""Per-request DataLoaders: a relation of the rows of a list in one query, not one per row.

A relation subclasses `Loader` and writes `batch_load` (keys in, one value per key out, in the
same order); a field asks `SomeLoader.of(info).load(key)`. One instance per request and relation
lives on the context (`ServiceContext.loaders`), so its cache lasts as long as the request's read
session does. `by_key` and `grouped` line rows up with the keys; `rows_by` reads a to-one
relation by its key. The model is saleor's
`saleor/graphql/core/dataloaders.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from typing import Any, Generic, Self, TypeVar

from sqlalchemy import BindParameter, ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased
from strawberry.types import Info

from yunfab.graphql.context import ServiceContext

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
Row = TypeVar("Row")
Entity = TypeVar("Entity")


SETTLE = 8
"""Event loop turns a batch waits for more keys: a row's resolver can reach its `load` a few
turns after another row's (a field's permission awaiting the policy), and would otherwise start
a batch, and a query, of its own."""


class Loader(Generic[K, V]):
    def __init__(self, context: ServiceContext) -> None:
        self.context = context
        self._cache: dict[K, asyncio.Future[V]] = {}
        self._pending: dict[K, asyncio.Future[V]] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def load(self, key: K) -> Awaitable[V]:
        """The value for `key`, read with the other keys asked for in the same few turns."""
        future = self._cache.get(key)
        if future is None:
            loop = asyncio.get_running_loop()
            future = self._cache[key] = loop.create_future()
            if self._pending is None:
                self._pending = {}
                task = loop.create_task(self._dispatch())
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            self._pending[key] = future
        return future

    async def _dispatch(self) -> None:
        for _ in range(SETTLE):
            await asyncio.sleep(0)
        pending, self._pending = self._pending or {}, None
        keys = list(pending)
        try:
            values = list(await self.batch_load(keys))
            if len(values) != len(keys):
                raise RuntimeError(
                    f"{type(self).__name__}: {len(values)} values for {len(keys)} keys"
                )
        except Exception as exc:
            for future in pending.values():
                if not future.done():
                    future.set_exception(exc)
            return
        for key, value in zip(keys, values, strict=True):
            future = pending[key]
            if future.done():
                continue
            if isinstance(value, BaseException):
                future.set_exception(value)
            else:
                future.set_result(value)

    @classmethod
    def of(cls, info: Info[Any, Any]) -> Self:
        """This request's loader of the relation (made on first use)."""
        return cls.of_context(info.context)

    @classmethod
    def of_context(cls, context: ServiceContext) -> Self:
        name = f"{cls.__module__}.{cls.__qualname__}"
        loader = context.loaders.get(name)
        if loader is None:
            loader = context.loaders[name] = cls(context)
        return loader

    async def batch_load(self, keys: list[K]) -> Sequence[V | BaseException]:
        """One value per key, in the keys' order; an exception is raised by that key's `load`."""
        raise NotImplementedError


def by_key(
    keys: list[K], rows: Iterable[Row], key: Callable[[Row], K], value: Callable[[Row], V]
) -> list[V | None]:
    """For each key, the value of the row with that key (None when there is none)."""
    found = {key(row): value(row) for row in rows}
    return [found.get(k) for k in keys]


def grouped(
    keys: list[K], rows: Iterable[Row], key: Callable[[Row], K], value: Callable[[Row], V]
) -> list[list[V]]:
    """For each key, the values of its rows, in the rows' order."""
    groups: dict[K, list[V]] = {k: [] for k in keys}
    for row in rows:
        groups[key(row)].append(value(row))
    return [groups[k] for k in keys]


async def rows_by(
    session: AsyncSession,
    entity: type[Entity],
    column: InstrumentedAttribute[K],
    keys: list[K],
) -> list[Entity | None]:
    """For each key, the row of `entity` whose unique `column` holds it (None when there is
    none), in one statement: a to-one relation of every row of a list."""
    rows = await session.scalars(select(entity).where(column.in_(keys)))
    return by_key(keys, rows, lambda row: getattr(row, column.key), lambda row: row)


async def first_rows_per(
    session: AsyncSession,
    query: Select[Entity],
    entity: type[Entity],
    *,
    partition: InstrumentedAttribute[Any],
    order: Sequence[ColumnElement[Any] | InstrumentedAttribute[Any]],
    limit: int,
) -> list[Entity]:
    """The first `limit` rows of `query` for each value of `partition` in `order`, in one
    statement: a page of a relation for every row of a list (a window over the partitions)."""
    statement = first_rows_statement(query, entity, partition=partition, order=order, limit=limit)
    return list((await session.scalars(statement)).all())


def first_rows_statement(
    query: Select[Entity],
    entity: type[Entity],
    *,
    partition: InstrumentedAttribute[Any],
    order: Sequence[ColumnElement[Any] | InstrumentedAttribute[Any]],
    limit: int | BindParameter[int],
    total: bool = False,
) -> Select[Any]:
    """`first_rows_per`'s statement. A loader that runs it on every request builds it once, with
    bound parameters for what changes (the keys, the limit): building the window, its subquery
    and the entity aliased over it cost more than executing it. `total=True` adds a second
    column: how many rows of `query` its row's partition holds (a connection's `totalCount`,
    read with the page instead of by a query of its own)."""
    rank = func.row_number().over(partition_by=partition, order_by=list(order)).label("rank")
    columns = [rank]
    if total:
        columns.append(func.count().over(partition_by=partition).label("total"))
    ranked = query.add_columns(*columns).subquery()
    rows = aliased(entity, ranked)
    statement = select(rows).add_columns(ranked.c.total) if total else select(rows)
    return statement.where(ranked.c.rank <= limit).order_by(ranked.c[partition.key], ranked.c.rank)
