from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.factories.models import CapacityDay, Equipment, Factory, FactoryStatus
from yunfab.graphql.pagination import Page, PageRequest, contains


@dataclass(frozen=True)
class FactoryFilter:
    """What a factory listing narrows to; every given condition must hold."""

    status: FactoryStatus | None = None
    region: str | None = None
    """The location's ISO 3166-2 region, exactly (CN-ZJ)."""
    search: str | None = None
    """Part of the name or the slug, any case."""

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.status is not None:
            found.append(Factory.status == self.status)
        if self.region is not None:
            found.append(Factory.location["region"].as_string() == self.region)
        if self.search:
            found.append(
                or_(contains(Factory.name, self.search), contains(Factory.slug, self.search))
            )
        return found


class FactoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, factory_id: uuid.UUID) -> Factory | None:
        return await self.session.get(Factory, factory_id)

    async def get_by_name(self, name: str) -> Factory | None:
        return (
            await self.session.execute(select(Factory).where(Factory.name == name))
        ).scalar_one_or_none()

    async def get_by_slug(self, slug: str) -> Factory | None:
        return (
            await self.session.execute(select(Factory).where(Factory.slug == slug))
        ).scalar_one_or_none()

    async def slug_nesting(self, slug: str) -> str | None:
        """A factory whose slug and `slug` are one the other's hyphenated prefix (`mill`,
        `mill-a`), whose device-key namespaces (`<slug>-...`) would therefore overlap."""
        return (
            await self.session.scalars(
                select(Factory.slug)
                .where(
                    func.substr(slug, 1, func.length(Factory.slug) + 1) == Factory.slug + "-",
                )
                .union(
                    select(Factory.slug).where(
                        func.substr(Factory.slug, 1, len(slug) + 1) == slug + "-"
                    )
                )
                .limit(1)
            )
        ).first()

    def add(self, factory: Factory) -> None:
        self.session.add(factory)

    async def equipment(self, factory_id: uuid.UUID) -> Sequence[Equipment]:
        return (
            await self.session.scalars(
                select(Equipment)
                .where(Equipment.factory_id == factory_id)
                .order_by(Equipment.type, Equipment.model)
            )
        ).all()

    async def capacity(
        self, factory_id: uuid.UUID, start: dt.date, end: dt.date
    ) -> Sequence[CapacityDay]:
        return (
            await self.session.scalars(
                select(CapacityDay)
                .where(
                    CapacityDay.factory_id == factory_id,
                    CapacityDay.day >= start,
                    CapacityDay.day <= end,
                )
                .order_by(CapacityDay.day, CapacityDay.process)
            )
        ).all()

    async def page(self, request: PageRequest, where: FactoryFilter | None = None) -> Page[Factory]:
        conditions: list[Any] = (where or FactoryFilter()).conditions()
        query = select(Factory).where(*conditions).order_by(Factory.name)
        if request.after is not None:
            query = query.where(Factory.name > request.after[0])
        rows = (await self.session.scalars(query.limit(request.limit + 1))).all()

        async def count() -> int:
            counting = select(func.count()).select_from(Factory).where(*conditions)
            return await self.session.scalar(counting) or 0

        return Page.from_rows(rows, request.limit, count)
