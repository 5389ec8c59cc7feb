from __future__ import annotations

import datetime as dt
import uuid

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from regional_node.graphql.context import NodeContext
from regional_node.market import service
from regional_node.market.models import Installation, InstallState
from yunfab.graphql.pagination import Connection
from yunfab.graphql.permissions import allowed
from yunfab.graphql.resolvers import page_request, query

InstallStateEnum = strawberry.enum(InstallState, name="MarketInstallState")


@strawberry.type(
    name="MarketInstallation",
    description="One installation of a market release on this node, and what it did here.",
)
class InstallationType:
    id: str = strawberry.field(description="The installation's id at the hub.")
    release_id: str
    listing: str
    version: str
    kind: str
    artifact_sha256: str
    state: InstallStateEnum  # type: ignore[valid-type]
    error: str | None = strawberry.field(
        description="The stable code a failed installation was refused with."
    )
    detail: str
    config: JSON = strawberry.field(
        description="The installation's configuration: its shape is the release's own."
    )
    routing_id: uuid.UUID | None = strawberry.field(
        description="The routing version it created (a scheduling template)."
    )
    model_id: uuid.UUID | None = strawberry.field(
        description="The inspection model version it registered (a defect model)."
    )
    reported: str | None = strawberry.field(
        description="The state the hub last acknowledged; behind `state` until a report gets "
        "through."
    )
    usage_reported: int = strawberry.field(description="Inspections the hub has counted.")
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_model(cls, row: Installation) -> InstallationType:
        return cls(
            id=row.id,
            release_id=row.release_id,
            listing=row.listing,
            version=row.version,
            kind=row.kind,
            artifact_sha256=row.digest,
            state=row.state,
            error=row.error,
            detail=row.detail,
            config=row.config,  # type: ignore[arg-type]
            routing_id=row.routing_id,
            model_id=row.model_id,
            reported=row.reported,
            usage_reported=row.usage_reported,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type
class MarketQuery:
    @strawberry.field(
        description="What the hub's market installed on this node, newest first (the node "
        "operator; as GET /api/v1/market/installations).",
        permission_classes=[allowed("node.market.read")],
    )
    async def market_installations(
        self,
        info: Info[NodeContext, None],
        state: InstallStateEnum | None = None,  # type: ignore[valid-type]
        kind: str | None = None,
        listing: str | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[InstallationType]:
        context = info.context
        page = await query(
            context,
            service.installation_page,
            authorizer=context.authorizer,
            page=page_request(context, first, after, arity=2),
            state=state,
            kind=kind,
            listing=listing,
        )
        return Connection[InstallationType].from_page(
            page,
            key=lambda row: (row.created_at.isoformat(), row.id),
            node=InstallationType.from_model,
            after=after,
        )

    @strawberry.field(
        description="When the node last fetched the market's trust roots from the hub; null "
        "before it ever did (the node operator).",
        permission_classes=[allowed("node.market.read")],
    )
    async def market_trust_fetched_at(self, info: Info[NodeContext, None]) -> dt.datetime | None:
        context = info.context
        return await query(context, service.trust_fetched_at_for, authorizer=context.authorizer)
