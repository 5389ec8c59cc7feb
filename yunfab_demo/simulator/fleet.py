"""Fleet files: which devices to simulate, with the credentials the node issued for them.

A fleet file is a JSON list of device objects:

    {"key": "gd-mould-01-imm-03", "profile": "injection_moulding", "factory": "gd-mould-01",
     "username": "gd-mould-01-imm-03", "password": "...", "protocol": "json", "edge_node": null}

For Sparkplug B, devices name their gateway in `edge_node`; the gateway itself is an entry with
`"profile": null` and `"protocol": "sparkplug"` that holds the MQTT credentials (the node provisions
it with kind EDGE_NODE). A gateway without an entry connects with no credentials, which is what a
broker allowing anonymous clients needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import orjson

from yunfab_demo.simulator.profiles import PROFILES

Protocol = Literal["json", "sparkplug"]
PROTOCOLS: tuple[Protocol, ...] = ("json", "sparkplug")

_KEY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$", re.IGNORECASE)
"""Keys land in MQTT topic levels: no `/`, `+`, `#` and nothing a node's slugs would refuse."""


class FleetError(ValueError):
    """A fleet file that cannot be simulated; the message names the device and the field."""


@dataclass(frozen=True, slots=True)
class FleetDevice:
    """One simulated device (or, with `profile` None, a Sparkplug edge node holding credentials)."""

    key: str
    profile: str | None
    factory: str
    username: str | None = None
    password: str | None = None
    protocol: Protocol = "json"
    edge_node: str | None = None

    @property
    def is_edge_node(self) -> bool:
        return self.profile is None


@dataclass(frozen=True, slots=True)
class EdgeNode:
    """A Sparkplug gateway and the devices behind it: one MQTT connection for all of them."""

    key: str
    group: str
    username: str | None
    password: str | None
    devices: tuple[FleetDevice, ...]


def _check(devices: Sequence[FleetDevice]) -> None:
    seen: set[str] = set()
    for device in devices:
        where = f"device {device.key!r}"
        if not isinstance(device.key, str) or not _KEY.match(device.key):
            raise FleetError(f"{where}: key must be a topic-safe slug ([A-Za-z0-9._-])")
        if device.key in seen:
            raise FleetError(f"{where}: key appears twice")
        seen.add(device.key)
        if not isinstance(device.factory, str) or not _KEY.match(device.factory):
            raise FleetError(f"{where}: factory must be a topic-safe slug")
        if device.protocol not in PROTOCOLS:
            raise FleetError(f"{where}: protocol must be one of {', '.join(PROTOCOLS)}")
        if device.profile is None:
            if device.protocol != "sparkplug" or device.edge_node is not None:
                raise FleetError(f"{where}: only a Sparkplug edge node may have no profile")
        elif device.profile not in PROFILES:
            raise FleetError(
                f"{where}: unknown profile {device.profile!r} (known: {', '.join(PROFILES)})"
            )
        elif device.protocol == "sparkplug" and not device.edge_node:
            raise FleetError(f"{where}: a Sparkplug device needs its edge_node")
        elif device.protocol == "json" and device.edge_node:
            raise FleetError(f"{where}: edge_node applies to Sparkplug devices only")
        if device.edge_node is not None and not _KEY.match(device.edge_node):
            raise FleetError(f"{where}: edge_node must be a topic-safe slug")
    for device in devices:
        if device.is_edge_node and not any(d.edge_node == device.key for d in devices):
            raise FleetError(f"device {device.key!r}: edge node without devices")


def validate(devices: Iterable[FleetDevice]) -> tuple[FleetDevice, ...]:
    """The fleet as a tuple, or FleetError for the first problem found."""
    fleet = tuple(devices)
    if not fleet:
        raise FleetError("the fleet is empty")
    _check(fleet)
    return fleet


def _device(raw: Any, index: int) -> FleetDevice:
    if not isinstance(raw, dict):
        raise FleetError(f"entry {index}: a device must be a JSON object")
    unknown = set(raw) - set(FleetDevice.__dataclass_fields__)
    if unknown:
        raise FleetError(f"entry {index}: unknown fields {', '.join(sorted(unknown))}")
    for name in ("key", "factory"):
        if not isinstance(raw.get(name), str):
            raise FleetError(f"entry {index}: {name} must be a string")
    for name in ("profile", "username", "password", "edge_node"):
        if raw.get(name) is not None and not isinstance(raw[name], str):
            raise FleetError(f"entry {index}: {name} must be a string or null")
    return FleetDevice(
        key=raw["key"],
        profile=raw.get("profile"),
        factory=raw["factory"],
        username=raw.get("username"),
        password=raw.get("password"),
        protocol=raw.get("protocol", "json"),
        edge_node=raw.get("edge_node"),
    )


def load_fleet(path: Path) -> tuple[FleetDevice, ...]:
    try:
        raw = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise FleetError(f"cannot read {path}: {exc.strerror}") from exc
    except orjson.JSONDecodeError as exc:
        raise FleetError(f"{path} is not JSON: {exc}") from exc
    if not isinstance(raw, list):
        raise FleetError(f"{path}: a fleet file is a JSON list of devices")
    return validate(_device(item, i) for i, item in enumerate(raw))


def save_fleet(path: Path, devices: Iterable[FleetDevice]) -> None:
    """Written 0600: a fleet file holds device passwords."""
    fleet = validate(devices)
    data = orjson.dumps([asdict(d) for d in fleet], option=orjson.OPT_INDENT_2) + b"\n"
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_bytes(data)


def synthetic_fleet(
    n: int,
    profile: str = "injection_moulding",
    prefix: str = "sim",
    *,
    factory: str = "sim-factory",
    protocol: Protocol = "json",
    devices_per_edge_node: int = 10,
) -> tuple[FleetDevice, ...]:
    """`n` devices without credentials, for a broker that lets anonymous clients publish.

    Keys are `{prefix}-{i:04d}`; with Sparkplug, every `devices_per_edge_node` devices share a
    gateway `{prefix}-gw-{j:03d}`.
    """
    if n < 1:
        raise FleetError("a synthetic fleet needs at least one device")
    if devices_per_edge_node < 1:
        raise FleetError("devices_per_edge_node must be at least 1")
    devices: list[FleetDevice] = []
    for i in range(n):
        edge = f"{prefix}-gw-{i // devices_per_edge_node:03d}" if protocol == "sparkplug" else None
        devices.append(
            FleetDevice(f"{prefix}-{i:04d}", profile, factory, None, None, protocol, edge)
        )
    return validate(devices)


def edge_nodes(fleet: Sequence[FleetDevice]) -> tuple[EdgeNode, ...]:
    """Group the Sparkplug devices by gateway; the gateway's group is its devices' factory."""
    entries = {d.key: d for d in fleet if d.is_edge_node}
    members: dict[str, list[FleetDevice]] = {}
    for device in fleet:
        if device.protocol == "sparkplug" and device.edge_node is not None:
            members.setdefault(device.edge_node, []).append(device)
    nodes = []
    for key, devices in members.items():
        factories = {d.factory for d in devices}
        if len(factories) != 1:
            raise FleetError(f"edge node {key!r}: its devices span factories {sorted(factories)}")
        entry = entries.get(key)
        if entry is not None and entry.factory not in factories:
            raise FleetError(f"edge node {key!r}: its factory differs from its devices'")
        nodes.append(
            EdgeNode(
                key=key,
                group=entry.factory if entry else devices[0].factory,
                username=entry.username if entry else None,
                password=entry.password if entry else None,
                devices=tuple(devices),
            )
        )
    return tuple(nodes)
