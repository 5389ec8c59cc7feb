"""The node's own identity. A database belongs to one node: starting another node on it is refused,
so two nodes can never mix their factories by sharing a file or a URL by mistake."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.identity.errors import IdentityMismatch
from regional_node.identity.models import NodeIdentity
from regional_node.identity.repository import IdentityRepository


async def ensure_identity(
    session: AsyncSession, *, name: str, region: str, industry: str
) -> NodeIdentity:
    identity = await IdentityRepository(session).find()
    if identity is None:
        identity = NodeIdentity(name=name, region=region, industry=industry)
        session.add(identity)
        await session.flush()
        return identity
    if (identity.name, identity.region, identity.industry) != (name, region, industry):
        raise IdentityMismatch(
            f"this database belongs to node {identity.name} "
            f"({identity.region}, {identity.industry}), not {name} ({region}, {industry})"
        )
    return identity


async def mark_registered(session: AsyncSession, *, at: dt.datetime) -> None:
    identity = await IdentityRepository(session).get()
    if identity.hub_registered_at is None:
        identity.hub_registered_at = at
        await session.flush()
