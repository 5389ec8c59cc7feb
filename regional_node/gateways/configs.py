"""Gateway configurations pushed from the node: versions per edge node, each checked with the
gateway's own parser before it is stored.

The node does not import the gateway (each installs without the other); the entry point that
has both (`yunfab`'s command line, which serves the node) registers the gateway's parser here
with `register_config_check`. Without one the node refuses pushes rather than store a
configuration nobody checked.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.audit.service import append_entry
from regional_node.devices.models import DeviceKind
from regional_node.devices.service import device_with_factory
from regional_node.gateways.errors import ConfigCheckUnavailable
from regional_node.gateways.models import GatewayConfigVersion
from regional_node.gateways.profiles import profiles_for
from regional_node.gateways.repository import GatewayConfigRepository
from yunfab.errors import InvalidInput
from yunfab.subject import Subject

if TYPE_CHECKING:
    from regional_node.runtime import NodeRuntime

MAX_CONFIG_BYTES = 256 * 1024


@dataclass(frozen=True)
class CheckedConfig:
    group: str
    edge_node: str


ConfigCheck = Callable[[str, Mapping[str, str]], CheckedConfig]
"""Parses a configuration's TOML text as the gateway would, with the market profiles installed
here that it names (name to document); ValueError says what is wrong."""

_checks: list[ConfigCheck] = []


def register_config_check(check: ConfigCheck) -> None:
    _checks[:] = [check]


async def push_config(
    session: AsyncSession,
    subject: Subject,
    *,
    runtime: NodeRuntime,
    device_id: uuid.UUID,
    text: str,
) -> GatewayConfigVersion:
    device, factory = await device_with_factory(
        session, subject, runtime=runtime, device_id=device_id, action="node.device.manage"
    )
    if device.kind is not DeviceKind.EDGE_NODE:
        raise InvalidInput(f"{device.key} is not an edge node: only gateways take a configuration")
    if len(text.encode()) > MAX_CONFIG_BYTES:
        raise InvalidInput(f"config: at most {MAX_CONFIG_BYTES} bytes")
    if not _checks:
        raise ConfigCheckUnavailable(
            "this node cannot check gateway configurations (serve it with `yunfab node serve`, "
            "which has the gateway's parser)"
        )
    try:
        checked = _checks[0](text, await profiles_for(session, text))
    except ValueError as exc:
        raise InvalidInput(f"config: {exc}") from exc
    if checked.group != factory.slug:
        raise InvalidInput(f"config: gateway.group must be {factory.slug!r}, not {checked.group!r}")
    if checked.edge_node != device.key:
        raise InvalidInput(
            f"config: gateway.edge_node must be {device.key!r}, not {checked.edge_node!r}"
        )
    repository = GatewayConfigRepository(session)
    version = (await repository.latest_version(device.id) or 0) + 1
    row = GatewayConfigVersion(
        device_id=device.id, version=version, text=text, created_by=subject.label[:200]
    )
    repository.add(row)
    await session.flush()
    await append_entry(
        session,
        actor=subject,
        action="node.gateway.config.push",
        resource=f"device:{device.key}",
        outcome="ok",
        detail={"factory": factory.slug, "version": version, "bytes": len(text.encode())},
    )
    return row


async def latest_config(session: AsyncSession, device_id: uuid.UUID) -> GatewayConfigVersion | None:
    """The newest version for the edge node (its own login was checked by the caller)."""
    return await GatewayConfigRepository(session).latest(device_id)


async def latest_version(session: AsyncSession, device_id: uuid.UUID) -> int | None:
    return await GatewayConfigRepository(session).latest_version(device_id)
