"""The retention purge, by itself: a worker whose availability (and last proposal) ended more
than `workforce_retention_days` ago is deleted without anyone asking, ten minutes after the node
starts and then every `workforce_purge_interval_s` (daily). With several API replicas one
runs it at a time (a singleton task); a run deletes only what is expired at the time, so one
that overlaps another finds nothing left."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Coroutine
from typing import Any

import structlog

from regional_node.state import NodeState
from regional_node.workforce import service
from yunfab.db import session_scope
from yunfab.subject import Subject, SubjectKind

log = structlog.get_logger(__name__)

PURGE_BY = Subject(kind=SubjectKind.SYSTEM, id="workforce-purge")
"""Who the audit line names for the scheduled purge."""
FIRST_RUN_AFTER_S = 600.0
"""Not in the start-up rush; a node restarted more often than daily still purges."""


async def purge_once(state: NodeState, *, today: dt.date | None = None) -> int:
    """One scheduled purge with the node's retention: how many workers went (audited as
    `node.workforce.purge`, by `system:workforce-purge`)."""
    async with session_scope(state.db.sessionmaker) as session:
        gone = await service.purge_expired(
            session, PURGE_BY, runtime=state.runtime,
            retention_days=state.settings.workforce_retention_days, today=today,
        )  # fmt: skip
    log.info("workforce_purged", deleted=gone)
    return gone


async def _schedule(state: NodeState, interval_s: float) -> None:
    await asyncio.sleep(min(FIRST_RUN_AFTER_S, interval_s))
    while True:
        try:
            await purge_once(state)
        except Exception:  # a database hiccup must not end the schedule; tomorrow tries again
            log.exception("workforce_purge_failed")
        await asyncio.sleep(interval_s)


def purge(state: NodeState) -> Coroutine[Any, Any, None] | None:
    """The background task; None when `workforce_retention_days` is 0."""
    settings = state.settings
    if settings.workforce_retention_days == 0:
        return None
    return _schedule(state, settings.workforce_purge_interval_s)
