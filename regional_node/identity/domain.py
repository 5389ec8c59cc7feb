"""The node's own identity (name, region, industry), ensured at start-up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from regional_node.identity import models
from regional_node.identity.service import ensure_identity
from regional_node.state import NodeDomain, NodeState
from yunfab.db import session_scope


@asynccontextmanager
async def start(state: NodeState) -> AsyncIterator[None]:
    settings = state.settings
    async with session_scope(state.db.sessionmaker) as session:
        await ensure_identity(
            session, name=settings.name, region=settings.region, industry=settings.industry
        )
    yield


DOMAIN = NodeDomain(name="identity", models=(models,), start=start)
