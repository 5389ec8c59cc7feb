"""Fresh rows from the publishing node, for agreements that allow live queries.

The hub asks the node with a token it mints for itself (scope `exchange:live`, which no client
can be granted, audience the node, a minute long), then governs the rows exactly as stored ones.
"""

from __future__ import annotations

from typing import Any

import httpx
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.data_exchange.models import DataProduct
from hub.data_exchange.service import schema_of
from hub.federation.models import RegionalNode
from hub.identity.keys import KeyRing, access_token_claims
from hub.settings import HubSettings
from yunfab.errors import ServiceUnavailable
from yunfab.settings import normalize_url
from yunfab.usage_policy import validate_row

log = structlog.get_logger(__name__)

LIVE_TOKEN_LIFETIME_S = 60
LIVE_SCOPE = "exchange:live"
MAX_LIVE_ROWS = 100_000


class NodeUnavailable(ServiceUnavailable):
    code = "node_unavailable"


class NodeRows:
    def __init__(
        self,
        *,
        settings: HubSettings,
        keyring: KeyRing,
        sessionmaker: async_sessionmaker[AsyncSession],
        timeout_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.keyring = keyring
        self.sessionmaker = sessionmaker
        self.timeout_s = timeout_s
        self.transport = transport
        """Set by tests to reach an in-process node."""

    def token(self, audience: str) -> str:
        return self.keyring.sign(
            access_token_claims(
                issuer=self.settings.issuer_url,
                audience=normalize_url(audience),
                lifetime_s=LIVE_TOKEN_LIFETIME_S,
                subject="hub",
                client_id="hub",
                scope=LIVE_SCOPE,
                org=None,
                org_kind="hub_operator",
            )
        )

    async def rows(self, product: DataProduct) -> list[dict[str, Any]]:
        if product.node is None:
            raise NodeUnavailable("this product has no publishing node to ask")
        async with self.sessionmaker() as session:
            base_url = await session.scalar(
                select(RegionalNode.base_url).where(RegionalNode.name == product.node)
            )
        if base_url is None:
            raise NodeUnavailable(f"node {product.node} is not registered with the hub")
        try:
            async with httpx.AsyncClient(
                base_url=base_url, timeout=self.timeout_s, transport=self.transport
            ) as client:
                response = await client.get(
                    f"/api/v1/data-products/{product.key}/rows",
                    headers={"authorization": f"Bearer {self.token(base_url)}"},
                )
        except httpx.HTTPError as exc:
            log.warning("live_query_failed", node=product.node, error=str(exc))
            raise NodeUnavailable(f"node {product.node} did not answer: {exc}") from exc
        if response.status_code != 200:
            log.warning("live_query_refused", node=product.node, status=response.status_code)
            raise NodeUnavailable(
                f"node {product.node} answered {response.status_code}: {response.text[:200]}"
            )
        try:
            body = response.json()
            listed = body["rows"]
        except (ValueError, KeyError, TypeError) as exc:
            raise NodeUnavailable(f"node {product.node} sent no rows") from exc
        if not isinstance(listed, list) or len(listed) > MAX_LIVE_ROWS:
            raise NodeUnavailable(f"node {product.node} sent no usable row list")
        schema = schema_of(product)
        rows: list[tuple[str, dict[str, Any]]] = []
        for item in listed:
            try:
                validate_row(schema, item["data"])
                rows.append((str(item["key"]), item["data"]))
            except (ValueError, KeyError, TypeError) as exc:
                # The node's rows are held to the product's schema as synced ones are.
                raise NodeUnavailable(f"node {product.node} sent a row outside the schema") from exc
        rows.sort(key=lambda pair: pair[0])
        return [data for _, data in rows]
