"""The gateway as one Sparkplug B edge node on its node's broker, fed from the journal.

Per connection (a fresh MQTT client each time, so nothing half-sent by an earlier one is
replayed under a new session's sequence numbers): the will is NDEATH with this session's bdSeq,
then NBIRTH (the gateway's own metrics), a DBIRTH per machine that is up (names, aliases,
datatypes), then DDATA by alias from the journal, oldest first, with each reading's own
timestamp (flagged historical when it waited). Every data message is QoS 1, and the rows it
carried are deleted from the journal only when its PUBACK comes; what was in flight when a
connection dropped is sent again on the next one (the node stores a (device, metric, time)
once). A machine the gateway loses gets a DDEATH, and a DBIRTH when it is back. An NCMD
`Node Control/Rebirth` from the node starts the births over; SIGTERM ends with an NDEATH.

The codec and the seq/bdSeq bookkeeping are the shared kit's (`yunfab.sparkplug`), the same
that the node decodes with.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import structlog
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from yunfab.sparkplug import (
    REBIRTH_METRIC,
    DataType,
    EdgeNodeSession,
    MessageType,
    Metric,
    SparkplugError,
    decode,
    topic_for,
)
from yunfab_gateway.config import GatewayConfig
from yunfab_gateway.journal import Entry, Journal
from yunfab_gateway.mapping import Mapping, MetricDeclaration, now_ms

log = structlog.get_logger(__name__)


@dataclass
class OutStats:
    connects: int = 0
    messages: int = 0
    rows_acked: int = 0
    refused: int = 0
    rebirths: int = 0
    connected: bool = False
    last_error: str | None = None


@dataclass
class _Flight:
    ids: list[int]


@dataclass
class _Connection:
    """One MQTT client's life: what its callbacks report back to the event loop."""

    client: mqtt.Client
    generation: int
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    lost: asyncio.Event = field(default_factory=asyncio.Event)
    refused_reason: str | None = None
    in_flight: dict[int, _Flight] = field(default_factory=dict)


def _value(declared: MetricDeclaration, value: Any) -> float | int | bool:
    if declared.datatype is DataType.Boolean:
        return bool(value)
    if declared.datatype is DataType.Int64:
        return int(value)
    return float(value)


class SparkplugOut:
    def __init__(
        self,
        config: GatewayConfig,
        mapping: Mapping,
        journal: Journal,
        *,
        password: str | None,
    ) -> None:
        self.config = config
        self.mapping = mapping
        self.journal = journal
        self.password = password
        self.session = EdgeNodeSession(config.gateway.group, config.gateway.edge_node)
        self.stats = OutStats()
        self.wake = asyncio.Event()
        """Set when there is something new to send (rows journaled, a device up or down)."""
        self._down: set[str] = set()
        self._birthed: set[str] = set()
        self._rebirth = False
        self._generation = 0
        self._conn: _Connection | None = None
        self._sent_after = 0
        self._acked_ids: list[int] = []

    # --- what the runner tells us --------------------------------------------------------------

    def device_state(self, device: str, up: bool) -> None:
        changed = (device in self._down) == up
        if up:
            self._down.discard(device)
        else:
            self._down.add(device)
        if changed:
            self.wake.set()

    # --- connection --------------------------------------------------------------------------

    def _client(self, loop: asyncio.AbstractEventLoop, generation: int) -> _Connection:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.config.client_id,
            protocol=mqtt.MQTTv5,
        )
        client.username_pw_set(self.config.username, self.password)
        if urlsplit(self.config.mqtt.url).scheme == "mqtts":
            ca = self.config.mqtt.ca_file
            client.tls_set(ca_certs=str(ca) if ca else None, cert_reqs=ssl.CERT_REQUIRED)
        client.max_inflight_messages_set(self.config.mqtt.window + 8)
        client.max_queued_messages_set(0)
        topic, payload = self.session.ndeath()
        client.will_set(topic, payload, qos=1, retain=False)
        conn = _Connection(client=client, generation=generation)

        def on_connect(c: Any, u: Any, flags: Any, reason: ReasonCode, props: Any) -> None:
            if reason.is_failure:
                conn.refused_reason = str(reason)
                loop.call_soon_threadsafe(conn.lost.set)
            else:
                loop.call_soon_threadsafe(conn.connected.set)

        def on_disconnect(c: Any, u: Any, flags: Any, reason: ReasonCode, props: Any) -> None:
            loop.call_soon_threadsafe(conn.lost.set)
            loop.call_soon_threadsafe(self.wake.set)

        def on_publish(c: Any, u: Any, mid: int, reason: ReasonCode, props: Any) -> None:
            loop.call_soon_threadsafe(self._acked, conn, mid, reason)

        def on_message(c: Any, u: Any, message: mqtt.MQTTMessage) -> None:
            try:
                payload = decode(bytes(message.payload))
            except SparkplugError as exc:
                log.warning("gateway.bad_command", reason=exc.reason)
                return
            if any(m.name == REBIRTH_METRIC and m.value is True for m in payload.metrics):
                loop.call_soon_threadsafe(self._rebirth_requested)

        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        client.on_publish = on_publish
        client.on_message = on_message
        return conn

    def _rebirth_requested(self) -> None:
        log.info("gateway.rebirth_requested")
        self._rebirth = True
        self.wake.set()

    def _acked(self, conn: _Connection, mid: int, reason: ReasonCode) -> None:
        flight = conn.in_flight.pop(mid, None)
        if flight is None or conn is not self._conn:
            return
        if reason.is_failure:
            # Refused by the broker (not authorised, say): the rows stay journaled, and the
            # connection is dropped so that they go again after the back-off.
            self.stats.refused += 1
            self.stats.last_error = f"the broker refused a message: {reason}"
            log.error("gateway.publish_refused", reason=str(reason))
            conn.lost.set()
            self.wake.set()
            return
        if flight.ids:
            self._acked_ids.extend(flight.ids)
            self.stats.rows_acked += len(flight.ids)
        self.wake.set()

    async def _forget_acked(self) -> None:
        """Delete what the broker acknowledged, many messages' rows in one transaction (a
        crash before it commits only means those rows are sent again, and the node keeps a
        reading once)."""
        if self._acked_ids:
            ids, self._acked_ids = self._acked_ids, []
            await asyncio.to_thread(self.journal.delete, ids)

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> _Connection | None:
        # A new bdSeq for every connection, kept across restarts, so that the node tells the
        # will of an earlier connection (or process) from this session's.
        self.session = EdgeNodeSession(
            self.config.gateway.group,
            self.config.gateway.edge_node,
            bd_seq=await asyncio.to_thread(self.journal.next_bd_seq),
        )
        self._generation += 1
        conn = self._client(loop, self._generation)
        parts = urlsplit(self.config.mqtt.url)
        default_port = 8883 if parts.scheme == "mqtts" else 1883
        try:
            await asyncio.to_thread(
                conn.client.connect,
                parts.hostname or "127.0.0.1",
                parts.port or default_port,
                self.config.mqtt.keepalive_s,
                clean_start=True,
            )
        except (OSError, ssl.SSLError) as exc:
            self.stats.last_error = f"cannot reach {self.config.mqtt.url}: {exc}"
            return None
        conn.client.loop_start()
        connected = asyncio.ensure_future(conn.connected.wait())
        lost = asyncio.ensure_future(conn.lost.wait())
        await asyncio.wait({connected, lost}, timeout=15, return_when=asyncio.FIRST_COMPLETED)
        connected.cancel()
        lost.cancel()
        if not conn.connected.is_set() or conn.lost.is_set():
            self.stats.last_error = (
                f"the broker refused the connection: {conn.refused_reason}"
                if conn.refused_reason
                else f"no answer from {self.config.mqtt.url}"
            )
            await self._drop(conn)
            return None
        conn.client.subscribe(
            topic_for(self.config.gateway.group, MessageType.NCMD, self.config.gateway.edge_node),
            qos=1,
        )
        return conn

    async def _drop(self, conn: _Connection) -> None:
        client = conn.client
        await asyncio.to_thread(_stop_client, client)

    # --- the loop ----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        delay = self.config.mqtt.reconnect_initial_s
        while not stop.is_set():
            conn = await self._connect(loop)
            if conn is None:
                log.warning("gateway.mqtt_unavailable", error=self.stats.last_error, retry_s=delay)
                await _sleep_or_stop(stop, delay)
                delay = min(delay * 2, self.config.mqtt.reconnect_max_s)
                continue
            delay = self.config.mqtt.reconnect_initial_s
            self._conn = conn
            self.stats.connects += 1
            self.stats.connected = True
            log.info("gateway.mqtt_connected", url=self.config.mqtt.url, bd_seq=self.session.bd_seq)
            try:
                await self._session(conn, stop)
            finally:
                self.stats.connected = False
                if stop.is_set() and not conn.lost.is_set():
                    await self._goodbye(conn)
                await self._drop(conn)
                self._conn = None
                await self._forget_acked()
            if not stop.is_set():
                log.warning("gateway.mqtt_lost", retry_s=delay)
                await _sleep_or_stop(stop, delay)

    async def _goodbye(self, conn: _Connection) -> None:
        """Sparkplug asks an edge node to publish its NDEATH itself before disconnecting."""
        topic, data = self.session.ndeath(now_ms())
        info = conn.client.publish(topic, data, qos=1)
        await asyncio.to_thread(info.wait_for_publish, 3)

    async def _session(self, conn: _Connection, stop: asyncio.Event) -> None:
        self._birth_all(conn)
        self._sent_after = 0
        while not stop.is_set() and not conn.lost.is_set():
            self.wake.clear()
            await self._forget_acked()
            if self._rebirth:
                self.stats.rebirths += 1
                self._birth_all(conn)
            self._pump(conn)
            waiters = [
                asyncio.ensure_future(self.wake.wait()),
                asyncio.ensure_future(stop.wait()),
                asyncio.ensure_future(conn.lost.wait()),
            ]
            await asyncio.wait(waiters, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()

    def _publish(
        self, conn: _Connection, message: tuple[str, bytes], ids: list[int] | None
    ) -> None:
        topic, data = message
        info = conn.client.publish(topic, data, qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            conn.lost.set()
            return
        self.stats.messages += 1
        if ids is not None:
            conn.in_flight[info.mid] = _Flight(ids)

    def _birth_metrics(self, declarations: Sequence[MetricDeclaration]) -> list[Metric]:
        return [
            Metric(name=d.name, alias=d.alias, datatype=d.datatype, value=None)
            for d in declarations
        ]

    def _birth_all(self, conn: _Connection) -> None:
        self._rebirth = False
        self._birthed.clear()
        edge = self.mapping.edge
        metrics = self._birth_metrics(edge.metrics if edge else ())
        self._publish(conn, self.session.nbirth(metrics, now_ms()), None)
        for device in self.mapping.devices:
            if device not in self._down:
                self._dbirth(conn, device)

    def _dbirth(self, conn: _Connection, device: str) -> None:
        declared = self.mapping.devices[device]
        message = self.session.dbirth(device, self._birth_metrics(declared.metrics), now_ms())
        self._publish(conn, message, None)
        self._birthed.add(device)

    def _pump(self, conn: _Connection) -> None:
        # Machines that came back are born again; lost ones get their DDEATH once any backlog
        # of theirs in this pass has gone out.
        for device in self.mapping.devices:
            if device not in self._down and device not in self._birthed:
                self._dbirth(conn, device)
        window, batch = self.config.mqtt.window, self.config.mqtt.batch
        room = window - len(conn.in_flight)
        if room > 0:
            rows = self.journal.oldest(room * batch, after_id=self._sent_after)
            for device, group in _runs(rows, batch):
                if room <= 0 or conn.lost.is_set():
                    break
                self._send(conn, device, group)
                self._sent_after = group[-1].id
                room -= 1
        for device in list(self._birthed):
            if device in self._down:
                self._publish(conn, self.session.ddeath(device, now_ms()), None)
                self._birthed.discard(device)

    def _send(self, conn: _Connection, device: str, rows: list[Entry]) -> None:
        now = now_ms()
        historical_ms = int(self.config.mqtt.historical_after_s * 1000)
        metrics: list[Metric] = []
        ids: list[int] = []
        for row in rows:
            ids.append(row.id)
            declared = self.mapping.metric(device, row.metric)
            if declared is None:
                continue  # journaled under a mapping that has changed since: not sendable
            metrics.append(
                Metric(
                    alias=declared.alias,
                    timestamp_ms=row.ts_ms,
                    datatype=declared.datatype,
                    value=_value(declared, row.value),
                    is_historical=now - row.ts_ms > historical_ms,
                )
            )
        if device == self.config.gateway.edge_node:
            message = self.session.ndata(metrics, now)
        else:
            if device not in self.mapping.devices:
                self.journal.delete(ids)
                return
            if device not in self._birthed:
                self._dbirth(conn, device)
            message = self.session.ddata(device, metrics, now)
        self._publish(conn, message, ids)


def _runs(rows: list[Entry], batch: int) -> list[tuple[str, list[Entry]]]:
    """Consecutive rows of one device, at most `batch` a message, in journal order."""
    runs: list[tuple[str, list[Entry]]] = []
    for row in rows:
        if runs and runs[-1][0] == row.device and len(runs[-1][1]) < batch:
            runs[-1][1].append(row)
        else:
            runs.append((row.device, [row]))
    return runs


def _stop_client(client: mqtt.Client) -> None:
    try:
        client.disconnect()
    finally:
        client.loop_stop()


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
