from __future__ import annotations

import strawberry
from strawberry.types import Info

from hub.graphql.context import HubContext
from yunfab.graphql.permissions import allowed


@strawberry.type(name="Viewer", description="Who the hub takes the caller to be, from their token.")
class ViewerType:
    kind: str
    id: str | None
    organization_id: str | None
    organization_kind: str | None
    region: str | None
    node: str | None
    scopes: list[str]
    roles: list[str]


@strawberry.type
class IdentityQuery:
    @strawberry.field(permission_classes=[allowed("hub.viewer.read")])
    def viewer(self, info: Info[HubContext, None]) -> ViewerType:
        subject = info.context.subject
        return ViewerType(
            kind=subject.kind.value,
            id=subject.id,
            organization_id=subject.org_id,
            organization_kind=subject.org_kind,
            region=subject.region,
            node=subject.node,
            scopes=sorted(subject.scopes),
            roles=sorted(subject.roles),
        )
