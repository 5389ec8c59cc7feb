"""`yunfab gateway check`: each connector once, each point's value or error, and the broker."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from yunfab_gateway.config import GatewayConfig, mqtt_password
from yunfab_gateway.mapping import Point, build_mapping


class QuietSink:
    """Takes a connector's reports and forgets them: `check` reads values itself."""

    def sample(self, point: Point, raw: Any, ts_ms: int) -> None:
        pass

    def point_error(self, point: Point, reason: str) -> None:
        pass

    def connector_state(self, connector: str, up: bool, reason: str | None = None) -> None:
        pass


def _shown(point: Point, raw: Any, error: str | None) -> tuple[str, bool]:
    if error is not None:
        return f"error: {error}", False
    value, problem = point.convert(raw)
    if problem is not None:
        return f"refused: {problem}", False
    if isinstance(value, str):
        return f"{value!r} (text: shown, not published)", True
    unit = "" if point.unit == "1" else f" {point.unit}"
    return f"{value}{unit}", True


def check_broker(config: GatewayConfig, timeout_s: float = 5.0) -> str | None:
    """None when the broker takes the gateway's login, else why not."""
    parts = urlsplit(config.mqtt.url)
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"{config.client_id}-check", protocol=mqtt.MQTTv5
    )
    client.username_pw_set(config.username, mqtt_password(config))
    if parts.scheme == "mqtts":
        client.tls_set(ca_certs=str(config.mqtt.ca_file) if config.mqtt.ca_file else None)
    answered = threading.Event()
    outcome: list[str | None] = []

    def on_connect(c: Any, u: Any, flags: Any, reason: Any, props: Any) -> None:
        outcome.append(str(reason) if reason.is_failure else None)
        answered.set()

    client.on_connect = on_connect
    try:
        client.connect(
            parts.hostname or "127.0.0.1", parts.port or (8883 if parts.scheme == "mqtts" else 1883)
        )
    except OSError as exc:
        return f"cannot reach {config.mqtt.url}: {exc}"
    client.loop_start()
    try:
        if not answered.wait(timeout_s):
            return f"no answer from {config.mqtt.url}"
        return outcome[0]
    finally:
        client.disconnect()
        client.loop_stop()


async def check_all(config: GatewayConfig, echo: Callable[[str], Any]) -> bool:
    """Print what each point reads now; True when anything failed."""
    mapping = build_mapping(config)
    failed = False
    by_connector: dict[str, list[Point]] = {}
    for point in mapping.points:
        by_connector.setdefault(point.connector, []).append(point)
    sources: list[tuple[str, str, Any]] = []
    if config.opcua:
        from yunfab_gateway.opcua import OpcUaSource

        pki = config.gateway.data_dir / "pki"
        for opc in config.opcua:
            source = OpcUaSource(
                opc,
                by_connector.get(opc.name, []),
                QuietSink(),
                edge_node=config.gateway.edge_node,
                pki=pki,
            )
            sources.append((opc.name, opc.url, source))
    if config.modbus:
        from yunfab_gateway.modbus import ModbusSource

        for mb in config.modbus:
            modbus = ModbusSource(mb, by_connector.get(mb.name, []), QuietSink())
            sources.append((mb.name, modbus.endpoint, modbus))
    for name, where, source in sources:
        echo(f"{name} ({where})")
        rows = await source.check()
        width = max((len(point.metric) for point, _, _ in rows), default=0)
        for point, raw, error in rows:
            text, ok = _shown(point, raw, error)
            failed = failed or not ok
            echo(f"  {point.device}  {point.metric.ljust(width)}  {text}")
    problem = await asyncio.to_thread(check_broker, config)
    if problem is None:
        echo(f"broker {config.mqtt.url}: accepts {config.username}")
    else:
        failed = True
        echo(f"broker {config.mqtt.url}: {problem}")
    return failed
