"""The node's Sparkplug host application STATE when several ingest consumers share the stream.

Edge nodes follow their primary host's retained STATE (`spBv1.0/STATE/<host id>`, the node's
name): offline, they stop publishing. Every consumer announcing it would let one consumer that
stops (a rolling update, a scale-down) declare the whole node offline while the others run.
So one ingest process at a time announces it, the holder of the `sparkplug-host` lease: its own
MQTT connection says online when it connects, and carries the offline message as its will (the
broker publishes it if the holder dies; another process takes the lease over when it lapses
and says online again). A holder that stops says offline itself before it gives the lease back,
and one that lost its lease goes without a word (another may already have said online).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import paho.mqtt.client as paho
import structlog
from paho.mqtt.enums import CallbackAPIVersion

from regional_node.telemetry.mqtt import MqttOptions
from yunfab import sparkplug

log = structlog.get_logger(__name__)

LEASE = "sparkplug-host"
"""The lease (a singleton task's name in the node's shared state) of the announcing process."""


class HostState:
    def __init__(self, options: MqttOptions) -> None:
        self.options = options
        self.topic = sparkplug.state_topic(options.host_id)
        self._client: paho.Client | None = None
        self._connected = False

    def _make_client(self) -> paho.Client:
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{self.options.client_id}-host",
            protocol=paho.MQTTv5,
        )
        if self.options.username is not None:
            client.username_pw_set(self.options.username, self.options.password)
        if self.options.tls is not None:
            client.tls_set_context(self.options.tls)
        client.will_set(
            self.topic, sparkplug.state_payload(False, int(time.time() * 1000)), 1, True
        )
        client.reconnect_delay_set(min_delay=1, max_delay=30)

        def on_connect(c: paho.Client, u: Any, f: Any, reason: Any, p: Any) -> None:
            if reason.is_failure:
                log.warning("sparkplug_host_refused", reason=str(reason))
                return
            self._connected = True
            c.publish(self.topic, sparkplug.state_payload(True, int(time.time() * 1000)), 1, True)
            log.info("sparkplug_host_online", host_id=self.options.host_id)

        def on_disconnect(c: paho.Client, u: Any, f: Any, reason: Any, p: Any) -> None:
            self._connected = False

        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        return client

    async def announce(self) -> None:
        """Say online while this runs (the lease holder's task); leave quietly when cancelled."""
        client = self._make_client()
        self._client = client
        client.connect_async(self.options.host, self.options.port, keepalive=15)
        client.loop_start()
        try:
            await asyncio.Event().wait()
        finally:
            self._client = None
            # A clean DISCONNECT: the broker drops the will, nothing is said.
            client.disconnect()
            await asyncio.to_thread(client.loop_stop)

    async def say_offline(self) -> None:
        """Before the process gives the lease back at shutdown: the node's STATE is offline
        until another consumer takes the lease over."""
        client = self._client
        if client is None or not self._connected:
            return
        info = client.publish(
            self.topic, sparkplug.state_payload(False, int(time.time() * 1000)), 1, True
        )
        await asyncio.to_thread(info.wait_for_publish, 2.0)
