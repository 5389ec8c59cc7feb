from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import strawberry
from sqlalchemy import select
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from hub.organizations.models import Organization, OrganizationKind

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


def organization_loader(info: Info[Any, None]) -> DataLoader[uuid.UUID, OrganizationType | None]:
    """Organizations by id, one query per request for all the rows of a list (a user's or a
    client's organization)."""
    loaders = info.context.loaders
    if "organizations_by_id" not in loaders:

        async def load(ids: list[uuid.UUID]) -> list[OrganizationType | None]:
            query = select(Organization).where(Organization.id.in_(set(ids)))
            rows = (await info.context.session.scalars(query)).all()
            by_id = {row.id: OrganizationType.from_model(row) for row in rows}
            return [by_id.get(i) for i in ids]

        loaders["organizations_by_id"] = DataLoader(load_fn=load)
    loader: DataLoader[uuid.UUID, OrganizationType | None] = loaders["organizations_by_id"]
    return loader
