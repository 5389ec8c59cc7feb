"""The gateway's reports to the node's HTTP API (`[node] url`): its status every
`status_interval_s`, with the edge node's own login (HTTP Basic, as the broker takes it); the
node's answer names its newest configuration version, which the gateway then fetches.

A report that fails (node away, network down) is logged once and the next one tries again; the
readings themselves never go this way (they are journaled and sent over MQTT).
"""

from __future__ import annotations

from typing import Any

import httpx
import structlog

from yunfab_gateway.config import GatewayConfig, mqtt_password

log = structlog.get_logger(__name__)

STATUS_PATH = "/api/v1/gateways/status"
CONFIG_PATH = "/api/v1/gateways/config"


class NodeLink:
    def __init__(
        self, config: GatewayConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        assert config.node is not None
        self.config = config
        self.url = config.node.url.rstrip("/")
        username = config.mqtt.username or config.gateway.edge_node
        password = mqtt_password(config) or ""
        self._client = httpx.AsyncClient(
            base_url=self.url,
            auth=httpx.BasicAuth(username, password),
            transport=transport,
            timeout=config.node.timeout_s,
        )
        self.last_error: str | None = None
        self.reports = 0

    async def report_status(self, document: dict[str, Any]) -> dict[str, Any] | None:
        """Send the status document; the node's answer, or None when it failed."""
        try:
            response = await self._client.post(STATUS_PATH, json=document)
            if response.status_code != 200:
                raise httpx.HTTPStatusError(
                    f"{response.status_code}: {response.text[:200]}",
                    request=response.request,
                    response=response,
                )
            answer = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            error = str(exc) or type(exc).__name__
            if error != self.last_error:
                log.warning("gateway.node_report_failed", node=self.url, error=error)
            self.last_error = error
            return None
        if self.last_error is not None:
            log.info("gateway.node_report_ok", node=self.url)
        self.last_error = None
        self.reports += 1
        return answer if isinstance(answer, dict) else {}

    async def fetch_config(self) -> tuple[int, str, dict[str, str]] | None:
        """The newest configuration the node holds for this gateway: (version, TOML text, the
        market profiles it names by name)."""
        try:
            response = await self._client.get(CONFIG_PATH)
            if response.status_code != 200:
                raise httpx.HTTPStatusError(
                    f"{response.status_code}: {response.text[:200]}",
                    request=response.request,
                    response=response,
                )
            answer = response.json()
            profiles = answer.get("profiles") or {}
            return (
                int(answer["version"]),
                str(answer["config"]),
                {str(name): str(document) for name, document in profiles.items()},
            )
        except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("gateway.node_config_fetch_failed", node=self.url, error=str(exc))
            return None

    async def close(self) -> None:
        await self._client.aclose()
