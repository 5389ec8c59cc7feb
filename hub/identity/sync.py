"""Keeps a hub process's key ring and deny-list current with the database, so a rotation or a
revocation made by another hub process or the console takes effect here within one interval;
and clears authorization codes that expired unused, browser sessions past their end, and refresh
token families past their absolute end (used tokens are kept until then: one presented again
must still be recognised as reused)."""

from __future__ import annotations

import asyncio

import structlog
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.identity.keys import KeyRing
from hub.identity.models import AuthorizationCode, BrowserSession, RefreshToken, RevokedToken
from yunfab.db import session_scope, utcnow
from yunfab.revocations import RevocationSet

log = structlog.get_logger(__name__)


async def load_revocations(
    sessionmaker: async_sessionmaker[AsyncSession], revocations: RevocationSet
) -> None:
    async with session_scope(sessionmaker) as session:
        rows = (
            await session.scalars(
                select(RevokedToken).where(
                    # Look back: seqs are taken at insert, commits land in any order.
                    RevokedToken.seq > revocations.last_seq - 100,
                    RevokedToken.expires_at > utcnow(),
                )
            )
        ).all()
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
            async with session_scope(sessionmaker) as session:
                now = utcnow()
                await session.execute(
                    delete(AuthorizationCode).where(AuthorizationCode.expires_at < now)
                )
                await session.execute(delete(BrowserSession).where(BrowserSession.expires_at < now))
                await session.execute(
                    delete(RefreshToken).where(RefreshToken.family_expires_at < now)
                )
        except Exception:  # keep serving with what we have; readiness shows a dead database
            log.exception("identity_refresh_failed")
