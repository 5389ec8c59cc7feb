"""The node's Sparkplug STATE with several ingest consumers (issue #22): one consumer at a time
announces it, so stopping another leaves the node online at the broker, and when the announcing
one stops, another takes over and says online again. Real `yunfab node ingest` processes on
Mosquitto and NATS."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.support import eventually, forget_nats, skip_or_fail
from tests.test_event_bus import NATS_URL, nats_up
from tests.test_ingest_process import Consumer
from tests.test_mqtt_ingest import BROKER
from yunfab.shared_state import NatsStates

pytestmark = pytest.mark.slow
LEASE_TTL_S = 10.0


@pytest.fixture
def backend() -> str:
    return "postgresql"


def retained(topic: str, timeout_s: float = 10.0) -> dict[str, Any] | None:
    """The retained message of `topic` as a new subscriber gets it (None: there is none)."""
    got: list[bytes] = []
    arrived = threading.Event()
    client = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=f"probe-{uuid.uuid4().hex[:8]}", protocol=paho.MQTTv5
    )

    def on_connect(c: paho.Client, u: Any, f: Any, reason: Any, p: Any) -> None:
        c.subscribe(topic, qos=1)

    def on_message(c: paho.Client, u: Any, message: paho.MQTTMessage) -> None:
        if message.topic == topic and message.retain:
            got.append(bytes(message.payload))
            arrived.set()

    client.on_connect = on_connect
    client.on_message = on_message
    client.connect(*BROKER)
    client.loop_start()
    try:
        arrived.wait(timeout_s)
    finally:
        client.disconnect()
        client.loop_stop()
    return json.loads(got[0]) if got and got[0] else None


@pytest.fixture
async def node_name() -> AsyncIterator[str]:
    if not nats_up():
        skip_or_fail("NATS is not reachable at 127.0.0.1:4222")
    name = f"zj-{uuid.uuid4().hex[:8]}"
    yield name
    cleaner = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    cleaner.connect(*BROKER)
    cleaner.loop_start()
    cleaner.publish(f"spBv1.0/STATE/{name}", b"", qos=1, retain=True).wait_for_publish(5)
    cleaner.disconnect()
    cleaner.loop_stop()
    await forget_nats(f"node-{name}")


async def test_one_consumer_stopping_does_not_take_the_node_offline(
    node_name: str, node_db_url: str, tmp_path: Path
) -> None:
    group = f"ingest-{uuid.uuid4().hex[:8]}"
    topic = f"spBv1.0/STATE/{node_name}"

    def consumer(label: str) -> Consumer:
        return Consumer(
            label,
            {
                "YUNFAB_NODE_ENV": "development",
                "YUNFAB_NODE_NAME": node_name,
                "YUNFAB_NODE_REGION": "CN-ZJ",
                "YUNFAB_NODE_INDUSTRY": "textile",
                "YUNFAB_NODE_DATABASE_URL": node_db_url,
                "YUNFAB_NODE_DATA_DIR": str(tmp_path / label),
                "YUNFAB_NODE_MQTT_URL": f"mqtt://{BROKER[0]}:{BROKER[1]}",
                "YUNFAB_NODE_MQTT_SHARED_GROUP": group,
                "YUNFAB_NODE_MQTT_CLIENT_ID": f"{group}-{label}",
                "YUNFAB_NODE_MQTT_SESSION_EXPIRY_S": "60",
                "YUNFAB_NODE_NATS_URL": NATS_URL,
                "YUNFAB_NODE_LEASE_TTL_S": str(LEASE_TTL_S),
                "YUNFAB_NODE_LOG_FORMAT": "json",
            },
            tmp_path,
        )

    states = await NatsStates.connect(NATS_URL, scope=f"node-{node_name}")
    running = {label: consumer(label) for label in ("a", "b")}
    try:
        for each in running.values():
            await asyncio.to_thread(each.start)
        leases = await states.bucket("task_leases", ttl_s=LEASE_TTL_S, max_keys=1000)

        async def holder() -> str | None:
            entry = await leases.get("sparkplug-host")
            if entry is None:
                return None
            pid = int(entry.value.decode().split(":")[1])
            return next(
                (
                    label
                    for label, c in running.items()
                    if c.process is not None and c.process.pid == pid
                ),
                None,
            )

        async def announced_by_one() -> bool:
            state = await asyncio.to_thread(retained, topic, 2.0)
            return await holder() is not None and state is not None and state["online"] is True

        await eventually(announced_by_one, timeout_s=60, every_s=0.5)
        announcer = await holder()
        assert announcer is not None
        other = "b" if announcer == "a" else "a"

        # The other consumer stops: the node is still online for its edge nodes.
        assert await asyncio.to_thread(running[other].stop) == 0
        state = await asyncio.to_thread(retained, topic)
        assert state is not None
        assert state["online"] is True
        assert await holder() == announcer

        # It comes back as c; the announcer stops: c takes over and says online again.
        running["c"] = consumer("c")
        await asyncio.to_thread(running["c"].start)
        offline_from = state["timestamp"]
        assert await asyncio.to_thread(running[announcer].stop) == 0

        async def c_announces() -> bool:
            now = await asyncio.to_thread(retained, topic, 2.0)
            return (
                await holder() == "c"
                and now is not None
                and now["online"] is True
                and now["timestamp"] > offline_from
            )

        await eventually(c_announces, timeout_s=60, every_s=0.5)
    finally:
        for each in running.values():
            await asyncio.to_thread(each.stop)
        await states.close()
