"""Organizations: who takes part in the platform (hub and node operators, publishers, factories,
consumers). Their people and API clients live in `hub.identity`."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit.service import append_entry
from hub.organizations.errors import (
    OrganizationExists,
    OrganizationKindConflict,
    OrganizationNotFound,
)
from hub.organizations.models import Organization, OrganizationKind
from hub.organizations.repository import OrganizationRepository
from yunfab.errors import InvalidInput
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.subject import Subject


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


async def create_organization(
    session: AsyncSession, subject: Subject, *, name: str, kind: OrganizationKind
) -> Organization:
    """A new organization, audited; refused when the name is taken (whatever its kind)."""
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise InvalidInput("organization name must be 1 to 200 characters")
    repository = OrganizationRepository(session)
    if await repository.get_by_name(name) is not None:
        raise OrganizationExists(f"an organization named {name!r} exists")
    organization = Organization(name=name, kind=kind)
    repository.add(organization)
    await session.flush()
    await append_entry(
        session,
        actor=subject,
        action="organization.created",
        resource=f"organization:{organization.id}",
        outcome="ok",
        detail={"name": name, "kind": kind.value},
    )
    return organization


async def get_organization(session: AsyncSession, id: uuid.UUID) -> Organization:
    organization = await session.get(Organization, id)
    if organization is None:
        raise OrganizationNotFound("no such organization")
    return organization
