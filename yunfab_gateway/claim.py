"""`yunfab gateway claim`: the gateway's credentials from a one-time code, nothing typed by hand.

The node's people make a claim code for the gateway's edge node key (the console's device page,
or `createGatewayClaimCode`). The gateway sends it with its own mapping (what `yunfab gateway
devices` prints); the node provisions the edge node and the machines it does not know yet and
answers with the edge node's broker password, which lands in `mqtt.password_file` (0600).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from yunfab_gateway.config import GatewayConfig
from yunfab_gateway.mapping import build_mapping

CLAIM_PATH = "/api/v1/gateways/claim"


class ClaimFailed(Exception):
    """The node refused the code (with its reason) or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Claimed:
    edge_node: str
    password_file: Path
    provisioned: list[str]
    kept: list[str]


def provisioning_document(config: GatewayConfig) -> dict[str, Any]:
    """The gateway and its machines as the node provisions them: the edge node's own metrics,
    and each machine's key, device type and metrics (provisionDevice's shape)."""
    mapping = build_mapping(config)
    edge = mapping.edge
    return {
        "group": config.gateway.group,
        "edge_node": {
            "key": config.gateway.edge_node,
            "kind": "EDGE_NODE",
            "metrics": [m.as_node_input() for m in (edge.metrics if edge else ())],
        },
        "devices": [
            {
                "key": device.key,
                "edgeNodeKey": config.gateway.edge_node,
                "type": device.type,
                "metrics": [m.as_node_input() for m in device.metrics],
            }
            for device in mapping.declarations()
        ],
    }


def password_target(config: GatewayConfig) -> Path:
    """Where the claimed password goes: the configuration's `mqtt.password_file`."""
    if config.mqtt.password is not None:
        raise ClaimFailed(
            "mqtt.password is set in the file: a claimed gateway keeps its password in "
            "mqtt.password_file instead"
        )
    if config.mqtt.password_file is None:
        raise ClaimFailed("mqtt.password_file: say where the claimed password is to be kept")
    return config.mqtt.password_file


def write_secret(path: Path, secret: str) -> None:
    """Written 0600 from the start (never readable by others, not even for a moment)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(secret + "\n")


async def claim(
    config: GatewayConfig,
    node_url: str,
    code: str,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout_s: float = 30.0,
) -> Claimed:
    """Trade `code` at the node for the edge node's password, written to the password file."""
    target = password_target(config)
    body = {"code": code.strip(), "gateway": provisioning_document(config)}
    try:
        async with httpx.AsyncClient(
            base_url=node_url.rstrip("/"), transport=transport, timeout=timeout_s
        ) as client:
            response = await client.post(CLAIM_PATH, json=body)
    except httpx.HTTPError as exc:
        raise ClaimFailed(f"{node_url}: {exc}") from exc
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.status_code != 200 or not isinstance(answer, dict):
        detail = answer.get("detail") if isinstance(answer, dict) else None
        error = answer.get("error") if isinstance(answer, dict) else None
        reason = f"{error}: {detail}" if error and detail else response.text[:300]
        raise ClaimFailed(
            f"the node refused the claim ({response.status_code}): {reason}",
            status=response.status_code,
        )
    write_secret(target, str(answer["password"]))
    return Claimed(
        edge_node=str(answer["edge_node"]),
        password_file=target,
        provisioned=[str(key) for key in answer.get("provisioned", [])],
        kept=[str(key) for key in answer.get("kept", [])],
    )
