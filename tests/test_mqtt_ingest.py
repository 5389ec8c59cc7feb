"""MQTT ingest against real Mosquitto: plain JSON and Sparkplug B, live pushes, a node restart
mid-stream, dead letters, and a broker that enforces device credentials (dynamic security)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from regional_node.app import create_app as create_node_app
from regional_node.settings import NodeSettings
from tests.conftest import HubFactory
from tests.nodes import MOVE, active_factory, operator_headers, provision
from tests.support import (
    InProcessService,
    create_client,
    eventually,
    graphql,
    served,
    skip_or_fail,
    subscribed,
)
from yunfab import sparkplug
from yunfab.processes import free_port
from yunfab_demo.mosquitto import (
    ManagedBrokerConfig,
    MosquittoError,
    start_broker,
    stop_broker,
)

pytestmark = pytest.mark.slow

BROKER = ("127.0.0.1", 1883)
RAW = """
query($id: UUID!, $metric: String!, $start: DateTime!, $end: DateTime!) {
  telemetry(deviceId: $id, metric: $metric, start: $start, end: $end, limit: 10000) {
    points { at value }
  }
}
"""
DEAD = """
query { deadLetters(first: 100) { edges { node { reason deviceKey detail topic } } } }
"""
CONNECTION = "query($id: UUID!) { device(id: $id) { connection status } }"


def broker_up(host: str, port: int) -> bool:
    import socket

    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def _mosquitto() -> None:
    if not broker_up(*BROKER):
        skip_or_fail(f"Mosquitto is not reachable at {BROKER[0]}:{BROKER[1]}")


@dataclass
class Node:
    url: str
    client: httpx.AsyncClient
    headers: dict[str, str]

    async def graphql(self, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
        return await graphql(self.client, query, variables, headers=self.headers, **kw)


class NodeRunner:
    """Starts (and restarts) one node served over real HTTP, on a fixed port and database."""

    def __init__(self, hub: InProcessService, db_url: str, data_dir: Path, **overrides: Any):
        self.hub = hub
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.client_ids: tuple[str, str | None] | None = None
        self.values: dict[str, Any] = {
            "name": "zj-textile",
            "region": "CN-ZJ",
            "industry": "textile",
            "database_url": db_url,
            "data_dir": data_dir,
            "hub_url": "http://hub.test",
            "public_url": self.url,
            "hub_retry_initial_s": 0.05,
            "hub_retry_max_s": 0.2,
            "mqtt_url": f"mqtt://{BROKER[0]}:{BROKER[1]}",
            "mqtt_client_id": f"yunfab-test-{uuid.uuid4().hex[:10]}",
            "mqtt_session_expiry_s": 300,
            **overrides,
        }

    @asynccontextmanager
    async def run(self) -> AsyncIterator[Node]:
        if self.client_ids is None:
            self.client_ids = await create_client(
                self.hub,
                org="zj-textile operator",
                org_kind="node_operator",
                scopes=["nodes:register"],
                kind="node",
                node="zj-textile",
                region="CN-ZJ",
            )
        client_id, secret = self.client_ids
        settings = NodeSettings(**self.values, client_id=client_id, client_secret=secret)
        app = create_node_app(settings, hub_transport=self.hub.transport)
        async with served(app, self.port) as url, httpx.AsyncClient(base_url=url) as client:
            headers = await operator_headers(self.hub, url)
            node = Node(url=url, client=client, headers=headers)

            async def subscribed_to_broker() -> bool:
                ready = (await client.get("/readyz")).json()
                return bool(ready["checks"]["mqtt"]["connected"])

            await eventually(subscribed_to_broker, timeout_s=15)
            yield node


class Publisher:
    """A device (or edge node) on the broker: MQTT 5, QoS 1, waits for every PUBACK."""

    def __init__(
        self,
        client_id: str,
        *,
        host: str = BROKER[0],
        port: int = BROKER[1],
        username: str | None = None,
        password: str | None = None,
        will: tuple[str, bytes] | None = None,
    ) -> None:
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        if will is not None:
            self.client.will_set(will[0], will[1], qos=1)
        self.connected = threading.Event()
        self.refused: str | None = None
        self.disconnected = threading.Event()

        def on_connect(client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
            if reason.is_failure:
                self.refused = str(reason)
                self.disconnected.set()
            else:
                self.connected.set()

        def on_disconnect(client: Any, userdata: Any, flags: Any, reason: Any, p: Any) -> None:
            self.disconnected.set()

        self.acks: dict[int, Any] = {}

        def on_publish(client: Any, userdata: Any, mid: int, reason: Any, props: Any) -> None:
            self.acks[mid] = reason

        self.client.on_connect = on_connect
        self.client.on_disconnect = on_disconnect
        self.client.on_publish = on_publish
        self.client.connect(host, port)
        self.client.loop_start()

    def wait_connected(self) -> None:
        assert self.connected.wait(10), f"not connected: {self.refused}"

    def publish(self, topic: str, payload: bytes, *, timeout_s: float = 10) -> Any:
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout_s)
        return info

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


async def gateway_with_machine(node: Node) -> tuple[dict[str, Any], ...]:
    """An active factory, a Sparkplug edge node and one moulding machine behind it."""
    factory = await active_factory(node.client, node.headers)
    edge = await provision(node.client, node.headers, factory["id"], kind="EDGE_NODE", metrics=[])
    device = await provision(node.client, node.headers, factory["id"], edgeNodeKey=edge["username"])
    return factory, edge, device


def readings_message(start_ms: int, count: int, base: float = 800.0) -> bytes:
    return json.dumps(
        {
            "readings": [
                {"ts": start_ms + i, "metrics": {"clamp_force_kn": base + i % 100}}
                for i in range(count)
            ]
        }
    ).encode()


async def stored(node: Node, device_id: str, metric: str = "clamp_force_kn") -> list[Any]:
    data = await node.graphql(
        RAW,
        {
            "id": device_id,
            "metric": metric,
            "start": "2020-01-01T00:00:00Z",
            "end": "2100-01-01T00:00:00Z",
        },
    )
    return list(data["telemetry"]["points"])


async def test_a_published_reading_is_stored_and_pushed_live(
    hub_factory: HubFactory, node_db_url: str, tmp_path: Path
) -> None:
    async with hub_factory() as hub:
        runner = NodeRunner(hub, node_db_url, tmp_path / "node")
        async with runner.run() as node:
            factory = await active_factory(node.client, node.headers)
            device = await provision(node.client, node.headers, factory["id"])
            device_id = device["device"]["id"]
            await node.graphql(
                "mutation($input: AlertRuleInput!) { createAlertRule(input: $input) { id } }",
                {
                    "input": {
                        "name": "Clamp force high",
                        "kind": "THRESHOLD",
                        "metric": "clamp_force_kn",
                        "deviceId": device_id,
                        "above": 1500,
                    }
                },
            )
            token = node.headers["authorization"].removeprefix("Bearer ")
            live = f'subscription {{ deviceTelemetry(deviceId: "{device_id}") {{ deviceKey readings {{ metric value }} }} }}'  # noqa: E501
            alerts = f'subscription {{ factoryAlerts(factoryId: "{factory["id"]}") {{ status value message }} }}'  # noqa: E501
            async with (
                subscribed(node.url, live, token) as telemetry_ws,
                subscribed(node.url, alerts, token) as alert_ws,
            ):
                await asyncio.sleep(0.3)  # both subscriptions registered
                publisher = Publisher(f"dev-{uuid.uuid4().hex[:8]}")
                publisher.wait_connected()
                sent_at = time.monotonic()
                publisher.publish(
                    device["device"]["telemetryTopic"],
                    json.dumps(
                        {"ts": int(time.time() * 1000), "metrics": {"clamp_force_kn": 1600.5}}
                    ).encode(),
                )
                pushed = json.loads(await asyncio.wait_for(telemetry_ws.recv(), 5))
                latency = time.monotonic() - sent_at
                update = pushed["payload"]["data"]["deviceTelemetry"]
                assert update["deviceKey"] == device["username"]
                assert update["readings"] == [{"metric": "clamp_force_kn", "value": 1600.5}]
                assert latency < 1.0, f"pushed after {latency:.2f}s"
                opened = json.loads(await asyncio.wait_for(alert_ws.recv(), 5))
                alert = opened["payload"]["data"]["factoryAlerts"]
                assert (alert["status"], alert["value"]) == ("OPEN", 1600.5)
                publisher.close()
            points = await stored(node, device_id)
            assert [p["value"] for p in points] == [1600.5]


async def test_a_subscription_with_since_first_reads_back_what_was_accepted_before_it_opened(
    hub_factory: HubFactory, node_db_url: str, tmp_path: Path
) -> None:
    """A chart opened just before a device reports subscribes with `since`: the reading accepted
    while the subscription was connecting comes first, then live ones, none twice."""
    async with hub_factory() as hub:
        runner = NodeRunner(hub, node_db_url, tmp_path / "node")
        async with runner.run() as node:
            factory = await active_factory(node.client, node.headers)
            device = await provision(node.client, node.headers, factory["id"])
            device_id = device["device"]["id"]
            topic = device["device"]["telemetryTopic"]
            opened_ms = int(time.time() * 1000)
            publisher = Publisher(f"dev-{uuid.uuid4().hex[:8]}")
            publisher.wait_connected()
            publisher.publish(
                topic,
                json.dumps({"ts": opened_ms + 1, "metrics": {"clamp_force_kn": 7.5}}).encode(),
            )
            for _ in range(100):  # stored before anyone subscribes
                if await stored(node, device_id):
                    break
                await asyncio.sleep(0.1)
            since = dt.datetime.fromtimestamp(opened_ms / 1000, tz=dt.UTC).isoformat()
            live = (
                f'subscription {{ deviceTelemetry(deviceId: "{device_id}", since: "{since}") '
                "{ readings { metric value } } }"
            )
            token = node.headers["authorization"].removeprefix("Bearer ")
            async with subscribed(node.url, live, token) as ws:
                first = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert first["payload"]["data"]["deviceTelemetry"]["readings"] == [
                    {"metric": "clamp_force_kn", "value": 7.5}
                ]
                publisher.publish(
                    topic,
                    json.dumps({"ts": opened_ms + 2, "metrics": {"clamp_force_kn": 8.25}}).encode(),
                )
                second = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert second["payload"]["data"]["deviceTelemetry"]["readings"] == [
                    {"metric": "clamp_force_kn", "value": 8.25}
                ]
            publisher.close()


async def test_readings_published_while_the_node_is_down_are_ingested_when_it_returns(
    hub_factory: HubFactory, node_db_url: str, tmp_path: Path
) -> None:
    async with hub_factory() as hub:
        runner = NodeRunner(hub, node_db_url, tmp_path / "node")
        async with runner.run() as node:
            factory = await active_factory(node.client, node.headers)
            device = await provision(node.client, node.headers, factory["id"])
        topic, device_id = device["device"]["telemetryTopic"], device["device"]["id"]

        publisher = Publisher(f"dev-{uuid.uuid4().hex[:8]}")
        publisher.wait_connected()
        start = int(time.time() * 1000) - 60_000
        messages, per_message = 40, 50
        done = threading.Event()

        def publish_all() -> None:
            for m in range(messages):
                publisher.publish(topic, readings_message(start + m * per_message, per_message))
                time.sleep(0.02)
            done.set()

        thread = threading.Thread(target=publish_all)
        # The node is down while the device publishes half the stream...
        thread.start()
        await asyncio.sleep(0.3)
        async with runner.run() as node:
            # ...and comes back mid-stream: then it is stopped and started once more.
            await asyncio.sleep(0.2)
        async with runner.run() as node:
            await asyncio.to_thread(done.wait, 30)
            thread.join()
            publisher.close()

            async def all_stored() -> bool:
                return len(await stored(node, device_id)) == messages * per_message

            await eventually(all_stored, timeout_s=30)
            points = await stored(node, device_id)
            expected_values = [800.0 + i % 100 for m in range(messages) for i in range(per_message)]
            assert [p["value"] for p in points] == expected_values


async def test_sparkplug_births_and_deaths_drive_device_state(
    hub_factory: HubFactory, node_db_url: str, tmp_path: Path
) -> None:
    async with hub_factory() as hub:
        runner = NodeRunner(hub, node_db_url, tmp_path / "node")
        async with runner.run() as node:
            factory, edge, device = await gateway_with_machine(node)
            group, edge_key, device_key = factory["slug"], edge["username"], device["username"]
            session = sparkplug.EdgeNodeSession(group, edge_key)
            publisher = Publisher(f"edge-{uuid.uuid4().hex[:8]}", will=session.ndeath())
            publisher.wait_connected()
            now = int(time.time() * 1000)
            clamp = sparkplug.Metric(
                name="clamp_force_kn", alias=1, datatype=sparkplug.DataType.Double, value=800.0
            )
            publisher.publish(*session.nbirth([], now))
            publisher.publish(*session.dbirth(device_key, [clamp], now))

            async def connection(key_id: str, state: str) -> bool:
                data = await node.graphql(CONNECTION, {"id": key_id})
                return bool(data["device"]["connection"] == state)

            await eventually(lambda: connection(device["device"]["id"], "ONLINE"))
            await eventually(lambda: connection(edge["device"]["id"], "ONLINE"))
            for i in range(5):
                by_alias = sparkplug.Metric(
                    alias=1,
                    timestamp_ms=now + 100 * (i + 1),
                    datatype=sparkplug.DataType.Double,
                    value=801.0 + i,
                )
                publisher.publish(*session.ddata(device_key, [by_alias], now + 100 * (i + 1)))

            async def six_readings() -> bool:
                return len(await stored(node, device["device"]["id"])) == 6

            await eventually(six_readings)
            values = [p["value"] for p in await stored(node, device["device"]["id"])]
            assert values == [800.0, 801.0, 802.0, 803.0, 804.0, 805.0]

            publisher.publish(*session.ddeath(device_key, now + 1000))
            await eventually(lambda: connection(device["device"]["id"], "OFFLINE"))
            # The edge node's connection drops without a goodbye: the broker sends its will.
            publisher.client._sock.close()  # type: ignore[union-attr]
            publisher.client.loop_stop()
            await eventually(lambda: connection(edge["device"]["id"], "OFFLINE"), timeout_s=90)


async def test_sparkplug_data_queued_while_the_node_was_down_is_resolved_by_kept_births(
    hub_factory: HubFactory, node_db_url: str, tmp_path: Path
) -> None:
    async with hub_factory() as hub:
        runner = NodeRunner(hub, node_db_url, tmp_path / "node")
        async with runner.run() as node:
            factory, edge, device = await gateway_with_machine(node)
            session = sparkplug.EdgeNodeSession(factory["slug"], edge["username"])
            publisher = Publisher(f"edge-{uuid.uuid4().hex[:8]}", will=session.ndeath())
            publisher.wait_connected()
            now = int(time.time() * 1000)
            clamp = sparkplug.Metric(
                name="clamp_force_kn", alias=7, datatype=sparkplug.DataType.Double, value=800.0
            )
            publisher.publish(*session.nbirth([], now))
            publisher.publish(*session.dbirth(device["username"], [clamp], now))

            async def born() -> bool:
                return len(await stored(node, device["device"]["id"])) == 1

            await eventually(born)
        # The node is down; the gateway goes on, naming the metric by its alias only.
        for i in range(5):
            by_alias = sparkplug.Metric(
                alias=7, timestamp_ms=now + 100 * (i + 1), datatype=sparkplug.DataType.Double,
                value=810.0 + i,
            )  # fmt: skip
            publisher.publish(*session.ddata(device["username"], [by_alias], now + 100 * (i + 1)))
        async with runner.run() as node:

            async def all_six() -> bool:
                return len(await stored(node, device["device"]["id"])) == 6

            await eventually(all_six)
            values = [p["value"] for p in await stored(node, device["device"]["id"])]
            assert values == [800.0, 810.0, 811.0, 812.0, 813.0, 814.0]
        publisher.close()


async def test_bad_messages_land_in_dead_letters_with_their_reasons(
    hub_factory: HubFactory, node_db_url: str, tmp_path: Path
) -> None:
    async with hub_factory() as hub:
        runner = NodeRunner(hub, node_db_url, tmp_path / "node")
        async with runner.run() as node:
            factory = await active_factory(node.client, node.headers)
            device = await provision(node.client, node.headers, factory["id"])
            suspended = await provision(node.client, node.headers, factory["id"])
            await node.graphql(
                "mutation($id: UUID!) { changeDeviceStatus(deviceId: $id, transition: SUSPEND) "
                "{ status } }",
                {"id": suspended["device"]["id"]},
            )
            stranger = f"unknown-{uuid.uuid4().hex[:8]}"
            publisher = Publisher(f"dev-{uuid.uuid4().hex[:8]}")
            publisher.wait_connected()
            topic = device["device"]["telemetryTopic"]
            publisher.publish(topic, b"\x00\x01 not json")
            publisher.publish(topic, b'{"values": [1, 2]}')
            publisher.publish(f"yunfab/v1/telemetry/{stranger}", readings_message(0, 1))
            now = int(time.time() * 1000)
            publisher.publish(suspended["device"]["telemetryTopic"], readings_message(now, 3))
            publisher.publish(f"spBv1.0/{factory['slug']}/NBIRTH/{stranger}", b"\xff\xfe garbage")
            publisher.publish(topic, readings_message(now, 2))
            publisher.close()
            mine = {device["username"], suspended["username"], stranger}

            async def letters() -> dict[str, dict[str, Any]]:
                data = await node.graphql(DEAD)
                return {
                    edge["node"]["reason"]: edge["node"]
                    for edge in data["deadLetters"]["edges"]
                    if edge["node"]["deviceKey"] in mine
                }

            async def all_five() -> bool:
                return len(await letters()) == 5

            await eventually(all_five)
            found = await letters()
            assert set(found) == {
                "malformed_json",
                "bad_shape",
                "unknown_device",
                "device_suspended",
                "malformed_sparkplug",
            }
            assert found["device_suspended"]["deviceKey"] == suspended["username"]
            assert found["malformed_sparkplug"]["topic"].startswith("spBv1.0/")

            async def good_ones_kept() -> bool:
                return len(await stored(node, device["device"]["id"])) == 2

            await eventually(good_ones_kept)
            assert await stored(node, suspended["device"]["id"]) == []
            metrics = (await node.client.get("/metrics")).text
            assert 'yunfab_ingest_rejected_total{reason="unknown_device"}' in metrics


@pytest.fixture
def managed_broker(tmp_path: Path) -> Any:
    cfg = ManagedBrokerConfig(
        host="127.0.0.1",
        port=free_port(),
        data_dir=tmp_path / "broker",
        admin_username="yunfab-admin",
        admin_password=uuid.uuid4().hex,
    )
    cfg.data_dir.mkdir()
    try:
        popen = start_broker(cfg)
    except MosquittoError as exc:
        skip_or_fail(f"cannot run a managed Mosquitto: {exc}")
    yield cfg
    stop_broker(popen)


async def test_the_broker_refuses_what_the_node_refuses(
    hub_factory: HubFactory, node_db_url: str, tmp_path: Path, managed_broker: Any
) -> None:
    cfg: ManagedBrokerConfig = managed_broker
    async with hub_factory() as hub:
        runner = NodeRunner(
            hub,
            node_db_url,
            tmp_path / "node",
            mqtt_url=f"mqtt://{cfg.host}:{cfg.port}",
            mqtt_username="zj-textile-ingest",
            mqtt_password=uuid.uuid4().hex,
            broker_admin_username=cfg.admin_username,
            broker_admin_password=cfg.admin_password,
        )
        async with runner.run() as node:
            factory = await active_factory(node.client, node.headers)
            device = await provision(node.client, node.headers, factory["id"])
            other = await provision(node.client, node.headers, factory["id"])
            key, password = device["username"], device["password"]

            wrong = Publisher(key, host=cfg.host, port=cfg.port, username=key, password="nope")
            assert wrong.disconnected.wait(5)
            assert wrong.refused is not None

            publisher = Publisher(
                key, host=cfg.host, port=cfg.port, username=key, password=password
            )
            publisher.wait_connected()
            now = int(time.time() * 1000)
            # Another device's topic: the broker refuses the publish (MQTT 5 says so in PUBACK).
            refused = publisher.publish(other["device"]["telemetryTopic"], readings_message(now, 1))
            assert publisher.acks[refused.mid].is_failure
            assert publisher.acks[refused.mid].value == 0x87  # Not authorized
            # A message over the broker's limit (the node's mqtt_max_message_bytes, Mosquitto's
            # max_packet_size) is dropped there, its sender cut off; the node goes on.
            oversized = Publisher(
                other["username"],
                host=cfg.host,
                port=cfg.port,
                username=other["username"],
                password=other["password"],
            )
            oversized.wait_connected()
            too_big = readings_message(now, 1) + b" " * cfg.max_packet_bytes
            oversized.client.publish(other["device"]["telemetryTopic"], too_big, qos=1)
            assert await asyncio.to_thread(oversized.disconnected.wait, 10)
            oversized.client.loop_stop()
            publisher.publish(device["device"]["telemetryTopic"], readings_message(now, 4))

            async def four() -> bool:
                return len(await stored(node, device["device"]["id"])) == 4

            await eventually(four)
            assert await stored(node, other["device"]["id"]) == []

            # Suspending the device disconnects it at the broker and keeps it out.
            await node.graphql(
                "mutation($id: UUID!) { changeDeviceStatus(deviceId: $id, transition: SUSPEND) "
                "{ status } }",
                {"id": device["device"]["id"]},
            )
            assert await asyncio.to_thread(publisher.disconnected.wait, 10)
            publisher.client.loop_stop()
            again = Publisher(key, host=cfg.host, port=cfg.port, username=key, password=password)
            assert again.disconnected.wait(5)
            assert again.refused is not None
            again.client.loop_stop()

            # Suspending the whole factory takes its other machines off the broker too.
            sibling = Publisher(
                other["username"],
                host=cfg.host,
                port=cfg.port,
                username=other["username"],
                password=other["password"],
            )
            sibling.wait_connected()
            await node.graphql(
                MOVE, {"id": factory["id"], "t": "SUSPEND", "reason": "overdue fire inspection"}
            )
            assert await asyncio.to_thread(sibling.disconnected.wait, 10)
            sibling.client.loop_stop()
