"""Fresh rows from the publishing node, for agreements that allow live queries.

The hub asks the node with a token it mints for itself (scope `exchange:live`, which no client
can be granted, audience the node, a minute long), then governs the rows exactly as stored ones.
It calls only the URL the node enrolled, held to the node URL rules again at each call (the name
resolved and the connection pinned to the checked address, see `hub.federation.urls`). What the
node answers is read up to `live_max_response_bytes` and checked against the product's schema;
nothing of a bad answer reaches the consumer, who learns which node failed and how, not what it
sent (the log keeps the status and size for the operator). The whole call, from resolving the
name to the last byte, has `timeout_s`: a node trickling its answer cannot hold the consumer's
request longer.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.data_exchange.errors import NodeUnavailable
from hub.data_exchange.models import DataProduct
from hub.data_exchange.repository import ExchangeRepository
from hub.data_exchange.service import schema_of
from hub.federation.errors import NodeUrlRefused
from hub.federation.urls import (
    Resolver,
    check_node_url,
    node_url_rules,
    public_address,
    resolve,
)
from hub.identity.keys import KeyRing, access_token_claims
from hub.settings import HubSettings
from yunfab.settings import normalize_url
from yunfab.usage_policy import validate_row

log = structlog.get_logger(__name__)

LIVE_TOKEN_LIFETIME_S = 60
LIVE_SCOPE = "exchange:live"
MAX_LIVE_ROWS = 100_000


def _failed(node: str, why: str) -> NodeUnavailable:
    return NodeUnavailable(f"node {node} {why}", node=node)


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
        self.resolver: Resolver = resolve
        """Set by tests to resolve names without DNS."""

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

    async def _target(self, node: str, base_url: str) -> tuple[httpx.URL, dict[str, str]]:
        """Where to connect for `base_url`, with the headers and TLS name of its host: the
        checked address itself unless private addresses are allowed."""
        rules = node_url_rules(self.settings)
        try:
            target = httpx.URL(check_node_url(base_url, rules))
            if rules.allow_private:
                return target, {}
            port = target.port or (443 if target.scheme == "https" else 80)
            address = await public_address(target.host, port, self.resolver)
        except NodeUrlRefused as exc:
            log.warning("live_query_url_refused", node=node, reason=exc.detail)
            raise _failed(node, "is at a URL the hub does not call") from exc
        return target.copy_with(host=address), {"host": target.netloc.decode("ascii")}

    async def _fetch(self, node: str, base_url: str, path: str) -> bytes:
        """The node's answer, within `timeout_s` in all (httpx's timeouts are per operation:
        one byte a second would never trip them)."""
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self._fetch_unbounded(node, base_url, path)
        except TimeoutError as exc:
            log.warning("live_query_timed_out", node=node, timeout_s=self.timeout_s)
            raise _failed(node, f"did not answer within {self.timeout_s:g} s") from exc

    async def _fetch_unbounded(self, node: str, base_url: str, path: str) -> bytes:
        url, headers = await self._target(node, base_url)
        extensions = {"sni_hostname": httpx.URL(base_url).host} if headers else {}
        limit = self.settings.live_max_response_bytes
        headers["authorization"] = f"Bearer {self.token(base_url)}"
        try:
            async with (
                httpx.AsyncClient(
                    base_url=url, timeout=self.timeout_s, transport=self.transport
                ) as client,
                client.stream("GET", path, headers=headers, extensions=extensions) as response,
            ):
                if response.status_code != 200:
                    log.warning("live_query_refused", node=node, status=response.status_code)
                    raise _failed(node, f"answered {response.status_code}")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise _failed(node, f"answered more than {limit} bytes")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > limit:
                        raise _failed(node, f"answered more than {limit} bytes")
                return bytes(body)
        except httpx.HTTPError as exc:
            log.warning("live_query_failed", node=node, error=str(exc))
            raise _failed(node, f"did not answer ({type(exc).__name__})") from exc

    async def rows(self, product: DataProduct) -> list[dict[str, Any]]:
        node = product.node
        if node is None:
            raise NodeUnavailable("this product has no publishing node to ask")
        async with self.sessionmaker() as session:
            found = await ExchangeRepository(session).node_base_url(node)
        if found is None:
            raise _failed(node, "is not registered with the hub")
        (base_url,) = found
        if base_url is None:
            raise _failed(node, "has no enrolled URL")
        body = await self._fetch(node, base_url, f"/api/v1/data-products/{product.key}/rows")
        try:
            listed = json.loads(body)["rows"]
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("live_query_not_rows", node=node, bytes=len(body))
            raise _failed(node, "answered with something other than a row list") from exc
        if not isinstance(listed, list) or len(listed) > MAX_LIVE_ROWS:
            log.warning("live_query_not_rows", node=node, bytes=len(body))
            raise _failed(node, "answered with something other than a row list")
        schema = schema_of(product)
        rows: list[tuple[str, dict[str, Any]]] = []
        for index, item in enumerate(listed):
            try:
                key, data = item["key"], item["data"]
                if not isinstance(key, str | int) or not isinstance(data, dict):
                    raise TypeError("a row is {key, data}")
                validate_row(schema, data)
            except (ValueError, KeyError, TypeError) as exc:
                # The node's rows are held to the product's schema as synced ones are.
                log.warning("live_query_bad_row", node=node, row=index, error=str(exc)[:200])
                raise _failed(node, f"sent row {index} outside the product's schema") from exc
            rows.append((str(key), data))
        rows.sort(key=lambda pair: pair[0])
        return [data for _, data in rows]
