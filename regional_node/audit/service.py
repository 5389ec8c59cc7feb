"""The node's own audit chain (see `yunfab.audit`): factory onboarding, device lifecycle,
cross-organization reads."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from regional_node.audit.models import AuditEntry, AuditHead
from yunfab import audit

CHAIN = audit.AuditChain(AuditEntry, AuditHead, lock_key=7_216_115)

append_entry = CHAIN.append
verify_chain = CHAIN.verify
page_entries = CHAIN.page


class AuditLog(audit.AuditLog[AuditEntry, AuditHead]):
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(sessionmaker, CHAIN)
