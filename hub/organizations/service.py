"""Organizations: who takes part in the platform (hub and node operators, publishers, factories,
consumers). Their people and API clients live in `hub.identity`."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hub.organizations.models import Organization, OrganizationKind
from hub.organizations.repository import OrganizationRepository
from yunfab.errors import Conflict, InvalidInput
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.subject import Subject


class OrganizationKindConflict(Conflict):
    code = "organization_kind_conflict"


async def ensure_organization(
    session: AsyncSession, *, name: str, kind: OrganizationKind
) -> Organization:
    """The organization of that name, created if missing; refused if it exists as another kind."""
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise InvalidInput("organization name must be 1 to 200 characters")
    repository = OrganizationRepository(session)
    organization = await repository.get_by_name(name)
    if organization is None:
        organization = Organization(name=name, kind=kind)
        repository.add(organization)
        await session.flush()
    elif organization.kind is not kind:
        raise OrganizationKindConflict(
            f"organization {name!r} exists with kind {organization.kind.value}"
        )
    return organization


async def list_organizations(
    session: AsyncSession,
    subject: Subject,
    *,
    page: PageRequest,
    kind: OrganizationKind | None = None,
    text: str | None = None,
) -> Page[Organization]:
    """`text`: a part of the name, any case."""
    return await OrganizationRepository(session).page(page, kind=kind, text=text)
