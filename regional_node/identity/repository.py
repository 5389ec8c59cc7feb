"""SQL of the node's identity: the one row that says which node a database belongs to."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.identity.models import NodeIdentity


class IdentityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find(self) -> NodeIdentity | None:
        """The identity, None in a database no node has started on (more than one raises)."""
        return (await self.session.execute(select(NodeIdentity))).scalar_one_or_none()

    async def get(self) -> NodeIdentity:
        """The identity, which a started node has (none, or more than one, raises)."""
        return (await self.session.execute(select(NodeIdentity))).scalar_one()
