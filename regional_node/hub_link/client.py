"""HTTP client for the hub's node endpoints.

Authentication is an `httpx.Auth` handed in from outside: none in development today, OAuth2
client credentials from issue #3, without touching the calls below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

import yunfab
from regional_node.hub_link import outbound


class HubError(Exception):
    """The hub could not be used; `retryable` says whether trying again may help."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        code: str | None = None,
        expected: int | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.code = code
        self.expected = expected
        """A data product batch refused as `sync_gap`: the seq the hub expects next."""


@dataclass(frozen=True)
class Registration:
    name: str
    region: str
    industry: str
    base_url: str
    flower_public_key: str | None = None
    """The public key of this node's Flower SuperNode, for the hub's SuperLink to accept."""
    yunfab_version: str = yunfab.__version__
    """What the hub checks a market release's required Yunfab version against."""


class HubClient:
    def __init__(
        self,
        hub_url: str,
        *,
        timeout_s: float,
        auth: httpx.Auth | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.hub_url = hub_url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.hub_url, timeout=timeout_s, auth=auth, transport=transport
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def register(self, registration: Registration) -> dict[str, Any]:
        return await self._call(
            "PUT",
            f"/api/v1/nodes/{registration.name}",
            {
                "region": registration.region,
                "industry": registration.industry,
                "base_url": registration.base_url,
                "yunfab_version": registration.yunfab_version,
                **(
                    {"flower_public_key": registration.flower_public_key}
                    if registration.flower_public_key
                    else {}
                ),
            },
        )

    async def revocations(self, *, after: int) -> dict[str, Any]:
        return await self._call("GET", f"/api/v1/revocations?after={after}", None)

    async def heartbeat(self, name: str, *, stopping: bool = False) -> dict[str, Any]:
        return await self._call(
            "POST",
            f"/api/v1/nodes/{name}/heartbeats",
            {"status": "stopping" if stopping else "online"},
        )

    async def put_data_product(self, key: str, definition: dict[str, Any]) -> dict[str, Any]:
        """Publish (or update) one of this node's data products; answers its sync state."""
        return await self._call("PUT", f"/api/v1/data-products/{key}", definition)

    async def data_product_sync(self, key: str) -> dict[str, Any]:
        """{"seq": last batch the hub applied, "snapshot": its live snapshot id or None}."""
        return await self._call("GET", f"/api/v1/data-products/{key}/sync", None)

    async def push_batch(self, key: str, batch: dict[str, Any]) -> dict[str, Any]:
        """Send one numbered batch of rows; a batch the hub already applied is acknowledged."""
        return await self._call("POST", f"/api/v1/data-products/{key}/batches", batch)

    async def market_trust(self) -> dict[str, Any]:
        """The market's trust roots: publishers' and reviewers' public keys."""
        return await self._call("GET", "/api/v1/market/trust", None)

    async def market_installations(self, node: str) -> dict[str, Any]:
        """This node's installations that want something done (or are in place)."""
        return await self._call("GET", f"/api/v1/market/nodes/{node}/installations", None)

    async def market_artifact(self, sha256: str, *, max_bytes: int) -> bytes:
        """A release's artifact, refused once it grows past `max_bytes` (checked here, not
        trusted from the hub)."""
        try:
            async with self._http.stream("GET", f"/api/v1/market/artifacts/{sha256}") as response:
                if not response.is_success:
                    await response.aread()
                    raise self._error(response)
                data = bytearray()
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if len(data) > max_bytes:
                        raise HubError(
                            f"artifact {sha256[:12]} is larger than {max_bytes} bytes",
                            retryable=False,
                            code="artifact_too_large",
                        )
                return bytes(data)
        except httpx.TransportError as exc:
            raise HubError(f"hub unreachable: {type(exc).__name__}: {exc}", retryable=True) from exc
        except httpx.HTTPStatusError as exc:  # our token request was refused
            status = exc.response.status_code
            raise HubError(
                f"hub refused this node's credentials ({status})",
                retryable=status >= 500,
                code="invalid_client",
            ) from exc

    async def report_installation(
        self, installation_id: str, state: str, detail: str
    ) -> dict[str, Any]:
        return await self._call(
            "POST",
            f"/api/v1/market/installations/{installation_id}/report",
            {"state": state, "detail": detail},
        )

    async def report_usage(
        self, installation_id: str, *, unit: str, count: int, key: str
    ) -> dict[str, Any]:
        """Usage of an installed release; the hub counts a `key` once."""
        return await self._call(
            "POST",
            f"/api/v1/market/installations/{installation_id}/usage",
            {"unit": unit, "count": count, "key": key},
        )

    async def relay_request(self, request_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Pass a factory's request for another node's worker to the hub (idempotent by id)."""
        return await self._call("PUT", f"/api/v1/workforce-relay/requests/{request_id}", body)

    async def relay_inbox(self, node: str) -> dict[str, Any]:
        """Requests to this node's workers it has not taken yet."""
        return await self._call("GET", f"/api/v1/workforce-relay/nodes/{node}/inbox", None)

    async def relay_answer(self, request_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._call(
            "POST", f"/api/v1/workforce-relay/requests/{request_id}/answer", body
        )

    async def relay_outbox(self, node: str) -> dict[str, Any]:
        """This node's requests with an answer it has not taken yet."""
        return await self._call("GET", f"/api/v1/workforce-relay/nodes/{node}/outbox", None)

    async def relay_taken(self, request_id: str, status: str) -> dict[str, Any]:
        return await self._call(
            "POST", f"/api/v1/workforce-relay/requests/{request_id}/taken", {"status": status}
        )

    async def graphql(self, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        """One operation on the hub's GraphQL API with the node's own credentials: its `data`,
        or HubError with the first error's code (FORBIDDEN, CONTRACT_NOT_FOUND...) and message."""
        answer = await self._call("POST", "/graphql", {"query": document, "variables": variables})
        errors = answer.get("errors") or []
        if errors or answer.get("data") is None:
            first = errors[0] if errors else {}
            extensions = first.get("extensions") or {}
            code = str(extensions.get("code") or "graphql_error")
            message = str(first.get("message") or "no data")[:500]
            retryable = code in {"SERVICE_UNAVAILABLE", "POLICY_UNAVAILABLE", "NODE_UNAVAILABLE"}
            raise HubError(f"hub refused: {message}", retryable=retryable, code=code)
        data: dict[str, Any] = answer["data"]
        return data

    async def _call(self, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        """Every request to the hub; a body carrying picture data is refused before sending."""
        outbound.check(body)
        try:
            response = await self._http.request(method, path, json=body)
        except httpx.TransportError as exc:
            raise HubError(f"hub unreachable: {type(exc).__name__}: {exc}", retryable=True) from exc
        except httpx.HTTPStatusError as exc:  # our token request was refused
            status = exc.response.status_code
            raise HubError(
                f"hub refused this node's credentials ({status})",
                retryable=status >= 500,
                code="invalid_client",
            ) from exc
        if response.is_success:
            payload: dict[str, Any] = response.json()
            return payload
        raise self._error(response)

    @staticmethod
    def _error(response: httpx.Response) -> HubError:
        expected = None
        try:
            error = response.json()
            code, detail = error.get("error"), error.get("detail")
            if isinstance(error.get("expected"), int):
                expected = error["expected"]
        except (ValueError, AttributeError):
            code, detail = None, response.text[:200]
        retryable = response.status_code >= 500 or response.status_code in (408, 429)
        return HubError(
            f"hub answered {response.status_code} {code or ''}: {detail}".strip(),
            retryable=retryable,
            code=code,
            expected=expected,
        )
