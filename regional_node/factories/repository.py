from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.factories.models import Factory
from yunfab.graphql.pagination import Page, PageRequest


class FactoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_by_name(self, name: str) -> Factory | None:
        return (
            await self.session.execute(select(Factory).where(Factory.name == name))
        ).scalar_one_or_none()

    def add(self, factory: Factory) -> None:
        self.session.add(factory)

    async def page(self, request: PageRequest) -> Page[Factory]:
        query = select(Factory).order_by(Factory.name)
        if request.after is not None:
            query = query.where(Factory.name > request.after[0])
        rows = (await self.session.scalars(query.limit(request.limit + 1))).all()

        async def count() -> int:
            return await self.session.scalar(select(func.count()).select_from(Factory)) or 0

        return Page.from_rows(rows, request.limit, count)
