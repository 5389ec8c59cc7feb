"""The supply-and-demand board in the hub's GraphQL API."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Annotated

import strawberry
from strawberry.types import Info

from hub.data_exchange.board import service
from hub.data_exchange.board.models import BoardPosting, PostingStatus, Resource, Side
from hub.data_exchange.board.repository import BoardFilter
from hub.graphql.context import HubContext
from yunfab.graphql.pagination import Connection
from yunfab.graphql.resolvers import mutate, page_request, query, service_input

strawberry.enum(Side, name="BoardSide")
strawberry.enum(Resource, name="BoardResource", description="A material, or production capacity.")
strawberry.enum(PostingStatus, name="BoardPostingStatus")


@strawberry.enum(name="BoardClosing", description="How a posting leaves the board.")
class Closing(enum.Enum):
    WITHDRAWN = "withdrawn"
    FILLED = "filled"


@strawberry.type(name="BoardPosting", description="A need or an offer on the board.")
class BoardPostingType:
    id: uuid.UUID
    organization_id: uuid.UUID
    organization_name: str = strawberry.field(
        description="Who posted it: published with the posting, so counterparts know whom to ask."
    )
    side: Side
    resource: Resource
    item: str = strawberry.field(
        description="The process for capacity (weaving), the material code for materials "
        "(meltblown-fabric)."
    )
    quantity: float
    unit: str
    available_from: dt.date
    available_to: dt.date = strawberry.field(
        description="Inclusive. For a need: the window in which it is needed."
    )
    latitude: float
    longitude: float
    region: str
    city: str
    max_distance_km: float | None = strawberry.field(
        description="How far the poster will ship or travel; null: no limit of its own."
    )
    note: str
    status: PostingStatus
    created_at: dt.datetime
    closed_at: dt.datetime | None

    @classmethod
    def from_model(cls, row: BoardPosting) -> BoardPostingType:
        return cls(
            id=row.id,
            organization_id=row.organization_id,
            organization_name=row.organization.name,
            side=row.side,
            resource=row.resource,
            item=row.item,
            quantity=row.quantity,
            unit=row.unit,
            available_from=row.available_from,
            available_to=row.available_to,
            latitude=row.latitude,
            longitude=row.longitude,
            region=row.region,
            city=row.city,
            max_distance_km=row.max_distance_km,
            note=row.note,
            status=row.status,
            created_at=row.created_at,
            closed_at=row.closed_at,
        )


@strawberry.type(name="BoardMatch", description="A posting of the other side that can serve.")
class BoardMatchType:
    posting: BoardPostingType
    distance_km: float = strawberry.field(description="Great-circle distance.")
    overlap_days: int = strawberry.field(description="Days both windows share, ends included.")
    matchable_quantity: float = strawberry.field(description="The smaller of the two quantities.")
    coverage: float = strawberry.field(
        description="matchableQuantity / the quantity of the posting asked about (0 to 1)."
    )

    @classmethod
    def from_match(cls, found: service.PostingMatch) -> BoardMatchType:
        return cls(
            posting=BoardPostingType.from_model(found.posting),
            distance_km=found.match.distance_km,
            overlap_days=found.match.overlap_days,
            matchable_quantity=found.match.matchable_quantity,
            coverage=found.match.coverage,
        )


@strawberry.input
class PostSupplyDemandInput:
    side: Side
    resource: Resource
    item: str
    quantity: float
    unit: str = strawberry.field(description="e.g. kg, t, pcs, hours.")
    available_from: dt.date
    available_to: dt.date
    latitude: float
    longitude: float
    region: str = strawberry.field(description="ISO 3166-2, e.g. CN-HB.")
    city: str
    max_distance_km: float | None = None
    note: str = ""

    def posting(self) -> service.NewPosting:
        return service_input(service.NewPosting, self)


@strawberry.type
class BoardQuery:
    @strawberry.field(description="Needs and offers on the board, newest first; open ones only "
                      "unless includeClosed.")  # fmt: skip
    async def supply_demand_board(
        self, info: Info[HubContext, None], side: Side | None = None,
        resource: Resource | None = None, item: str | None = None, region: str | None = None,
        include_closed: bool = False, first: int = 20, after: str | None = None,
        organization_id: Annotated[
            uuid.UUID | None,
            strawberry.argument(description="Only this organization's postings (e.g. your own)."),
        ] = None,
    ) -> Connection[BoardPostingType]:  # fmt: skip
        context = info.context
        page = await query(
            context, service.list_postings, authorizer=context.authorizer,
            board=BoardFilter(
                side=side, resource=resource, item=item, region=region,
                include_closed=include_closed, organization_id=organization_id,
            ),
            page=page_request(context, first, after, arity=2),
        )  # fmt: skip
        return Connection[BoardPostingType].from_page(
            page,
            key=lambda row: (row.created_at.isoformat(), str(row.id)),
            node=BoardPostingType.from_model,
            after=after,
        )

    @strawberry.field(description="One posting, open or closed.")
    async def supply_demand_posting(
        self, info: Info[HubContext, None], id: uuid.UUID
    ) -> BoardPostingType:
        context = info.context
        row = await query(
            context, service.get_posting, authorizer=context.authorizer, posting_id=id
        )
        return BoardPostingType.from_model(row)

    @strawberry.field(description="Open postings of the other side that can serve this one: best "
                      "coverage first, then nearest, then earliest start.")  # fmt: skip
    async def supply_demand_matches(
        self, info: Info[HubContext, None], posting_id: uuid.UUID, first: int = 20,
        after: str | None = None,
        max_distance_km: Annotated[
            float | None, strawberry.argument(description="Only matches at most this far.")
        ] = None,
        min_coverage: Annotated[
            float | None,
            strawberry.argument(description="Only matches covering at least this share (0-1)."),
        ] = None,
    ) -> Connection[BoardMatchType]:  # fmt: skip
        context = info.context
        page = await query(
            context, service.list_matches, authorizer=context.authorizer,
            posting_id=posting_id, max_distance_km=max_distance_km, min_coverage=min_coverage,
            page=page_request(context, first, after, arity=4, types=service.MATCH_CURSOR_TYPES),
        )  # fmt: skip
        return Connection[BoardMatchType].from_page(
            page, key=lambda found: found.match.rank, node=BoardMatchType.from_match, after=after
        )


@strawberry.type
class BoardMutation:
    @strawberry.mutation(description="Post a need or an offer for your organization.")
    async def post_supply_demand(
        self, info: Info[HubContext, None], input: PostSupplyDemandInput
    ) -> BoardPostingType:
        context = info.context
        row = await mutate(
            context, service.post, authorizer=context.authorizer, input=input.posting()
        )
        return BoardPostingType.from_model(row)

    @strawberry.mutation(description="Take one of your organization's postings off the board.")
    async def close_posting(
        self, info: Info[HubContext, None], id: uuid.UUID, status: Closing
    ) -> BoardPostingType:
        context = info.context
        row = await mutate(
            context,
            service.close,
            authorizer=context.authorizer,
            posting_id=id,
            status=PostingStatus(status.value),
        )
        return BoardPostingType.from_model(row)
