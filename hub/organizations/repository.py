from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.organizations.models import Organization, OrganizationKind
from yunfab.graphql.pagination import Page, PageRequest


class OrganizationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_by_name(self, name: str) -> Organization | None:
        result = await self.session.execute(select(Organization).where(Organization.name == name))
        return result.scalar_one_or_none()

    def add(self, organization: Organization) -> None:
        self.session.add(organization)

    async def page(
        self,
        request: PageRequest,
        *,
        kind: OrganizationKind | None = None,
        text: str | None = None,
    ) -> Page[Organization]:
        matching = select(Organization)
        if kind is not None:
            matching = matching.where(Organization.kind == kind)
        if text:
            escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            matching = matching.where(Organization.name.ilike(f"%{escaped}%", escape="\\"))
        query = matching.order_by(Organization.name)
        if request.after is not None:
            query = query.where(Organization.name > request.after[0])
        rows = (await self.session.scalars(query.limit(request.limit + 1))).all()

        async def count() -> int:
            counting = select(func.count()).select_from(matching.subquery())
            return await self.session.scalar(counting) or 0

        return Page.from_rows(rows, request.limit, count)
