"""The hub's audit chain (see `yunfab.audit`): cross-organization decisions, tokens issued,
clients and keys managed."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.audit.models import AuditEntry, AuditHead
from yunfab import audit

CHAIN = audit.AuditChain(AuditEntry, AuditHead, lock_key=7_216_114)

append_entry = CHAIN.append
verify_chain = CHAIN.verify
page_entries = CHAIN.page


class AuditLog(audit.AuditLog[AuditEntry, AuditHead]):
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(sessionmaker, CHAIN)
