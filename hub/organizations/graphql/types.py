from __future__ import annotations

import datetime as dt
import uuid

import strawberry

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
