"""The node's MQTT consumer: plain JSON and Sparkplug B from the broker into the pipeline.

Delivery guarantees come from the broker and the order of operations here:
- MQTT 5 with a persistent session (clean start off, a long session expiry) and QoS 1
  subscriptions: while the node is down the broker keeps its messages.
- Manual acknowledgement: a message is acknowledged only after the batch holding it committed
  (readings and dead letters alike). A crash before that means redelivery, and the telemetry
  primary key drops what was already stored.
- A bounded receive window (MQTT 5 Receive Maximum) caps how many unacknowledged messages the
  broker pushes at once, so a slow database slows the broker down instead of filling memory.

paho runs its network loop in its own thread; messages cross into asyncio through a deque, and
the event loop is woken only when the consumer waits for them (not once per message).
"""

from __future__ import annotations

import asyncio
import collections
import functools
import math
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import paho.mqtt.client as paho
import structlog
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from regional_node.devices.models import Connection
from regional_node.devices.registry import DeviceRegistry
from regional_node.telemetry.codec import (
    TELEMETRY_PREFIX,
    Decoded,
    device_key_from_topic,
)
from regional_node.telemetry.metrics import IngestMetrics
from regional_node.telemetry.pipeline import (
    ConnectionChange,
    Envelope,
    IngestPipeline,
    Prepared,
)
from regional_node.telemetry.store import BirthChange
from yunfab import sparkplug

log = structlog.get_logger(__name__)

T = TypeVar("T")

JSON_TOPIC = TELEMETRY_PREFIX + "+"
SPARKPLUG_TOPIC = "spBv1.0/#"
PACKET_SLACK = 64 * 1024


@dataclass(frozen=True)
class MqttOptions:
    host: str
    port: int
    client_id: str
    host_id: str
    """This node's Sparkplug host application id (its STATE topic)."""
    username: str | None = None
    password: str | None = None
    tls: ssl.SSLContext | None = None
    receive_maximum: int = 2000
    session_expiry_s: int = 7 * 24 * 3600
    max_batch_messages: int = 1000
    max_batch_readings: int = 20_000
    linger_s: float = 0.02
    shared_group: str | None = None
    """Subscribe through `$share/<group>/...` so several consumers split the stream."""
    max_message_bytes: int | None = None
    """The largest packet devices may publish; the broker is asked (MQTT 5 Maximum Packet Size)
    not to deliver this client anything much larger, whatever it accepted from devices."""
    announce_state: bool = True
    """Whether this consumer announces the node's Sparkplug STATE (online at connect, offline
    as its will and when it stops). Off where several consumers share the stream: one of them
    at a time announces it (`HostState`), so one stopping does not say the node is offline."""


@dataclass
class _Inbound:
    topic: str
    payload: bytes
    mid: int
    qos: int
    received_ms: int


@dataclass
class ConsumerStatus:
    connected: bool = False
    last_error: str | None = None
    batches: int = 0
    messages: int = 0


class MqttIngest:
    def __init__(
        self,
        options: MqttOptions,
        *,
        pipeline: IngestPipeline,
        registry: DeviceRegistry,
        metrics: IngestMetrics,
    ) -> None:
        self.options = options
        self.pipeline = pipeline
        self.registry = registry
        self.metrics = metrics
        self.status = ConsumerStatus()
        self.sparkplug = sparkplug.SparkplugHost()
        self._inbox: collections.deque[_Inbound] = collections.deque()
        self._arrived = asyncio.Event()
        self._waiting = False
        """Set by the consumer before it waits on `_arrived`: paho's thread then wakes it."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._rebirth_sent: dict[tuple[str, str], float] = {}
        self._client = self._make_client()

    def _make_client(self) -> paho.Client:
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.options.client_id,
            protocol=paho.MQTTv5,
            manual_ack=True,
        )
        if self.options.username is not None:
            client.username_pw_set(self.options.username, self.options.password)
        if self.options.tls is not None:
            client.tls_set_context(self.options.tls)
        if self.options.announce_state:
            client.will_set(
                sparkplug.state_topic(self.options.host_id),
                sparkplug.state_payload(False, int(time.time() * 1000)),
                qos=1,
                retain=True,
            )
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        # The births accepted before a restart: what queued Sparkplug data refers to by alias.
        now_ms = int(time.time() * 1000)
        for topic, payload in await self.pipeline.store.births():
            try:
                self.sparkplug.handle(topic, payload, now_ms)
            except sparkplug.SparkplugError:
                log.warning("sparkplug_birth_not_replayed", topic=topic)
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self.options.session_expiry_s
        properties.ReceiveMaximum = self.options.receive_maximum
        if self.options.max_message_bytes is not None:
            # Room for what the broker adds on the way out (subscription ids, user properties):
            # a message the broker took from a device is not dropped on its way here.
            properties.MaximumPacketSize = self.options.max_message_bytes + PACKET_SLACK
        self._client.connect_async(
            self.options.host,
            self.options.port,
            keepalive=30,
            clean_start=False,
            properties=properties,
        )
        self._client.loop_start()
        self._task = asyncio.create_task(self._consume(), name="mqtt-ingest")

    async def stop(self) -> None:
        """Stop taking messages; what was received and not committed is redelivered later."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self.status.connected and self.options.announce_state:
            info = self._client.publish(
                sparkplug.state_topic(self.options.host_id),
                sparkplug.state_payload(False, int(time.time() * 1000)),
                qos=1,
                retain=True,
            )
            await asyncio.to_thread(info.wait_for_publish, 2.0)
        self._client.disconnect()
        self._client.loop_stop()
        self.metrics.mqtt_connected.set(0)

    # paho's thread -------------------------------------------------------------------------

    def _topics(self) -> list[str]:
        topics = [JSON_TOPIC, SPARKPLUG_TOPIC]
        group = self.options.shared_group
        return [f"$share/{group}/{topic}" for topic in topics] if group else topics

    def _on_connect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: Any,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            self.status.connected = False
            self.status.last_error = f"broker refused the connection: {reason}"
            log.warning("mqtt_connect_refused", reason=str(reason))
            return
        self.status.connected = True
        self.status.last_error = None
        self.metrics.mqtt_connected.set(1)
        client.subscribe([(topic, 1) for topic in self._topics()])
        if self.options.announce_state:
            client.publish(
                sparkplug.state_topic(self.options.host_id),
                sparkplug.state_payload(True, int(time.time() * 1000)),
                qos=1,
                retain=True,
            )
        log.info("mqtt_connected", broker=f"{self.options.host}:{self.options.port}")

    def _on_disconnect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: Any,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self.status.connected = False
        self.metrics.mqtt_connected.set(0)
        if reason.is_failure:
            self.status.last_error = f"disconnected: {reason}"
            log.warning("mqtt_disconnected", reason=str(reason))

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        inbound = _Inbound(
            topic=message.topic,
            payload=bytes(message.payload),
            mid=message.mid,
            qos=message.qos,
            received_ms=int(time.time() * 1000),
        )
        self._inbox.append(inbound)
        if self._waiting:
            self._waiting = False
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self._arrived.set)

    # asyncio side ---------------------------------------------------------------------------

    async def _wait_inbox(self, within: float | None = None) -> bool:
        """Until a message is in the inbox (True) or `within` seconds passed (False)."""
        if self._inbox:
            return True
        self._arrived.clear()
        self._waiting = True
        # paho's thread appends, then looks at `_waiting`: a message it appended before the flag
        # was set is seen here, one after it wakes this wait.
        if self._inbox:
            self._waiting = False
            return True
        try:
            await asyncio.wait_for(self._arrived.wait(), within)
        except TimeoutError:
            pass
        finally:
            self._waiting = False
        return bool(self._inbox)

    async def _next_batch(self) -> list[_Inbound]:
        while not await self._wait_inbox():
            pass
        items: list[_Inbound] = []
        size = 0
        deadline = time.monotonic() + self.options.linger_s
        # Roughly 40 bytes a reading in JSON: stop well before the batch gets unwieldy.
        budget = self.options.max_batch_readings * 40
        inbox = self._inbox
        while True:
            while inbox and len(items) < self.options.max_batch_messages and size < budget:
                item = inbox.popleft()
                items.append(item)
                size += len(item.payload)
            if len(items) >= self.options.max_batch_messages or size >= budget:
                return items
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not await self._wait_inbox(remaining):
                return items

    async def _consume(self) -> None:
        """Two stages: decide batch N+1 (CPU) while batch N commits (database)."""
        ready: asyncio.Queue[tuple[list[_Inbound], Prepared]] = asyncio.Queue(maxsize=1)
        committer = asyncio.create_task(self._commit(ready), name="mqtt-ingest-commit")
        try:
            while True:
                items = await self._next_batch()
                envelopes, connections = await self._envelopes(items)
                prepared = await self._retrying(
                    "preparing",
                    functools.partial(self.pipeline.prepare, envelopes, connections=connections),
                )
                await ready.put((items, prepared))
        finally:
            committer.cancel()
            await asyncio.gather(committer, return_exceptions=True)

    async def _commit(self, ready: asyncio.Queue[tuple[list[_Inbound], Prepared]]) -> None:
        while True:
            items, prepared = await ready.get()
            await self._retrying("storing", functools.partial(self.pipeline.commit, prepared))
            # Only now: the broker may forget these messages.
            for item in items:
                if item.qos > 0:
                    self._client.ack(item.mid, item.qos)
            self.status.batches += 1
            self.status.messages += len(items)

    async def _retrying(self, what: str, step: Callable[[], Awaitable[T]]) -> T:
        """Not acknowledged while this fails: the broker keeps the messages. Retry the step."""
        delay = 0.5
        while True:
            try:
                return await step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.status.last_error = f"{what} a batch failed: {exc}"
                log.exception("ingest_batch_failed", step=what)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _envelopes(
        self, items: list[_Inbound]
    ) -> tuple[list[Envelope], list[ConnectionChange]]:
        envelopes: list[Envelope] = []
        connections: list[ConnectionChange] = []
        for item in items:
            if item.topic.startswith(TELEMETRY_PREFIX):
                envelopes.append(
                    Envelope(
                        source="mqtt",
                        payload=item.payload,
                        device_key=device_key_from_topic(item.topic),
                        topic=item.topic,
                    )
                )
            elif item.topic.startswith("spBv1.0/"):
                envelopes.extend(self._sparkplug(item, connections))
        return envelopes, connections

    def _sparkplug(self, item: _Inbound, connections: list[ConnectionChange]) -> list[Envelope]:
        try:
            events = self.sparkplug.handle(item.topic, item.payload, item.received_ms)
        except sparkplug.SparkplugError as exc:
            edge = _edge_from_topic(item.topic)
            return [
                Envelope(
                    source="mqtt",
                    payload=item.payload,
                    device_key=edge,
                    topic=item.topic,
                    refusal=("malformed_sparkplug", str(exc)),
                )
            ]
        envelopes: list[Envelope] = []
        for event in events:
            if isinstance(event, sparkplug.Readings):
                envelopes.append(self._readings_envelope(item, event))
            elif isinstance(event, sparkplug.EdgeOnline | sparkplug.EdgeOffline):
                online = isinstance(event, sparkplug.EdgeOnline)
                birth = BirthChange(
                    event.group_id,
                    event.edge_node_id,
                    "",
                    item.topic,
                    item.payload if online else None,
                )
                connections.append(
                    ConnectionChange(
                        event.edge_node_id,
                        event.group_id,
                        event.edge_node_id,
                        _state(event),
                        birth,
                    )
                )
            elif isinstance(event, sparkplug.DeviceOnline | sparkplug.DeviceOffline):
                online = isinstance(event, sparkplug.DeviceOnline)
                birth = BirthChange(
                    event.group_id,
                    event.edge_node_id,
                    event.device_id,
                    item.topic,
                    item.payload if online else None,
                )
                connections.append(
                    ConnectionChange(
                        event.device_id,
                        event.group_id,
                        event.edge_node_id,
                        _state(event),
                        birth,
                    )
                )
            elif isinstance(event, sparkplug.RebirthNeeded | sparkplug.SequenceGap):
                self._request_rebirth(event.group_id, event.edge_node_id, event)
                if isinstance(event, sparkplug.RebirthNeeded):
                    envelopes.append(
                        Envelope(
                            source="mqtt",
                            payload=item.payload,
                            device_key=event.edge_node_id,
                            topic=item.topic,
                            refusal=("sparkplug_unresolved", event.reason),
                        )
                    )
        return envelopes

    def _readings_envelope(self, item: _Inbound, event: sparkplug.Readings) -> Envelope:
        key = event.device_id or event.edge_node_id
        decoded = Decoded()
        for reading in event.readings:
            value = reading.value
            if value is None:
                continue
            if isinstance(value, bool):
                value = 1.0 if value else 0.0
            if not isinstance(value, int | float) or not math.isfinite(value):
                decoded.problems.append(("bad_value", f"{reading.metric!r} is not a number"))
                continue
            decoded.readings.append((reading.metric, reading.timestamp_ms, float(value)))
        return Envelope(
            source="mqtt",
            payload=item.payload,
            device_key=key,
            topic=item.topic,
            decoded=decoded,
            sparkplug=(event.group_id, event.edge_node_id),
        )

    def _request_rebirth(self, group: str, edge: str, why: object) -> None:
        now = time.monotonic()
        if now - self._rebirth_sent.get((group, edge), -1e9) < 5.0:
            return
        self._rebirth_sent[(group, edge)] = now
        topic, payload = sparkplug.rebirth_command(group, edge, int(time.time() * 1000))
        self._client.publish(topic, payload, qos=0)
        self.metrics.sparkplug_rebirths.inc()
        log.info("sparkplug_rebirth_requested", group=group, edge_node=edge, why=str(why))


def _state(event: object) -> Connection:
    online = isinstance(event, sparkplug.EdgeOnline | sparkplug.DeviceOnline)
    return Connection.ONLINE if online else Connection.OFFLINE


def _edge_from_topic(topic: str) -> str | None:
    parts = topic.split("/")
    return parts[3] if len(parts) >= 4 else None
