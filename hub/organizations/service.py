"""Organizations: who takes part in the platform (hub and node operators, publishers, factories,
consumers). Issue #3 adds users, roles and API clients on top."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hub.organizations.models import Organization, OrganizationKind
from hub.organizations.repository import OrganizationRepository
from yunfab.errors import Conflict, InvalidInput
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.subject import Subject


class OrganizationExists(Conflict):
    code = "organization_exists"


@dataclass(frozen=True)
class NewOrganization:
    name: str
    kind: OrganizationKind


async def create_organization(
    session: AsyncSession, subject: Subject, *, input: NewOrganization
) -> Organization:
    name = input.name.strip()
    if not 1 <= len(name) <= 200:
        raise InvalidInput("organization name must be 1 to 200 characters")
    repository = OrganizationRepository(session)
    if await repository.get_by_name(name) is not None:
        raise OrganizationExists(f"an organization named {name!r} already exists")
    organization = Organization(name=name, kind=input.kind)
    repository.add(organization)
    await session.flush()
    return organization


async def list_organizations(
    session: AsyncSession, subject: Subject, *, page: PageRequest
) -> Page[Organization]:
    return await OrganizationRepository(session).page(page)
