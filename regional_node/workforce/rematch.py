"""The node's own re-match: when a need or a pool worker is posted, closed or deleted, the
matching runs again by itself once both sides have stayed as they are for
`workforce_rematch_delay_s` (debounced: a burst of postings makes one run). Accepted proposals,
and those one side already accepted, are kept as they are (`service.match_all`)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import structlog

from regional_node.state import NodeState
from regional_node.workforce import service
from regional_node.workforce.repository import WorkforceRepository
from yunfab.db import session_scope

log = structlog.get_logger(__name__)

REMATCH_BY = "system:workforce-rematch"
"""How the runs it makes are signed (`WorkforceMatchRun.created_by`)."""


async def _look(state: NodeState) -> tuple[tuple[Any, ...], Any]:
    """Both sides' mark and when the latest match ran."""
    async with state.db.sessionmaker() as session:
        repository = WorkforceRepository(session)
        return await repository.sides_mark(), await repository.latest_run_at()


async def _rematch(state: NodeState, last_run: Any) -> None:
    async with session_scope(state.db.sessionmaker) as session:
        repository = WorkforceRepository(session)
        await repository.matching_lock()
        if await repository.latest_run_at() != last_run:
            return  # the operator matched meanwhile: that run took the sides as they are
        run = await service.match_all(session, created_by=REMATCH_BY)
        log.info("workforce_rematched", run=str(run.id), covered=run.covered, kept=run.kept)


async def _watch(state: NodeState, delay_s: float) -> None:
    seen, last_run = await _look(state)
    matched = seen
    while True:
        await asyncio.sleep(delay_s)
        try:
            now, run_at = await _look(state)
            if run_at != last_run:
                # Someone matched since the last look: that run took the sides as they are.
                last_run, matched = run_at, now
            if now != seen:  # still changing (or just changed): wait until it settles
                seen = now
                continue
            if now != matched:
                await _rematch(state, last_run)
                matched = now
                last_run = (await _look(state))[1]
        except Exception:  # a database hiccup (or a refused match) must not end the watch
            log.exception("workforce_rematch_failed")


def rematch(state: NodeState) -> Coroutine[Any, Any, None] | None:
    """The background task; None when `workforce_rematch` is off."""
    settings = state.settings
    if not settings.workforce_rematch:
        return None
    return _watch(state, settings.workforce_rematch_delay_s)
