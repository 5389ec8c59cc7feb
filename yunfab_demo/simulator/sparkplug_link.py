"""A simulated Sparkplug B edge node: one MQTT connection carrying the devices behind a gateway.

The codec and the seq/bdSeq bookkeeping are the node's own (`yunfab.sparkplug`),
so the simulator exercises the node with exactly what the node believes Sparkplug to be, and a
disagreement shows up as a failing test rather than two encoders drifting apart.

Per session: the will is the NDEATH of the current bdSeq; after CONNACK the edge node sends NBIRTH,
then each device's DBIRTH (names, aliases, datatypes and current values) once it has a reading,
then DDATA by alias only. A device going offline gets a DDEATH; when it is back it is born again
and its buffered readings follow as historical metrics with their original timestamps. An NCMD
`Node Control/Rebirth` starts the births over, as a host asks after a seq gap.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import paho.mqtt.client as mqtt
import structlog

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
from yunfab_demo.simulator.fleet import EdgeNode
from yunfab_demo.simulator.publisher import Link, Reading, SimDevice, Simulator, Worker

log = structlog.get_logger(__name__)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class SparkplugLink(Link):
    def __init__(
        self, sim: Simulator, worker: Worker, node: EdgeNode, devices: Sequence[SimDevice]
    ) -> None:
        super().__init__(sim, worker, node.key, node.username, node.password, devices)
        self.session = EdgeNodeSession(node.group, node.key)
        self.command_topic = topic_for(node.group, MessageType.NCMD, node.key)
        self.first_connect = True
        self.needs_nbirth = False
        self.birthed: set[str] = set()
        # Aliases are unique across the whole edge node, as Sparkplug asks, starting at 1.
        self.aliases: dict[str, dict[str, tuple[int, DataType]]] = {}
        alias = 0
        for device in self.devices:
            table: dict[str, tuple[int, DataType]] = {}
            for spec in device.profile.metrics:
                alias += 1
                table[spec.name] = (alias, DataType.Int64 if spec.counter else DataType.Double)
            self.aliases[device.spec.key] = table
        self.client.on_message = self._on_message

    # --- session -----------------------------------------------------------------------------

    def before_connect(self) -> None:
        if not self.first_connect:
            self.session.reconnect()  # a new bdSeq, so the host can tell the old will apart
        self.first_connect = False
        topic, payload = self.session.ndeath()
        self.client.will_set(topic, payload, qos=1, retain=False)

    def on_connected(self) -> None:
        self.needs_nbirth = True
        self.birthed.clear()
        self.client.subscribe(self.command_topic, qos=1)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            payload = decode(bytes(message.payload))
        except SparkplugError as exc:
            log.warning("sim.bad_command", edge_node=self.client_id, reason=exc.reason)
            return
        if any(m.name == REBIRTH_METRIC and m.value is True for m in payload.metrics):
            log.info("sim.rebirth_requested", edge_node=self.client_id)
            self.needs_nbirth = True
            self.birthed.clear()
            self.worker.ready.add(self)

    def settled(self) -> bool:
        return not self.needs_nbirth

    def went_offline(self, device: SimDevice) -> None:
        key = device.spec.key
        if self.connected and key in self.birthed and not self.needs_nbirth:
            topic, data = self.session.ddeath(key, _now_ms())
            self.publish(topic, data, 0)
        self.birthed.discard(key)

    def came_online(self, device: SimDevice) -> None:
        self.worker.ready.add(self)

    def close(self) -> None:
        """Sparkplug asks an edge node to publish its NDEATH itself before disconnecting."""
        if self.connected:
            topic, data = self.session.ndeath(_now_ms())
            self.client.publish(topic, data, qos=1)
        self.disconnect()

    # --- publishing --------------------------------------------------------------------------

    def _metrics(self, key: str, reading: Reading, *, birth: bool) -> list[Metric]:
        table = self.aliases[key]
        metrics = []
        for name, value in reading.metrics.items():
            alias, datatype = table[name]
            metrics.append(
                Metric(
                    name=name if birth else None,
                    alias=alias,
                    timestamp_ms=reading.ts_ms,
                    datatype=datatype,
                    value=value if datatype is DataType.Double else int(value),
                    is_historical=reading.buffered and not birth,
                )
            )
        return metrics

    def pump(self, flushing: bool) -> None:
        if not self.has_window:
            return
        if self.needs_nbirth:
            topic, data = self.session.nbirth([], _now_ms())
            self.publish(topic, data, 0)
            self.needs_nbirth = False
        batch = self.sim.batch
        for device in self.devices:
            if device.offline:
                continue
            key = device.spec.key
            outbox = device.outbox
            if key not in self.birthed:
                if not outbox or not self.has_window:
                    continue
                # The birth certificate carries the device's current values: its newest reading.
                newest = outbox.pop()
                topic, data = self.session.dbirth(
                    key, self._metrics(key, newest, birth=True), _now_ms()
                )
                self.publish(topic, data, 1)
                device.published += 1
                self.birthed.add(key)
            while outbox and self.has_window and (flushing or len(outbox) >= batch):
                take = min(batch, len(outbox))
                metrics: list[Metric] = []
                for _ in range(take):
                    metrics.extend(self._metrics(key, outbox.popleft(), birth=False))
                topic, data = self.session.ddata(key, metrics, _now_ms())
                self.publish(topic, data, take)
                device.published += take
