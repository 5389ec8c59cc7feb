"""The hub's audit chain (see `yunfab.audit`): cross-organization decisions, tokens issued,
clients and keys managed."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.audit.models import AuditEntry, AuditHead
from hub.audit.repository import AuditRepository, EntryFilters
from yunfab import audit
from yunfab.graphql.pagination import Page, PageRequest

CHAIN = audit.AuditChain(AuditEntry, AuditHead, lock_key=7_216_114)

append_entry = CHAIN.append
verify_chain = CHAIN.verify

__all__ = ["CHAIN", "AuditLog", "EntryFilters", "append_entry", "page_entries", "verify_chain"]


async def page_entries(
    session: AsyncSession, *, page: PageRequest, filters: EntryFilters | None = None
) -> Page[AuditEntry]:
    """Newest first."""
    return await AuditRepository(session).entries_page(page, filters or EntryFilters())


class AuditLog(audit.AuditLog[AuditEntry, AuditHead]):
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(sessionmaker, CHAIN)
