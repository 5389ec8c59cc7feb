"""What the node publishes: live rows for the hub's data exchange, and each product's sync state
for the node's operator."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.data_products.errors import DataProductNotFound
from regional_node.data_products.products import DataProduct, ProducerContext, Row
from regional_node.data_products.repository import OutboxRepository
from yunfab.authorization import Authorizer
from yunfab.db import utcnow
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.subject import Subject


@dataclass(frozen=True)
class LiveRows:
    key: str
    as_of: dt.datetime
    rows: list[Row]


async def live_rows(
    session: AsyncSession,
    subject: Subject,
    *,
    authorizer: Authorizer,
    products: Mapping[str, DataProduct],
    context: ProducerContext,
    key: str,
) -> LiveRows:
    """The rows a snapshot of `key` would carry right now; only the hub may ask."""
    await authorizer.check(subject, "node.data_product.live", {"product": key})
    product = products.get(key)
    if product is None:
        raise DataProductNotFound(f"this node publishes no data product {key!r}")
    as_of = utcnow()
    return LiveRows(key=key, as_of=as_of, rows=await product.rows(session, context))


@dataclass(frozen=True)
class ProductState:
    """A product this node publishes, and how far its outbox has got."""

    product: DataProduct
    next_seq: int | None
    """The seq its next batch gets; None before anything was queued."""
    needs_snapshot: bool
    """The next batches are a full snapshot (at first, and after the hub lost track)."""
    pending_batches: int
    """Queued and not yet acknowledged by the hub."""
    oldest_pending_at: dt.datetime | None
    queued_rows: int
    """Rows as last queued for the hub: what the hub holds once the backlog is through."""
    updated_at: dt.datetime | None


async def product_states(
    session: AsyncSession,
    subject: Subject,
    *,
    authorizer: Authorizer,
    products: Mapping[str, DataProduct],
    page: PageRequest,
) -> Page[ProductState]:
    """The configured products by key, with their outboxes (the node operator's)."""
    await authorizer.check(subject, "node.data_product.read")
    after = str(page.after[0]) if page.after else None
    keys = [key for key in sorted(products) if after is None or key > after][: page.limit + 1]
    outbox = OutboxRepository(session)
    states = []
    for key in keys[: page.limit]:
        stream = await outbox.find_stream(key)
        waiting, oldest, rows = await outbox.backlog(key)
        states.append(
            ProductState(
                product=products[key],
                next_seq=stream.next_seq if stream else None,
                needs_snapshot=stream.needs_snapshot if stream else True,
                pending_batches=waiting,
                oldest_pending_at=oldest,
                queued_rows=rows,
                updated_at=stream.updated_at if stream else None,
            )
        )

    async def count() -> int:
        return len(products)

    return Page(rows=states, has_next=len(keys) > page.limit, count=count)
