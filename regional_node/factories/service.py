from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.factories.models import Factory
from regional_node.factories.repository import FactoryRepository
from yunfab.errors import Conflict, InvalidInput
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.subject import Subject


class FactoryExists(Conflict):
    code = "factory_exists"


@dataclass(frozen=True)
class NewFactory:
    name: str


async def create_factory(session: AsyncSession, subject: Subject, *, input: NewFactory) -> Factory:
    name = input.name.strip()
    if not 1 <= len(name) <= 200:
        raise InvalidInput("factory name must be 1 to 200 characters")
    repository = FactoryRepository(session)
    if await repository.get_by_name(name) is not None:
        raise FactoryExists(f"a factory named {name!r} already exists on this node")
    factory = Factory(name=name)
    repository.add(factory)
    await session.flush()
    return factory


async def list_factories(
    session: AsyncSession, subject: Subject, *, page: PageRequest
) -> Page[Factory]:
    return await FactoryRepository(session).page(page)
