"""SQL of the workforce relay."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, or_, select

from hub.data_exchange.models import Contract, ContractState, DataProduct, DataRow
from hub.data_exchange.workforce_relay.models import RelayStatus, WorkforceRelayRequest
from hub.federation.models import RegionalNode
from hub.organizations.models import Organization
from yunfab.db import utcnow
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.repository import Repository

OFFERS = "workforce-offers"


class RelayRepository(Repository):
    async def request(
        self, request_id: uuid.UUID, *, for_update: bool = False
    ) -> WorkforceRelayRequest | None:
        return await self.get(WorkforceRelayRequest, request_id, for_update=for_update)

    async def node_exists(self, name: str) -> bool:
        found = await self.first(select(RegionalNode.id).where(RegionalNode.name == name))
        return found is not None

    async def offers_product(self, node: str) -> DataProduct | None:
        """The node's `workforce-offers` product."""
        return await self.first(
            select(DataProduct).where(DataProduct.node == node, DataProduct.key == OFFERS)
        )

    async def offer_listed(self, product: DataProduct, offer: str) -> bool:
        """Whether the product's current rows hold this worker's offer."""
        if product.live_snapshot is None:
            return False
        found = await self.first(
            select(DataRow.key).where(
                DataRow.product_id == product.id,
                DataRow.snapshot == product.live_snapshot,
                DataRow.key == f"offer:{offer}",
            )
        )
        return found is not None

    async def holds_contract(self, org: str, product: DataProduct) -> bool:
        """A finalized, unexpired agreement of `org` on the product."""
        found = await self.first(
            select(Contract.id).where(
                Contract.product_id == product.id,
                Contract.consumer_org == org,
                Contract.state == ContractState.FINALIZED,
                or_(Contract.expires_at.is_(None), Contract.expires_at > utcnow()),
            )
        )
        return found is not None

    async def organization_name(self, org: str) -> str | None:
        try:
            ident = uuid.UUID(org)
        except ValueError:
            return None
        return await self.first(select(Organization.name).where(Organization.id == ident))

    async def inbox(self, node: str, limit: int) -> Sequence[WorkforceRelayRequest]:
        """Requests to `node` it has not taken yet, oldest first."""
        return await self.all(
            select(WorkforceRelayRequest)
            .where(
                WorkforceRelayRequest.lender_node == node,
                WorkforceRelayRequest.status == RelayStatus.REQUESTED,
            )
            .order_by(WorkforceRelayRequest.created_at, WorkforceRelayRequest.id)
            .limit(limit)
        )

    async def outbox(self, node: str, limit: int) -> Sequence[WorkforceRelayRequest]:
        """`node`'s requests whose answer changed since it last took one, oldest first."""
        return await self.all(
            select(WorkforceRelayRequest)
            .where(
                WorkforceRelayRequest.borrower_node == node,
                WorkforceRelayRequest.status != RelayStatus.REQUESTED,
                or_(
                    WorkforceRelayRequest.delivered.is_(None),
                    WorkforceRelayRequest.delivered != WorkforceRelayRequest.status,
                ),
            )
            .order_by(WorkforceRelayRequest.updated_at, WorkforceRelayRequest.id)
            .limit(limit)
        )

    async def page(
        self, conditions: Sequence[ColumnElement[bool]], request: PageRequest
    ) -> Page[WorkforceRelayRequest]:
        query = select(WorkforceRelayRequest).where(*conditions)
        return await self.newest_first_page(
            query, WorkforceRelayRequest.created_at, WorkforceRelayRequest.id, request
        )
