"""A station's camera counts sent to the node as progress on the station's work order (`yunfab
vision watch`; the counting itself: `vision_ml.camera`).

A window is reported with its start time as the key, so a report retried after a lost answer moves
the work order once; windows in which nothing was counted are not reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from vision_ml.camera import Window

REPORT = """
mutation($s: UUID!, $n: Int!, $from: DateTime!, $to: DateTime!) {
  reportCameraCount(stationId: $s, count: $n, windowStart: $from, windowEnd: $to) {
    counted reported workOrder { id made status }
  }
}
"""
STATION = "query($id: UUID!) { station(id: $id) { slug counting: countingJson workOrderId } }"


class NodeReporter:
    """Sends window counts to the node's GraphQL API with a client-credentials token for the
    node, fetched from the hub and renewed before it expires; retries what may succeed."""

    def __init__(
        self,
        node_url: str,
        hub_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str = "factories:write",
        audience: str | None = None,
        attempts: int = 5,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.node_url = node_url.rstrip("/")
        self.token_url = f"{hub_url.rstrip('/')}/oauth/token"
        self.credentials = (client_id, client_secret)
        self.scope = scope
        self.audience = (audience or node_url).rstrip("/")
        """The node's public URL, which its tokens name; the URL reached may differ (a proxy)."""
        self.attempts = attempts
        self.sleep = sleep
        self._http = httpx.Client(timeout=30, transport=transport)
        self._token: str | None = None
        self._expires = 0.0

    def close(self) -> None:
        self._http.close()

    def _bearer(self) -> dict[str, str]:
        if self._token is None or time.time() > self._expires - 60:
            response = self._http.post(
                self.token_url,
                data={"grant_type": "client_credentials", "scope": self.scope,
                      "resource": self.audience},
                auth=self.credentials,
            )  # fmt: skip
            if response.status_code != 200:
                raise PermissionError(f"the hub refused the camera's credentials: {response.text}")
            body = response.json()
            self._token = body["access_token"]
            self._expires = time.time() + float(body.get("expires_in", 300))
        return {"authorization": f"Bearer {self._token}"}

    def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        delay = 1.0
        for attempt in range(self.attempts):
            try:
                response = self._http.post(
                    f"{self.node_url}/graphql",
                    json={"query": query, "variables": variables},
                    headers=self._bearer(),
                )
            except httpx.TransportError:
                if attempt == self.attempts - 1:
                    raise
            else:
                if response.status_code < 500:
                    body: dict[str, Any] = response.json()
                    if body.get("errors"):
                        error = body["errors"][0]
                        code = error.get("extensions", {}).get("code", "ERROR")
                        raise RuntimeError(f"{code}: {error.get('message')}")
                    data: dict[str, Any] = body["data"]
                    return data
                if attempt == self.attempts - 1:
                    response.raise_for_status()
            self.sleep(delay)
            delay = min(delay * 2, 30.0)
        raise AssertionError("unreachable")

    def station(self, station_id: str) -> dict[str, Any]:
        station: dict[str, Any] = self.graphql(STATION, {"id": station_id})["station"]
        return station

    def report(self, station_id: str, window: Window) -> dict[str, Any]:
        variables = {
            "s": station_id,
            "n": window.count,
            "from": window.start.isoformat(),
            "to": window.end.isoformat(),
        }
        result: dict[str, Any] = self.graphql(REPORT, variables)["reportCameraCount"]
        return result
