"""The workforce relay in the hub's GraphQL API: what the hub relayed, for its operators and
for the borrowing organizations (no personal data is there to show)."""

from __future__ import annotations

import datetime as dt
import uuid

import strawberry
from strawberry.types import Info

from hub.data_exchange.workforce_relay import service
from hub.data_exchange.workforce_relay.models import RelayStatus, WorkforceRelayRequest
from hub.graphql.context import HubContext
from yunfab.graphql.pagination import Connection
from yunfab.graphql.resolvers import page_request, query

strawberry.enum(RelayStatus, name="WorkforceRelayStatus")


@strawberry.type(
    name="WorkforceRelayRequest",
    description="A factory's request, relayed by the hub, for a worker another node offers.",
)
class WorkforceRelayRequestType:
    id: uuid.UUID
    borrower_node: str
    lender_node: str
    borrower_org: str
    offer: str = strawberry.field(description="The worker's pseudonym in workforce-offers.")
    skill: str
    first_day: dt.date
    last_day: dt.date
    shift: str
    wage: float
    site_area: str
    status: RelayStatus
    reason: str | None
    contact_waiting: bool = strawberry.field(
        description="A sealed contact waits for the borrowing node (the hub cannot open it)."
    )
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_model(cls, row: WorkforceRelayRequest) -> WorkforceRelayRequestType:
        return cls(
            id=row.id, borrower_node=row.borrower_node, lender_node=row.lender_node,
            borrower_org=row.borrower_org, offer=row.offer, skill=row.skill,
            first_day=row.first_day, last_day=row.last_day, shift=row.shift, wage=row.wage,
            site_area=row.site_area, status=row.status, reason=row.reason,
            contact_waiting=row.sealed_contact is not None, created_at=row.created_at,
            updated_at=row.updated_at,
        )  # fmt: skip


@strawberry.type
class WorkforceRelayQuery:
    @strawberry.field(description="Requests for workers relayed between nodes, newest first: "
                      "all for the hub's operators, your organization's own else.")  # fmt: skip
    async def workforce_relay_requests(
        self, info: Info[HubContext, None], first: int = 20, after: str | None = None
    ) -> Connection[WorkforceRelayRequestType]:
        context = info.context
        page = await query(
            context, service.list_requests, authorizer=context.authorizer,
            page=page_request(context, first, after, arity=2),
        )  # fmt: skip
        return Connection[WorkforceRelayRequestType].from_page(
            page,
            key=lambda row: (row.created_at.isoformat(), str(row.id)),
            node=WorkforceRelayRequestType.from_model,
            after=after,
        )
