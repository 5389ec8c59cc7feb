"""All SQL of the data exchange (the board's is in board/repository.py): products and their rows,
offers, contracts, and the figures disclosed to each consumer. The service (service.py) and the
disclosure control (disclosure.py) hold the rules and call these."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, delete, func, or_, select, text

from hub.data_exchange.models import (
    Contract,
    ContractState,
    DataProduct,
    DataRow,
    DisclosedCell,
    Offer,
    OfferStatus,
)
from hub.federation.models import RegionalNode
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.repository import Repository

KEYS_PER_DELETE = 500
"""Row keys named in one DELETE (an IN list of bounded length)."""


@dataclass(frozen=True)
class CatalogFilter:
    """What a catalog search narrows to; every given condition must hold."""

    search: str | None = None
    """Part of the title, the description or the key, any case."""
    region: str | None = None
    industry: str | None = None
    node: str | None = None
    publisher: str | None = None
    field_name: str | None = None
    """A field of this name in the product's schema."""

    def query(self) -> Select[Any]:
        query = select(DataProduct)
        if self.search:
            search = self.search
            pattern = (
                "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            )
            query = query.where(
                or_(
                    DataProduct.title.ilike(pattern, escape="\\"),
                    DataProduct.description.ilike(pattern, escape="\\"),
                    DataProduct.key.ilike(pattern, escape="\\"),
                )
            )
        if self.region:
            query = query.where(DataProduct.region == self.region)
        if self.industry:
            query = query.where(DataProduct.industry == self.industry)
        if self.node:
            query = query.where(DataProduct.node == self.node)
        if self.publisher:
            query = query.where(DataProduct.publisher_org == self.publisher)
        return query


class ExchangeRepository(Repository):
    # --- catalog ----------------------------------------------------------------------------

    async def product(self, product_id: uuid.UUID) -> DataProduct | None:
        return await self.get(DataProduct, product_id)

    async def product_of(self, publisher_org: str | None, key: str) -> DataProduct | None:
        """The publisher's product `key`, locked (its sync applies one batch at a time)."""
        return await self.first(
            select(DataProduct)
            .where(DataProduct.publisher_org == publisher_org, DataProduct.key == key)
            .with_for_update()
        )

    async def products_by_id(self, product_ids: Sequence[uuid.UUID]) -> list[DataProduct]:
        return await self.all(select(DataProduct).where(DataProduct.id.in_(product_ids)))

    async def _catalog(self, catalog: CatalogFilter) -> Select[Any]:
        query = catalog.query()
        if catalog.field_name:
            # Schemas are JSON, which SQL dialects search differently: the (small) schemas of
            # the matching products are read.
            matching = query.subquery()
            schemas = await self.session.execute(select(matching.c.id, matching.c.fields))
            name = catalog.field_name
            ids = [
                i for i, fields in schemas.all() if any(f.get("name") == name for f in fields or [])
            ]
            query = query.where(DataProduct.id.in_(ids))
        return query

    async def catalog_page(self, catalog: CatalogFilter, request: PageRequest) -> Page[DataProduct]:
        """Matching products, newest first."""
        query = await self._catalog(catalog)
        return await self.newest_first_page(query, DataProduct.created_at, DataProduct.id, request)

    async def catalog_counts(
        self, catalog: CatalogFilter
    ) -> tuple[dict[str, int], dict[str, int], list[list[dict[str, Any]]]]:
        """Over the matching products: how many per industry, per region, and each one's
        schema."""
        matching = (await self._catalog(catalog)).subquery()

        async def facet(column: Any) -> dict[str, int]:
            result = await self.session.execute(
                select(column, func.count()).select_from(matching).group_by(column)
            )
            return {str(value): number for value, number in result.all() if value is not None}

        schemas = [
            schema or [] for (schema,) in (await self.session.execute(select(matching.c.fields)))
        ]
        return await facet(matching.c.industry), await facet(matching.c.region), schemas

    # --- offers -----------------------------------------------------------------------------

    async def offer(self, offer_id: uuid.UUID, *, for_update: bool = False) -> Offer | None:
        return await self.get(Offer, offer_id, for_update=for_update)

    async def offer_with_policy(self, product_id: uuid.UUID, policy_hash: str) -> Offer | None:
        return await self.first(
            select(Offer).where(Offer.product_id == product_id, Offer.policy_hash == policy_hash)
        )

    async def active_offers_of(self, product_ids: Sequence[uuid.UUID]) -> list[Offer]:
        """Oldest first."""
        return await self.all(
            select(Offer)
            .where(Offer.product_id.in_(product_ids), Offer.status == OfferStatus.ACTIVE)
            .order_by(Offer.created_at, Offer.id)
        )

    # --- rows -------------------------------------------------------------------------------

    async def delete_rows(self, product_id: uuid.UUID) -> None:
        await self.session.execute(delete(DataRow).where(DataRow.product_id == product_id))

    async def delete_rows_outside(self, product_id: uuid.UUID, snapshot: int | None) -> None:
        """Every row of the product but the snapshot's (all of them when there is none)."""
        abandoned = delete(DataRow).where(DataRow.product_id == product_id)
        if snapshot is not None:
            abandoned = abandoned.where(DataRow.snapshot != snapshot)
        await self.session.execute(abandoned)

    async def delete_snapshot(self, product_id: uuid.UUID, snapshot: int) -> None:
        await self.session.execute(
            delete(DataRow).where(DataRow.product_id == product_id, DataRow.snapshot == snapshot)
        )

    async def delete_rows_with_keys(
        self, product_id: uuid.UUID, snapshot: int, keys: Sequence[str]
    ) -> None:
        for start in range(0, len(keys), KEYS_PER_DELETE):
            await self.session.execute(
                delete(DataRow).where(
                    DataRow.product_id == product_id,
                    DataRow.snapshot == snapshot,
                    DataRow.key.in_(keys[start : start + KEYS_PER_DELETE]),
                )
            )

    async def snapshot_row_count(self, product_id: uuid.UUID, snapshot: int) -> int:
        return (
            await self.session.scalar(
                select(func.count())
                .select_from(DataRow)
                .where(DataRow.product_id == product_id, DataRow.snapshot == snapshot)
            )
            or 0
        )

    async def newest_snapshot_after(
        self, product_id: uuid.UUID, live_snapshot: int | None
    ) -> int | None:
        """The newest snapshot with rows newer than the live one (any, when none is live)."""
        query = select(func.max(DataRow.snapshot)).where(DataRow.product_id == product_id)
        if live_snapshot is not None:
            query = query.where(DataRow.snapshot > live_snapshot)
        staged: int | None = await self.session.scalar(query)
        return staged

    async def snapshot_rows(
        self, product_id: uuid.UUID, snapshot: int
    ) -> list[tuple[str | None, dict[str, Any]]]:
        """The snapshot's rows in key order, each with its region."""
        result = await self.session.execute(
            select(DataRow.region, DataRow.data)
            .where(DataRow.product_id == product_id, DataRow.snapshot == snapshot)
            .order_by(DataRow.key)
        )
        return [(region, data) for region, data in result.all()]

    # --- contracts --------------------------------------------------------------------------

    async def contract(
        self, contract_id: uuid.UUID, *, for_update: bool = False
    ) -> Contract | None:
        return await self.get(Contract, contract_id, for_update=for_update)

    async def contract_and_product(
        self, contract_id: uuid.UUID
    ) -> tuple[Contract, DataProduct] | None:
        """A contract with its product, in one statement (a governed query reads both)."""
        found = (
            await self.session.execute(
                select(Contract, DataProduct)
                .join(DataProduct, DataProduct.id == Contract.product_id)
                .where(Contract.id == contract_id)
            )
        ).first()
        return (found[0], found[1]) if found is not None else None

    async def contracts_page(
        self,
        org: str,
        request: PageRequest,
        *,
        as_provider: bool,
        state: ContractState | None = None,
        product_id: uuid.UUID | None = None,
    ) -> Page[Contract]:
        """The organization's contracts as consumer or as provider, newest first."""
        side = Contract.provider_org if as_provider else Contract.consumer_org
        query = select(Contract).where(side == org)
        if state is not None:
            query = query.where(Contract.state == state)
        if product_id is not None:
            query = query.where(Contract.product_id == product_id)
        return await self.newest_first_page(query, Contract.created_at, Contract.id, request)

    # --- nodes ------------------------------------------------------------------------------

    async def node_base_url(self, name: str) -> tuple[str | None] | None:
        """The registered node's enrolled URL (None when it has none) in a 1-tuple; None when
        no node has this name."""
        found = (
            await self.session.execute(
                select(RegionalNode.base_url).where(RegionalNode.name == name)
            )
        ).first()
        return None if found is None else (found.base_url,)

    # --- disclosed figures ------------------------------------------------------------------

    async def lock_disclosures(self, key: int) -> None:
        """Serialize the disclosures of one reader (PostgreSQL's transaction advisory lock;
        elsewhere the database's single writer does)."""
        if (await self.session.connection()).dialect.name == "postgresql":
            await self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    async def disclosed_size(self, consumer_org: str, product_id: uuid.UUID) -> int:
        """How many rows the figures given to this consumer of this product cover."""
        held = await self.session.scalar(
            select(func.coalesce(func.sum(DisclosedCell.size), 0)).where(
                DisclosedCell.consumer_org == consumer_org,
                DisclosedCell.product_id == product_id,
            )
        )
        return held or 0

    async def disclosed_members(
        self, consumer_org: str, product_id: uuid.UUID
    ) -> list[dict[str, str]]:
        return await self.all(
            select(DisclosedCell.members).where(
                DisclosedCell.consumer_org == consumer_org,
                DisclosedCell.product_id == product_id,
            )
        )

    async def disclosed_digests(
        self, consumer_org: str, product_id: uuid.UUID, digests: Sequence[str]
    ) -> set[str]:
        """Which of these digests were disclosed to the consumer already."""
        return set(
            await self.all(
                select(DisclosedCell.digest).where(
                    DisclosedCell.consumer_org == consumer_org,
                    DisclosedCell.product_id == product_id,
                    DisclosedCell.digest.in_(digests),
                )
            )
        )
