"""The hub's audit chain (see `yunfab.audit`): cross-organization decisions, tokens issued,
clients and keys managed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.audit.models import AuditEntry, AuditHead
from yunfab import audit
from yunfab.graphql.pagination import Page, PageRequest

CHAIN = audit.AuditChain(AuditEntry, AuditHead, lock_key=7_216_114)

append_entry = CHAIN.append
verify_chain = CHAIN.verify


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


async def page_entries(
    session: AsyncSession, *, page: PageRequest, filters: EntryFilters | None = None
) -> Page[AuditEntry]:
    """Newest first. Entries are appended in time order, so `seq` orders them as `at` does."""
    conditions = (filters or EntryFilters()).conditions()
    query = select(AuditEntry).where(*conditions).order_by(AuditEntry.seq.desc())
    if page.after is not None:
        query = query.where(AuditEntry.seq < int(page.after[0]))
    rows = (await session.scalars(query.limit(page.limit + 1))).all()

    async def count() -> int:
        counting = select(func.count()).select_from(AuditEntry).where(*conditions)
        return await session.scalar(counting) or 0

    return Page.from_rows(rows, page.limit, count)


class AuditLog(audit.AuditLog[AuditEntry, AuditHead]):
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(sessionmaker, CHAIN)
