"""What people may ask of the node's market records (the installer acts on its own)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.market.models import Installation, InstallState
from regional_node.market.repository import MarketRepository
from yunfab.authorization import Authorizer
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.subject import Subject


async def list_installations(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer
) -> Sequence[Installation]:
    await authorizer.check(subject, "node.market.read")
    return await MarketRepository(session).installations()


async def installation_page(
    session: AsyncSession,
    subject: Subject,
    *,
    authorizer: Authorizer,
    page: PageRequest,
    state: InstallState | None = None,
    kind: str | None = None,
    listing: str | None = None,
) -> Page[Installation]:
    """As `list_installations`, a page at a time and filtered."""
    await authorizer.check(subject, "node.market.read")
    return await MarketRepository(session).installation_page(
        page, state=state, kind=kind, listing=listing
    )


async def trust_fetched_at(session: AsyncSession) -> dt.datetime | None:
    return await MarketRepository(session).trust_fetched_at()


async def trust_fetched_at_for(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer
) -> dt.datetime | None:
    """`trust_fetched_at`, for who may read the market's records here."""
    await authorizer.check(subject, "node.market.read")
    return await trust_fetched_at(session)
