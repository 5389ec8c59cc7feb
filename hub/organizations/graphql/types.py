from __future__ import annotations

import datetime as dt
import uuid

import strawberry
from sqlalchemy import select

from hub.organizations.models import Organization, OrganizationKind
from yunfab.graphql.dataloaders import Loader, by_key

strawberry.enum(OrganizationKind, name="OrganizationKind")


@strawberry.type(name="Organization")
class OrganizationType:
    id: uuid.UUID
    name: str
    kind: OrganizationKind
    created_at: dt.datetime
    model: strawberry.Private[Organization]

    @classmethod
    def from_model(cls, organization: Organization) -> OrganizationType:
        return cls(
            id=organization.id,
            name=organization.name,
            kind=organization.kind,
            created_at=organization.created_at,
            model=organization,
        )


class OrganizationLoader(Loader[uuid.UUID, OrganizationType | None]):
    """Organizations by id, one query per request for all the rows of a list (a user's or a
    client's organization)."""

    async def batch_load(self, keys: list[uuid.UUID]) -> list[OrganizationType | None]:
        query = select(Organization).where(Organization.id.in_(set(keys)))
        rows = (await self.context.session.scalars(query)).all()
        return by_key(keys, rows, lambda row: row.id, OrganizationType.from_model)
