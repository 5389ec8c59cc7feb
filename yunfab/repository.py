"""What every repository does with its session: a domain's repository subclasses `Repository`
and names its queries after what they find (`listing_by_slug`, `releases_of`); its service holds
the rules and calls those, never `select()` (polar's `kit/repository/base.py` is the model)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from yunfab.graphql.pagination import Page, PageRequest, newest_first

T = TypeVar("T")


class Repository:
    """Holds one session; returns ORM objects (or plain values), flushes, never commits: the
    unit of work that opened the session commits or rolls back."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, instance: object) -> None:
        self.session.add(instance)

    def add_all(self, instances: Iterable[object]) -> None:
        self.session.add_all(instances)

    async def flush(self) -> None:
        await self.session.flush()

    async def get(self, model: type[T], ident: Any, *, for_update: bool = False) -> T | None:
        """By primary key; `for_update` locks the row (`SELECT ... FOR UPDATE`)."""
        return await self.session.get(model, ident, with_for_update=for_update)

    async def first(self, statement: Select[T]) -> T | None:
        """The first row's first column, or None when there is no row."""
        return await self.session.scalar(statement)

    async def all(self, statement: Select[T]) -> list[T]:
        return list((await self.session.scalars(statement)).all())

    async def newest_first_page(
        self,
        query: Select[T],
        at: QueryableAttribute[Any],
        ident: QueryableAttribute[Any],
        request: PageRequest,
    ) -> Page[T]:
        """One page of `query`, newest first by (`at`, `ident`); its total counted only when
        asked for."""
        rows: Sequence[T] = (
            await self.session.scalars(
                newest_first(query, at, ident, request.after).limit(request.limit + 1)
            )
        ).all()

        async def count() -> int:
            counting = select(func.count()).select_from(query.subquery())
            return await self.session.scalar(counting) or 0

        return Page.from_rows(rows, request.limit, count)
