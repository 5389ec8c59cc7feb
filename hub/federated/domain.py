"""Federated learning: runs across the nodes on Flower. Runs left unfinished by a restart are
resumed at start-up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog

from hub.federated import models
from hub.federated.graphql import FederatedMutation, FederatedQuery, FederatedSubscription
from hub.federated.runner import FlowerRunner
from hub.state import HubDomain, HubState

log = structlog.get_logger(__name__)


@asynccontextmanager
async def start(state: HubState) -> AsyncIterator[None]:
    state.federated_runner = FlowerRunner(state.settings, state.db.sessionmaker, state.run_events)
    try:
        await state.federated_runner.resume()
    except Exception:  # e.g. not migrated yet: runs are picked up at the next start
        log.exception("federated_resume_failed")
    try:
        yield
    finally:
        await state.federated_runner.close()


DOMAIN = HubDomain(
    name="federated",
    models=(models,),
    queries=(FederatedQuery,),
    mutations=(FederatedMutation,),
    subscriptions=(FederatedSubscription,),
    start=start,
)
