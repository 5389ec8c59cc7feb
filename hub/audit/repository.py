"""The SQL that reads the hub's audit chain (appending to it and checking it are the shared
`yunfab.audit`'s)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select

from hub.audit.models import AuditEntry
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.repository import Repository


@dataclass(frozen=True)
class EntryFilters:
    action: str | None = None
    actor: str | None = None
    since: dt.datetime | None = None
    """Inclusive."""
    until: dt.datetime | None = None
    """Exclusive."""

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.action is not None:
            conditions.append(AuditEntry.action == self.action)
        if self.actor is not None:
            conditions.append(AuditEntry.actor == self.actor)
        if self.since is not None:
            conditions.append(AuditEntry.at >= self.since)
        if self.until is not None:
            conditions.append(AuditEntry.at < self.until)
        return conditions


class AuditRepository(Repository):
    async def entries_page(self, request: PageRequest, filters: EntryFilters) -> Page[AuditEntry]:
        """Newest first. Entries are appended in time order, so `seq` orders them as `at`
        does."""
        conditions = filters.conditions()
        query = select(AuditEntry).where(*conditions).order_by(AuditEntry.seq.desc())
        if request.after is not None:
            query = query.where(AuditEntry.seq < int(request.after[0]))
        rows = (await self.session.scalars(query.limit(request.limit + 1))).all()

        async def count() -> int:
            counting = select(func.count()).select_from(AuditEntry).where(*conditions)
            return await self.session.scalar(counting) or 0

        return Page.from_rows(rows, request.limit, count)
