"""Live queries: the hub asks the node for a product's rows as they are now."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.data_products.products import DataProduct, ProducerContext, Row
from yunfab.authorization import Authorizer
from yunfab.db import utcnow
from yunfab.errors import NotFound
from yunfab.subject import Subject


class DataProductNotFound(NotFound):
    code = "data_product_not_found"


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
