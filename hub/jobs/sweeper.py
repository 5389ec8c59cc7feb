"""The hub's jobs whose queue message was lost, queued again (`yunfab.jobs.sweeper`), once per
hub under a lease."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from hub.jobs.service import STORE
from hub.state import HubState
from yunfab.jobs import sweeper


def sweep(state: HubState) -> Coroutine[Any, Any, None] | None:
    """The background task; None when jobs run in the API process (they cannot be lost)."""
    if not state.settings.nats_url:
        return None
    return sweeper.sweep(
        state.jobs, STORE, state.db.sessionmaker, ack_wait_s=state.settings.jobs_ack_wait_s
    )
