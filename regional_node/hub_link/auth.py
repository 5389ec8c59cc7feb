"""How a node proves itself to the hub and checks the hub's tokens.

- `ClientCredentials`: an `httpx.Auth` that gets an access token with the node's own client and
  reuses it until shortly before it expires (and once more after a 401).
- `HubKeys`: the hub's JWKS, cached; fetched again when a token names a key not seen yet, at
  most every few seconds, so a flood of bad tokens cannot make the node hammer the hub.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncGenerator
from urllib.parse import quote

import httpx
import structlog
from joserfc.jwk import KeySet

log = structlog.get_logger(__name__)

RENEW_BEFORE_EXPIRY_S = 60
MIN_JWKS_REFETCH_S = 5.0


class ClientCredentials(httpx.Auth):
    requires_response_body = True

    def __init__(self, token_url: str, client_id: str, client_secret: str, scope: str) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope
        self._token: str | None = None
        self._expires_at = 0.0

    def _token_request(self) -> httpx.Request:
        # RFC 6749 2.3.1: both parts form-urlencoded before Basic encoding.
        basic = base64.b64encode(
            f"{quote(self.client_id, safe='')}:{quote(self.client_secret, safe='')}".encode()
        ).decode()
        return httpx.Request(
            "POST",
            self.token_url,
            data={"grant_type": "client_credentials", "scope": self.scope},
            headers={"Authorization": f"Basic {basic}"},
        )

    def _store(self, response: httpx.Response) -> None:
        if response.status_code != 200:
            raise httpx.HTTPStatusError(
                f"token request refused: {response.status_code} {response.text[:200]}",
                request=response.request,
                response=response,
            )
        body = response.json()
        self._token = body["access_token"]
        self._expires_at = time.time() + float(body.get("expires_in", 300))

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if self._token is None or time.time() > self._expires_at - RENEW_BEFORE_EXPIRY_S:
            token_response = yield self._token_request()
            await token_response.aread()
            self._store(token_response)
        request.headers["Authorization"] = f"Bearer {self._token}"
        response = yield request
        if response.status_code == 401:
            token_response = yield self._token_request()
            await token_response.aread()
            self._store(token_response)
            request.headers["Authorization"] = f"Bearer {self._token}"
            yield request


class HubKeys:
    def __init__(self, jwks_url: str, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.jwks_url = jwks_url
        self._http = httpx.AsyncClient(timeout=5.0, transport=transport)
        self._keys = KeySet([])
        self._next_fetch = 0.0
        self._fetched_at = float("-inf")
        # One fetch at a time: requests that need the keys while a fetch is on its way wait for
        # it (a page's burst of queries after a key rotation), instead of finding the old set.
        self._fetching = asyncio.Lock()

    def key_set(self) -> KeySet:
        return self._keys

    async def refresh(self, *, force: bool = False, max_age_s: float | None = None) -> None:
        """Fetch again: when forced, when older than `max_age_s`, or (for an unknown `kid`) at
        most every few seconds; a caller arriving while a fetch is on its way gets its keys."""
        async with self._fetching:
            await self._refresh(force=force, max_age_s=max_age_s)

    async def _refresh(self, *, force: bool, max_age_s: float | None) -> None:
        now = time.monotonic()
        if max_age_s is not None:
            if now - self._fetched_at < max_age_s:
                return
        elif not force and now < self._next_fetch:
            return
        self._next_fetch = now + MIN_JWKS_REFETCH_S
        try:
            response = await self._http.get(self.jwks_url)
            response.raise_for_status()
            self._keys = KeySet.import_key_set(response.json())
            self._fetched_at = time.monotonic()
            self._next_fetch = self._fetched_at + MIN_JWKS_REFETCH_S
        except (httpx.HTTPError, ValueError) as exc:
            self._next_fetch = time.monotonic() + 1.0
            log.warning("jwks_fetch_failed", url=self.jwks_url, error=str(exc))

    async def close(self) -> None:
        await self._http.aclose()
