"""What people may ask of the node's market records (the installer acts on its own)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.market.models import Installation
from regional_node.market.repository import MarketRepository
from yunfab.authorization import Authorizer
from yunfab.subject import Subject


async def list_installations(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer
) -> Sequence[Installation]:
    await authorizer.check(subject, "node.market.read")
    return await MarketRepository(session).installations()


async def trust_fetched_at(session: AsyncSession) -> dt.datetime | None:
    return await MarketRepository(session).trust_fetched_at()
