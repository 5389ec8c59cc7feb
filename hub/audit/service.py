"""Append to and verify the hash-chained audit log.

Each entry's hash covers its own fields and the previous entry's hash; the head (newest sequence
and hash) is kept in its own row. Editing an entry, deleting one from the middle, or cutting the
tail all show up in `verify`. Appends are serialized: an in-process lock, plus a transaction-level
advisory lock on PostgreSQL so several hub processes cannot fork the chain.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.audit.models import AuditEntry, AuditHead
from yunfab.db import session_scope, utcnow
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.subject import Subject

log = structlog.get_logger(__name__)

GENESIS = "0" * 64
_ADVISORY_LOCK = 7_216_114  # any constant: the hub's audit-append lock on PostgreSQL
_HEAD_ID = 1


def entry_hash(entry: AuditEntry) -> str:
    at = entry.at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    body = json.dumps(
        [
            entry.prev_hash,
            entry.seq,
            at,
            entry.actor,
            entry.actor_org,
            entry.action,
            entry.resource,
            entry.outcome,
            entry.detail,
        ],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


async def append_entry(
    session: AsyncSession,
    *,
    actor: Subject,
    action: str,
    resource: str,
    outcome: str,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append within the caller's transaction: the entry commits with the action it records,
    or neither does."""
    if (await session.connection()).dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK})
    head = await session.get(AuditHead, _HEAD_ID, with_for_update=True)
    entry = AuditEntry(
        seq=(head.seq if head else 0) + 1,
        at=utcnow(),
        actor=actor.label,
        actor_org=actor.org_id,
        action=action,
        resource=resource[:512],
        outcome=outcome,
        detail=json.loads(json.dumps(detail or {}, default=str)),
        prev_hash=head.hash if head else GENESIS,
    )
    entry.hash = entry_hash(entry)
    session.add(entry)
    if head is None:
        session.add(AuditHead(id=_HEAD_ID, seq=entry.seq, hash=entry.hash))
    else:
        head.seq, head.hash = entry.seq, entry.hash
    await session.flush()
    return entry


class AuditLog:
    """Appends events that are their own action (a decision, a token issued) in their own
    transaction, serialized in this process; retried when another process (the console on the
    same SQLite file) took the same sequence number first."""

    ATTEMPTS = 5

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker
        self._lock = asyncio.Lock()

    async def append(
        self,
        *,
        actor: Subject,
        action: str,
        resource: str,
        outcome: str,
        detail: dict[str, Any] | None = None,
    ) -> AuditEntry:
        async with self._lock:
            for attempt in range(1, self.ATTEMPTS + 1):
                try:
                    async with session_scope(self.sessionmaker) as session:
                        return await append_entry(
                            session,
                            actor=actor,
                            action=action,
                            resource=resource,
                            outcome=outcome,
                            detail=detail,
                        )
                except (IntegrityError, OperationalError):
                    if attempt == self.ATTEMPTS:
                        log.exception("audit_append_failed", action=action)
                        raise
                    await asyncio.sleep(0.05 * attempt)
        raise AssertionError("unreachable")


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    problem: str | None = None
    seq: int | None = None


async def verify_chain(session: AsyncSession, *, batch: int = 1000) -> Verification:
    """Walk the whole chain; report the first entry that does not hold."""
    expected_prev, expected_seq, checked = GENESIS, 1, 0
    last_seq = 0
    while True:
        rows = (
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.seq > last_seq)
                .order_by(AuditEntry.seq)
                .limit(batch)
            )
        ).all()
        if not rows:
            break
        for entry in rows:
            if entry.seq != expected_seq:
                return Verification(
                    False, checked, f"entry {expected_seq} is missing", expected_seq
                )
            if entry.prev_hash != expected_prev:
                return Verification(False, checked, "chain broken before this entry", entry.seq)
            if entry_hash(entry) != entry.hash:
                return Verification(False, checked, "entry was altered", entry.seq)
            expected_prev, expected_seq = entry.hash, entry.seq + 1
            checked += 1
            last_seq = entry.seq
    head = await session.get(AuditHead, _HEAD_ID)
    if head is None and checked:
        return Verification(False, checked, "the chain head is missing")
    if head is not None and (head.seq != last_seq or head.hash != expected_prev):
        return Verification(False, checked, f"entries after {last_seq} were removed", last_seq + 1)
    return Verification(True, checked)


async def page_entries(
    session: AsyncSession, *, page: PageRequest, action: str | None = None
) -> Page[AuditEntry]:
    """Newest first."""
    query = select(AuditEntry).order_by(AuditEntry.seq.desc())
    counting = select(func.count()).select_from(AuditEntry)
    if action is not None:
        query = query.where(AuditEntry.action == action)
        counting = counting.where(AuditEntry.action == action)
    if page.after is not None:
        query = query.where(AuditEntry.seq < int(page.after[0]))
    rows = (await session.scalars(query.limit(page.limit + 1))).all()

    async def count() -> int:
        return await session.scalar(counting) or 0

    return Page.from_rows(rows, page.limit, count)
