"""SQL of the node's market records: installations and the cached trust roots."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.market.models import Installation, InstallState, TrustKey
from regional_node.vision.models import QualityRecord
from yunfab.errors import InvalidInput
from yunfab.graphql.pagination import Page, PageRequest


class MarketRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def installation(
        self, installation_id: str, *, lock: bool = False
    ) -> Installation | None:
        return await self.session.get(Installation, installation_id, with_for_update=lock)

    async def installations(self) -> Sequence[Installation]:
        query = select(Installation).order_by(Installation.created_at.desc(), Installation.id)
        return (await self.session.scalars(query)).all()

    async def installation_page(
        self,
        page: PageRequest,
        *,
        state: InstallState | None = None,
        kind: str | None = None,
        listing: str | None = None,
    ) -> Page[Installation]:
        """Newest first, by (created_at, id): the cursor is `[iso time, hub id]`."""
        conditions: list[ColumnElement[bool]] = []
        if state is not None:
            conditions.append(Installation.state == state)
        if kind is not None:
            conditions.append(Installation.kind == kind)
        if listing is not None:
            conditions.append(Installation.listing == listing)
        query = select(Installation).where(*conditions)
        if page.after is not None:
            try:
                when = dt.datetime.fromisoformat(page.after[0])
            except ValueError as exc:
                raise InvalidInput("invalid cursor") from exc
            after_id = page.after[1]
            query = query.where(
                (Installation.created_at < when)
                | ((Installation.created_at == when) & (Installation.id < after_id))
            )
        query = query.order_by(Installation.created_at.desc(), Installation.id.desc())
        rows = (await self.session.scalars(query.limit(page.limit + 1))).all()
        counting = select(func.count()).select_from(Installation).where(*conditions)

        async def count() -> int:
            return await self.session.scalar(counting) or 0

        return Page.from_rows(rows, page.limit, count)

    async def replace_trust(self, keys: Iterable[TrustKey]) -> None:
        """The hub's whole answer in place of the last one (a key it dropped is dropped here)."""
        await self.session.execute(delete(TrustKey))
        self.session.add_all(list(keys))
        await self.session.flush()

    async def trust(self) -> Sequence[TrustKey]:
        return (await self.session.scalars(select(TrustKey))).all()

    async def trust_fetched_at(self) -> dt.datetime | None:
        return await self.session.scalar(select(func.max(TrustKey.fetched_at)))

    async def inspections_with(self, model_id: uuid.UUID) -> int:
        count = select(func.count()).select_from(QualityRecord)
        return await self.session.scalar(count.where(QualityRecord.model_id == model_id)) or 0
