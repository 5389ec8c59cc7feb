from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.federation.models import NodeStatus, RegionalNode
from yunfab.graphql.pagination import Page, PageRequest


class RegionalNodeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_by_name(self, name: str, *, for_update: bool = False) -> RegionalNode | None:
        query = select(RegionalNode).where(RegionalNode.name == name)
        if for_update:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    async def get_by_url(self, base_url: str) -> RegionalNode | None:
        query = select(RegionalNode).where(RegionalNode.base_url == base_url)
        return (await self.session.execute(query)).scalar_one_or_none()

    def add(self, node: RegionalNode) -> None:
        self.session.add(node)

    async def page(
        self,
        request: PageRequest,
        *,
        region: str | None = None,
        industry: str | None = None,
        status: NodeStatus | None = None,
        online_since: dt.datetime | None = None,
    ) -> Page[RegionalNode]:
        """`status` as clients see it: online means marked so with a heartbeat at or after
        `online_since` (a node whose heartbeats stopped is offline before the sweep marks it)."""

        def filtered(query: Select[Any]) -> Select[Any]:
            if region is not None:
                query = query.where(RegionalNode.region == region)
            if industry is not None:
                query = query.where(RegionalNode.industry == industry)
            if status is not None and online_since is not None:
                online = (
                    (RegionalNode.status == NodeStatus.ONLINE)
                    & RegionalNode.last_heartbeat.is_not(None)
                    & (RegionalNode.last_heartbeat >= online_since)
                )
                query = query.where(online if status is NodeStatus.ONLINE else ~online)
            return query

        query = filtered(select(RegionalNode)).order_by(RegionalNode.name)
        if request.after is not None:
            query = query.where(RegionalNode.name > request.after[0])
        rows = (await self.session.scalars(query.limit(request.limit + 1))).all()

        async def count() -> int:
            query = filtered(select(func.count()).select_from(RegionalNode))
            return await self.session.scalar(query) or 0

        return Page.from_rows(rows, request.limit, count)

    async def stale_online(self, cutoff: dt.datetime) -> list[RegionalNode]:
        """Nodes still marked online whose last heartbeat is older than `cutoff`."""
        query = (
            select(RegionalNode)
            .where(RegionalNode.status == NodeStatus.ONLINE)
            .where(RegionalNode.last_heartbeat < cutoff)
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.scalars(query)).all())
