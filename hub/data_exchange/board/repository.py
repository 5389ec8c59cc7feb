from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from hub.data_exchange.board.models import BoardPosting, PostingStatus, Resource, Side
from hub.organizations.models import Organization
from yunfab.graphql.pagination import Page, PageRequest, newest_first

MAX_CANDIDATES = 5000
"""The most postings of the other side read to match one posting (newest first). Open postings
of one item and unit are far fewer in practice; the cap bounds the work a request can cause."""


@dataclass(frozen=True)
class BoardFilter:
    side: Side | None = None
    resource: Resource | None = None
    item: str | None = None
    region: str | None = None
    include_closed: bool = False
    organization_id: uuid.UUID | None = None
    """One organization's postings (e.g. the caller's own, to manage them)."""

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.side is not None:
            conditions.append(BoardPosting.side == self.side)
        if self.resource is not None:
            conditions.append(BoardPosting.resource == self.resource)
        if self.item is not None:
            conditions.append(BoardPosting.item == self.item)
        if self.region is not None:
            conditions.append(BoardPosting.region == self.region)
        if self.organization_id is not None:
            conditions.append(BoardPosting.organization_id == self.organization_id)
        if not self.include_closed:
            conditions.append(BoardPosting.status == PostingStatus.OPEN)
        return conditions


class BoardRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def organization(self, organization_id: uuid.UUID) -> Organization | None:
        """The organization a posting is made for."""
        return await self.session.get(Organization, organization_id)

    def add(self, posting: BoardPosting) -> None:
        self.session.add(posting)

    async def get(self, posting_id: uuid.UUID, *, for_update: bool = False) -> BoardPosting | None:
        query = (
            select(BoardPosting)
            .where(BoardPosting.id == posting_id)
            .options(joinedload(BoardPosting.organization, innerjoin=True))
        )
        if for_update:
            query = query.with_for_update(of=BoardPosting)
        return (await self.session.scalars(query)).one_or_none()

    async def count_open(self, organization_id: uuid.UUID) -> int:
        query = select(func.count()).where(
            BoardPosting.organization_id == organization_id,
            BoardPosting.status == PostingStatus.OPEN,
        )
        return await self.session.scalar(query) or 0

    async def page(self, board: BoardFilter, request: PageRequest) -> Page[BoardPosting]:
        conditions = board.conditions()
        query = newest_first(
            select(BoardPosting).where(*conditions),
            BoardPosting.created_at,
            BoardPosting.id,
            request.after,
        ).options(joinedload(BoardPosting.organization, innerjoin=True))
        rows = (await self.session.scalars(query.limit(request.limit + 1))).all()

        async def count() -> int:
            total = select(func.count()).select_from(BoardPosting).where(*conditions)
            return await self.session.scalar(total) or 0

        return Page.from_rows(rows, request.limit, count)

    async def candidates(self, posting: BoardPosting) -> Sequence[BoardPosting]:
        """Open postings that could serve `posting`: the other side's, for the same thing, from
        other organizations, in an overlapping window. Distances are left to the matcher."""
        query = (
            select(BoardPosting)
            .where(
                BoardPosting.resource == posting.resource,
                BoardPosting.item == posting.item,
                BoardPosting.unit == posting.unit,
                BoardPosting.side == posting.side.other,
                BoardPosting.status == PostingStatus.OPEN,
                BoardPosting.organization_id != posting.organization_id,
                BoardPosting.available_from <= posting.available_to,
                BoardPosting.available_to >= posting.available_from,
            )
            .options(joinedload(BoardPosting.organization, innerjoin=True))
            .order_by(BoardPosting.created_at.desc(), BoardPosting.id.desc())
            .limit(MAX_CANDIDATES)
        )
        return (await self.session.scalars(query)).all()
