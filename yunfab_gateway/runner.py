"""The running gateway: connectors read, values are checked against their points, good ones go
to the journal in small transactions, and the Sparkplug link sends what the journal holds.

Connectors never take the gateway down: an unexpected error in one is logged and that connector
starts over after a pause, while the others and the link go on. Every `status_interval_s` the
gateway journals its own status metrics (points in error per device, refused values, read
errors, journal rows and drops) and writes `status.json` in its data folder with each point's
last value, last error and counts.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import structlog

from yunfab_gateway import pushed
from yunfab_gateway.config import ConfigError, GatewayConfig, mqtt_password
from yunfab_gateway.journal import Journal
from yunfab_gateway.mapping import (
    DEVICE_STATUS_METRIC,
    Mapping,
    Point,
    PointStatus,
    build_mapping,
    now_ms,
)
from yunfab_gateway.node_link import NodeLink
from yunfab_gateway.sparkplug_out import SparkplugOut

log = structlog.get_logger(__name__)

FLUSH_S = 0.05
"""How long read values wait to be journaled together (one transaction, one fsync)."""
FLUSH_ROWS = 2000


class Gateway:
    def __init__(
        self,
        config: GatewayConfig,
        *,
        node_transport: httpx.AsyncBaseTransport | None = None,
        base: Path | None = None,
        config_version: int | None = None,
    ) -> None:
        self.config = config
        self.base = base if base is not None else config.gateway.data_dir.parent
        """Where the configuration's relative paths start (the file's folder)."""
        self.config_version = config_version
        """The node's configuration version this runs; None: the file."""
        self.config_refused: dict[str, Any] | None = None
        self.next_config: tuple[GatewayConfig, int] | None = None
        """A pushed configuration to run next: `run` returns to let the caller start it."""
        self._reload = asyncio.Event()
        self.node_link = (
            NodeLink(config, transport=node_transport) if config.node is not None else None
        )
        self.mapping: Mapping = build_mapping(config)
        assert config.journal.path is not None
        self.journal = Journal(
            config.journal.path,
            max_rows=config.journal.max_rows,
            max_bytes=config.journal.max_bytes,
            synchronous=config.journal.synchronous,
        )
        self.out = SparkplugOut(config, self.mapping, self.journal, password=mqtt_password(config))
        self.status: dict[tuple[str, str], PointStatus] = {
            point.key: PointStatus() for point in self.mapping.points
        }
        self.connectors: dict[str, bool] = {}
        self.connector_errors: dict[str, str | None] = {}
        self.refused = 0
        self.read_errors = 0
        self.samples = 0
        self._pending: list[tuple[str, str, int, float | int | bool]] = []
        self._flush_now = asyncio.Event()
        self.sources: list[Any] = []

    # --- Sink --------------------------------------------------------------------------------

    def sample(self, point: Point, raw: Any, ts_ms: int) -> None:
        status = self.status[point.key]
        value, problem = point.convert(raw)
        if problem is not None or value is None:
            status.refuse(problem or "no value", ts_ms)
            self.refused += 1
            return
        last = status.last_ts_ms
        status.ok(value, ts_ms)
        if not point.published or isinstance(value, str):
            return
        if last is not None and ts_ms <= last:
            # A second value within the same millisecond (a register polled faster than the
            # clock ticks): the node keeps one reading per device, metric and millisecond.
            status.same_ms += 1
            return
        status.published += 1
        self.samples += 1
        self._pending.append((point.device, point.metric, ts_ms, value))
        if len(self._pending) >= FLUSH_ROWS:
            self._flush_now.set()

    def point_error(self, point: Point, reason: str) -> None:
        self.status[point.key].error(reason, now_ms())
        self.read_errors += 1

    def connector_state(self, connector: str, up: bool, reason: str | None = None) -> None:
        self.connectors[connector] = up
        self.connector_errors[connector] = reason
        for device in self._devices_of(connector):
            feeding = self._connectors_of(device)
            self.out.device_state(device, all(self.connectors.get(c, False) for c in feeding))

    def _devices_of(self, connector: str) -> set[str]:
        return {p.device for p in self.mapping.points if p.connector == connector}

    def _connectors_of(self, device: str) -> set[str]:
        return {p.connector for p in self.mapping.points if p.device == device}

    # --- journal and status ------------------------------------------------------------------

    async def flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        await asyncio.to_thread(self.journal.append, batch)
        self.out.wake.set()

    async def _flusher(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(self._flush_now.wait(), timeout=FLUSH_S)
            except TimeoutError:
                pass
            self._flush_now.clear()
            await self.flush()

    def status_rows(self, ts_ms: int) -> list[tuple[str, str, int, float | int | bool]]:
        rows: list[tuple[str, str, int, float | int | bool]] = []
        failing: dict[str, int] = dict.fromkeys(self.mapping.devices, 0)
        for point in self.mapping.points:
            if self.status[point.key].failing and point.device in failing:
                failing[point.device] += 1
        for device, count in failing.items():
            rows.append((device, DEVICE_STATUS_METRIC, ts_ms, count))
        stats = self.journal.stats()
        edge = self.config.gateway.edge_node
        in_error = sum(1 for s in self.status.values() if s.failing)
        rows += [
            (edge, "gateway_points_in_error", ts_ms, in_error),
            (edge, "gateway_values_refused", ts_ms, self.refused),
            (edge, "gateway_read_errors", ts_ms, self.read_errors),
            (edge, "gateway_journal_rows", ts_ms, stats.rows),
            (edge, "gateway_journal_dropped", ts_ms, stats.dropped),
        ]
        return rows

    def status_document(self) -> dict[str, Any]:
        stats = self.journal.stats()
        return {
            "edge_node": self.config.gateway.edge_node,
            "group": self.config.gateway.group,
            "at_ms": now_ms(),
            "mqtt": {
                "connected": self.out.stats.connected,
                "connects": self.out.stats.connects,
                "messages": self.out.stats.messages,
                "rows_acked": self.out.stats.rows_acked,
                "refused": self.out.stats.refused,
                "last_error": self.out.stats.last_error,
            },
            "journal": {"rows": stats.rows, "bytes": stats.bytes, "dropped": stats.dropped},
            "values_refused": self.refused,
            "read_errors": self.read_errors,
            "config_version": self.config_version,
            "config_refused": self.config_refused,
            "connectors": {
                name: {"up": up, "last_error": self.connector_errors.get(name)}
                for name, up in self.connectors.items()
            },
            "points": [
                {
                    "connector": point.connector,
                    "device": point.device,
                    "metric": point.metric,
                    "unit": point.unit,
                    "source": point.source,
                    **self.status[point.key].as_json(),
                }
                for point in self.mapping.points
            ],
        }

    def write_status(self) -> None:
        path = self.config.gateway.data_dir / "status.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(self.status_document(), indent=1, default=str))
        os.replace(temporary, path)

    async def _status_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.config.gateway.status_interval_s)
            except TimeoutError:
                pass
            if stop.is_set():
                return
            self._pending.extend(self.status_rows(now_ms()))
            await asyncio.to_thread(self.write_status)
            if self.node_link is not None:
                answer = await self.node_link.report_status(self.status_document())
                latest = answer.get("config_version") if answer else None
                if isinstance(latest, int) and self._wants(latest):
                    await self._take_config()
                    if self.next_config is not None:
                        return

    def _wants(self, version: int) -> bool:
        refused = self.config_refused
        return version != self.config_version and (
            refused is None or refused.get("version") != version
        )

    async def _take_config(self) -> None:
        """Fetch the node's newest configuration; run it next, or refuse it and go on."""
        assert self.node_link is not None
        fetched = await self.node_link.fetch_config()
        if fetched is None:
            return
        version, text, profiles = fetched
        try:
            config = pushed.checked(text, running=self.config, base=self.base, profiles=profiles)
        except ConfigError as exc:
            log.warning("gateway.config_refused", version=version, error=str(exc))
            self.config_refused = {"version": version, "error": str(exc)}
            await self.node_link.report_status(self.status_document())
            return
        await asyncio.to_thread(pushed.save, config, version, text, profiles)
        log.info("gateway.config_applying", version=version)
        self.next_config = (config, version)
        self._reload.set()

    # --- running -----------------------------------------------------------------------------

    def build_sources(self) -> None:
        by_connector: dict[str, list[Point]] = {}
        for point in self.mapping.points:
            by_connector.setdefault(point.connector, []).append(point)
        pki = self.config.gateway.data_dir / "pki"
        if self.config.opcua:
            from yunfab_gateway.opcua import OpcUaSource

            for opc in self.config.opcua:
                self.sources.append(
                    OpcUaSource(
                        opc,
                        by_connector.get(opc.name, []),
                        self,
                        edge_node=self.config.gateway.edge_node,
                        pki=pki,
                    )
                )
        if self.config.modbus:
            from yunfab_gateway.modbus import ModbusSource

            for mb in self.config.modbus:
                self.sources.append(ModbusSource(mb, by_connector.get(mb.name, []), self))

    async def run(self, outer: asyncio.Event) -> None:
        """Run until `outer` is set, or until a pushed configuration is to run (`next_config`)."""
        stop = asyncio.Event()

        async def relay() -> None:
            waits = [asyncio.create_task(outer.wait()), asyncio.create_task(self._reload.wait())]
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for wait in waits:
                    wait.cancel()
            stop.set()

        relayed = asyncio.create_task(relay())
        try:
            await self._run(stop)
        finally:
            relayed.cancel()

    async def _run(self, stop: asyncio.Event) -> None:
        if not self.sources:
            self.build_sources()
        for source in self.sources:
            self.connectors.setdefault(source.config.name, False)
        for device in self.mapping.devices:
            self.out.device_state(device, False)
        tasks = [
            asyncio.create_task(_supervised(source.config.name, source.run, stop))
            for source in self.sources
        ]
        tasks.append(asyncio.create_task(self._flusher(stop)))
        tasks.append(asyncio.create_task(self._status_loop(stop)))
        link = asyncio.create_task(self.out.run(stop))
        try:
            await asyncio.gather(*tasks)
            await self.flush()  # what was read before the stop is journaled, sent next time
            await link
        finally:
            for task in [*tasks, link]:
                task.cancel()
            await asyncio.to_thread(self.write_status)
            if self.node_link is not None:
                await self.node_link.close()
            self.journal.close()


async def _supervised(
    name: str, run: Callable[[asyncio.Event], Awaitable[None]], stop: asyncio.Event
) -> None:
    """A connector that fails unexpectedly is restarted; the gateway goes on."""
    while not stop.is_set():
        try:
            await run(stop)
            return
        except Exception:
            log.exception("gateway.connector_crashed", connector=name)
            try:
                await asyncio.wait_for(stop.wait(), timeout=5)
            except TimeoutError:
                pass


async def run_configs(
    config: GatewayConfig,
    stop: asyncio.Event,
    *,
    base: Path | None = None,
    config_version: int | None = None,
    node_transport: httpx.AsyncBaseTransport | None = None,
) -> Gateway:
    """Run the gateway until `stop`, starting it over with each configuration the node pushes
    (the one before says goodbye first: NDEATH, journal closed). Returns the last one."""
    while True:
        gateway = Gateway(
            config, node_transport=node_transport, base=base, config_version=config_version
        )
        await gateway.run(stop)
        if stop.is_set() or gateway.next_config is None:
            return gateway
        config, config_version = gateway.next_config
        log.info("gateway.config_applied", version=config_version)


async def run_gateway(config: GatewayConfig, *, base: Path | None = None) -> None:
    """Run until SIGINT or SIGTERM, then stop cleanly: NDEATH, journal closed. A configuration
    the node pushed before (kept in the data folder) runs instead of the file."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    version = None
    if base is not None:
        try:
            kept = pushed.load(config, base)
        except ConfigError as exc:
            log.warning("gateway.pushed_config_unusable", error=str(exc))
            kept = None
        if kept is not None:
            config, version = kept
    log.info(
        "gateway.start",
        edge_node=config.gateway.edge_node,
        group=config.gateway.group,
        config_version=version,
        journal=str(config.journal.path),
    )
    try:
        await run_configs(config, stop, base=base, config_version=version)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    log.info("gateway.stopped")


def status_path(config: GatewayConfig) -> Path:
    return config.gateway.data_dir / "status.json"
