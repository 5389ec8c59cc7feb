"""Keeps a hub process's key ring and deny-list current with the database, so a rotation or a
revocation made by another hub process or the console takes effect here within one interval
(every replica); and clears authorization codes that expired unused, browser sessions past their
end, and refresh token families past their absolute end (used tokens are kept until then: one
presented again must still be recognised as reused), once per hub."""

from __future__ import annotations

import asyncio

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.identity.keys import KeyRing
from hub.identity.repository import IdentityRepository
from yunfab.db import session_scope, utcnow
from yunfab.revocations import RevocationSet

log = structlog.get_logger(__name__)


async def load_revocations(
    sessionmaker: async_sessionmaker[AsyncSession], revocations: RevocationSet
) -> None:
    async with session_scope(sessionmaker) as session:
        # Look back: seqs are taken at insert, commits land in any order.
        rows = await IdentityRepository(session).revocations_after(
            revocations.last_seq - 100, utcnow()
        )
    for row in rows:
        revocations.add(row.jti, row.expires_at.timestamp(), seq=row.seq)
    revocations.prune()


async def keep_current(
    sessionmaker: async_sessionmaker[AsyncSession],
    keyring: KeyRing,
    revocations: RevocationSet,
    interval_s: float,
) -> None:
    while True:
        await asyncio.sleep(interval_s)
        try:
            await keyring.load()
            await load_revocations(sessionmaker, revocations)
        except Exception:  # keep serving with what we have; readiness shows a dead database
            log.exception("identity_refresh_failed")


async def clear_expired(sessionmaker: async_sessionmaker[AsyncSession], interval_s: float) -> None:
    """Delete what expired, every `interval_s`: one replica's work (a singleton task)."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            async with session_scope(sessionmaker) as session:
                await IdentityRepository(session).delete_expired(utcnow())
        except Exception:  # the next round tries again; readiness shows a dead database
            log.exception("identity_expiry_failed")
