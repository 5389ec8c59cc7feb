"""BrokerAdmin and the managed Mosquitto broker, against real broker processes.

Each test starts its own Mosquitto (dynamic-security plugin, data dir under tmp_path, a free port)
and talks to it with real MQTT clients. "A message never arrives" is checked without sleeping: the
same client then publishes an allowed message, and Mosquitto delivers one publisher's messages to a
subscriber in order, so the allowed one arriving first proves the refused one was dropped.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from regional_node.broker_admin import (
    BrokerAdmin,
    BrokerAdminError,
    ClientInfo,
    device_acls,
    device_role,
)
from regional_node.settings import NodeSettings
from tests.support import skip_or_fail
from yunfab.processes import free_port
from yunfab_demo.mosquitto import (
    ManagedBrokerConfig,
    MosquittoError,
    find_dynsec_plugin,
    find_mosquitto,
    find_mosquitto_ctrl,
    start_broker,
    stop_broker,
    write_config,
)

HOST = "127.0.0.1"
ADMIN = ("yunfab-admin", "admin-secret")
INGEST = ("yunfab-ingest", "ingest-secret")
HOST_ID = "node-gd"
WAIT_S = 5.0


def _mosquitto_missing() -> str | None:
    try:
        find_mosquitto()
        find_mosquitto_ctrl()
        find_dynsec_plugin()
    except MosquittoError as exc:
        return str(exc)
    return None


pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _mosquitto_installed() -> None:
    """Skipped without Mosquitto only where services are optional (never in CI)."""
    missing = _mosquitto_missing()
    if missing is not None:
        skip_or_fail(f"Mosquitto with dynamic security is not installed: {missing}")


# -- a real broker ---------------------------------------------------------------------------------


@dataclass
class RunningBroker:
    cfg: ManagedBrokerConfig
    popen: subprocess.Popen[bytes]

    def restart(self) -> None:
        assert stop_broker(self.popen) == 0
        self.popen = start_broker(self.cfg)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[RunningBroker]:
    cfg = ManagedBrokerConfig(HOST, free_port(HOST), tmp_path / "mosquitto", *ADMIN)
    running = RunningBroker(cfg, start_broker(cfg))
    yield running
    stop_broker(running.popen)


@pytest.fixture
async def admin(broker: RunningBroker) -> AsyncIterator[BrokerAdmin]:
    async with BrokerAdmin(HOST, broker.cfg.port, *ADMIN, timeout_s=WAIT_S) as client:
        yield client


# -- an MQTT client for the tests ------------------------------------------------------------------


class Probe:
    """A device or the ingest consumer: paho in its own thread, results awaited on the loop.

    It never reconnects by itself, so a kicked probe stays disconnected.
    """

    def __init__(
        self,
        port: int,
        username: str | None,
        password: str | None,
        *,
        client_id: str | None = None,
        will_topic: str | None = None,
        persistent: bool = False,
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            # Devices are bound to their key as client id; other logins use a random one.
            client_id=client_id
            or (
                username if username and username != INGEST[0] else f"probe-{uuid.uuid4().hex[:8]}"
            ),
            protocol=mqtt.MQTTv5,
            reconnect_on_failure=False,
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        if will_topic is not None:
            self.client.will_set(will_topic, b"will", qos=1)
        self.port = port
        self.persistent = persistent
        self.messages: asyncio.Queue[mqtt.MQTTMessage] = asyncio.Queue()
        self.connack: asyncio.Future[ReasonCode] = self.loop.create_future()
        self.gone: asyncio.Future[ReasonCode] = self.loop.create_future()
        self._acks: dict[int, asyncio.Future[Any]] = {}
        self._early: dict[int, Any] = {}
        self._lock = threading.Lock()
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    def _settle(self, future: asyncio.Future[Any], value: Any) -> None:
        if not future.done():
            future.set_result(value)

    def _ack(self, mid: int, value: Any) -> None:
        with self._lock:
            future = self._acks.pop(mid, None)
            if future is None:
                self._early[mid] = value
                return
        self.loop.call_soon_threadsafe(self._settle, future, value)

    async def _await_ack(self, mid: int) -> Any:
        future: asyncio.Future[Any] = self.loop.create_future()
        with self._lock:
            if mid in self._early:
                future.set_result(self._early.pop(mid))
            else:
                self._acks[mid] = future
        return await asyncio.wait_for(future, WAIT_S)

    def _on_connect(self, c: mqtt.Client, u: Any, f: Any, rc: ReasonCode, p: Any) -> None:
        self.loop.call_soon_threadsafe(self._settle, self.connack, rc)

    def _on_disconnect(self, c: mqtt.Client, u: Any, f: Any, rc: ReasonCode, p: Any) -> None:
        self.loop.call_soon_threadsafe(self._settle, self.gone, rc)

    def _on_publish(self, c: mqtt.Client, u: Any, mid: int, rc: ReasonCode, p: Any) -> None:
        self._ack(mid, rc)

    def _on_subscribe(
        self, c: mqtt.Client, u: Any, mid: int, rcs: list[ReasonCode], p: Any
    ) -> None:
        self._ack(mid, rcs[0])

    def _on_message(self, c: mqtt.Client, u: Any, message: mqtt.MQTTMessage) -> None:
        self.loop.call_soon_threadsafe(self.messages.put_nowait, message)

    async def connect(self) -> ReasonCode:
        """The CONNACK reason code (a refusal is returned, not raised)."""
        properties = None
        if self.persistent:
            # paho's Properties is untyped.
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = 3600
        await asyncio.to_thread(
            self.client.connect,
            HOST,
            self.port,
            30,
            clean_start=not self.persistent,
            properties=properties,
        )
        self.client.loop_start()
        return await asyncio.wait_for(self.connack, WAIT_S)

    async def subscribe(self, topic: str) -> ReasonCode:
        _, mid = self.client.subscribe(topic, qos=1)
        assert mid is not None
        code: ReasonCode = await self._await_ack(mid)
        return code

    async def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> ReasonCode:
        """QoS 1; the PUBACK reason code (MQTT 5 reports a refused publish there)."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        code: ReasonCode = await self._await_ack(info.mid)
        return code

    async def next_message(self) -> mqtt.MQTTMessage:
        return await asyncio.wait_for(self.messages.get(), WAIT_S)

    async def disconnected(self) -> ReasonCode:
        return await asyncio.wait_for(asyncio.shield(self.gone), WAIT_S)

    def drop(self) -> None:
        """Vanish without DISCONNECT, so the broker sends the will."""
        self.client.loop_stop()
        sock = self.client.socket()
        if sock is not None:
            sock.close()

    async def close(self) -> None:
        self.client.disconnect()
        await asyncio.to_thread(self.client.loop_stop)


@pytest.fixture
async def probes() -> AsyncIterator[list[Probe]]:
    """Collects the probes a test opens, and closes them whatever happens."""
    opened: list[Probe] = []
    yield opened
    for probe in opened:
        await probe.close()


@pytest.fixture
def open_probe(broker: RunningBroker, probes: list[Probe]) -> Any:
    async def connect(
        username: str | None, password: str | None, **kwargs: Any
    ) -> tuple[Probe, ReasonCode]:
        probe = Probe(broker.cfg.port, username, password, **kwargs)
        probes.append(probe)
        return probe, await probe.connect()

    return connect


async def connected(open_probe: Any, username: str, password: str, **kwargs: Any) -> Probe:
    probe, code = await open_probe(username, password, **kwargs)
    assert not code.is_failure, f"{username} refused: {code}"
    return probe


@pytest.fixture
async def ingest(admin: BrokerAdmin, open_probe: Any) -> Probe:
    """The node's consumer, reading device traffic through shared subscriptions as the node does."""
    await admin.ensure_ingest_client(*INGEST, host_id=HOST_ID)
    probe = await connected(open_probe, *INGEST)
    for topic in ("$share/ingest/yunfab/v1/telemetry/#", "$share/ingest/spBv1.0/#"):
        assert str(await probe.subscribe(topic)) == "Granted QoS 1", topic
    return probe


def refused(code: ReasonCode) -> bool:
    return code.is_failure and str(code) == "Not authorized"


# -- tests -----------------------------------------------------------------------------------------


def test_config_is_locked_down(tmp_path: Path) -> None:
    cfg = ManagedBrokerConfig(HOST, 18830, tmp_path, *ADMIN)
    text = write_config(cfg).read_text().splitlines()
    for line in (
        "per_listener_settings false",
        f"listener 18830 {HOST}",
        "allow_anonymous false",
        f"plugin {find_dynsec_plugin()}",
        f"plugin_opt_config_file {tmp_path.resolve() / 'dynamic-security.json'}",
        "persistence true",
        f"persistence_location {tmp_path.resolve()}/",
        f"max_packet_size {NodeSettings.model_fields['mqtt_max_message_bytes'].default}",
    ):
        assert line in text
    seeded = json.loads(cfg.dynsec_path.read_text())
    assert [client["username"] for client in seeded["clients"]] == [ADMIN[0]]
    # A second write keeps the plugin's file: it holds every provisioned device by then.
    cfg.dynsec_path.write_text(json.dumps({**seeded, "marker": True}))
    write_config(cfg)
    assert json.loads(cfg.dynsec_path.read_text())["marker"] is True


async def test_wrong_credentials_are_refused(
    broker: RunningBroker, admin: BrokerAdmin, open_probe: Any
) -> None:
    await admin.provision_device("imm-01", "right")
    _, code = await open_probe("imm-01", "wrong")
    assert refused(code)
    _, code = await open_probe("nobody", "right")
    assert refused(code)
    _, code = await open_probe(None, None)  # anonymous
    assert refused(code)
    _, code = await open_probe("imm-01", "right")
    assert not code.is_failure
    with pytest.raises(BrokerAdminError, match="refused the admin login"):
        await BrokerAdmin(HOST, broker.cfg.port, ADMIN[0], "wrong", timeout_s=WAIT_S).start()
    with pytest.raises(BrokerAdminError, match="cannot reach broker"):
        await BrokerAdmin(HOST, free_port(HOST), *ADMIN, timeout_s=WAIT_S).start()


async def test_a_device_connects_only_under_its_own_client_id(
    admin: BrokerAdmin, open_probe: Any
) -> None:
    # Taking another client id would push that session (the node's consumer) off the broker.
    await admin.provision_device("imm-01", "pw")
    _, code = await open_probe("imm-01", "pw", client_id="yunfab-node-gd")
    assert refused(code)
    await connected(open_probe, "imm-01", "pw")
    # A name that is already another kind of broker client is never taken over.
    await admin.ensure_ingest_client(*INGEST, host_id=HOST_ID)
    with pytest.raises(BrokerAdminError, match="not this device"):
        await admin.provision_device(INGEST[0], "stolen")


async def test_device_publishes_only_its_own_telemetry(
    admin: BrokerAdmin, ingest: Probe, open_probe: Any
) -> None:
    await admin.provision_device("imm-01", "pw-1")
    await admin.provision_device("imm-02", "pw-2")
    device = await connected(open_probe, "imm-01", "pw-1")

    # MQTT 5: a refused QoS 1 publish gets PUBACK "Not authorized", and is dropped.
    assert refused(await device.publish("yunfab/v1/telemetry/imm-02", b"forged"))
    assert refused(await device.publish("spBv1.0/plant-a/NBIRTH/imm-01", b"not an edge node"))
    assert refused(await device.publish("yunfab/v1/telemetry", b"no key"))
    assert not (await device.publish("yunfab/v1/telemetry/imm-01", b'{"readings": []}')).is_failure
    message = await ingest.next_message()
    assert (message.topic, message.payload) == ("yunfab/v1/telemetry/imm-01", b'{"readings": []}')
    assert ingest.messages.empty()

    # Nor may it read other devices' traffic.
    assert refused(await device.subscribe("yunfab/v1/telemetry/#"))
    assert refused(await device.subscribe("yunfab/v1/telemetry/imm-02"))


async def test_role_grants_exactly_the_device_acls(admin: BrokerAdmin) -> None:
    await admin.provision_device("edge-01", "pw", edge_node_group="plant-a")
    role = (await admin.execute({"command": "getRole", "rolename": "device:edge-01"}))["role"]
    got = {(acl["acltype"], acl["topic"]) for acl in role["acls"]}
    assert got == {
        ("publishClientSend", "yunfab/v1/telemetry/edge-01"),
        ("publishClientSend", "spBv1.0/plant-a/+/edge-01"),
        ("publishClientSend", "spBv1.0/plant-a/+/edge-01/#"),
        ("subscribePattern", "spBv1.0/plant-a/NCMD/edge-01"),
        ("publishClientReceive", "spBv1.0/plant-a/NCMD/edge-01"),
        ("subscribePattern", "spBv1.0/plant-a/DCMD/edge-01/#"),
        ("publishClientReceive", "spBv1.0/plant-a/DCMD/edge-01/#"),
        ("subscribePattern", "spBv1.0/STATE/#"),
        ("publishClientReceive", "spBv1.0/STATE/#"),
    }
    client = (await admin.execute({"command": "getClient", "username": "edge-01"}))["client"]
    assert [r["rolename"] for r in client["roles"]] == ["device:edge-01"]
    for bad in ("#", "a/b", "+", "$SYS", ""):
        with pytest.raises(ValueError, match="topic level"):
            await admin.provision_device(bad, "pw")
    with pytest.raises(ValueError, match="topic level"):
        device_acls("edge-01", "plant/#")
    with pytest.raises(BrokerAdminError, match="broker admin"):
        await admin.delete_device(ADMIN[0])


async def test_edge_node_publishes_sparkplug_under_its_group_only(
    admin: BrokerAdmin, ingest: Probe, open_probe: Any
) -> None:
    await admin.provision_device("edge-01", "pw", edge_node_group="plant-a")
    await admin.provision_device("edge-02", "pw2", edge_node_group="plant-a")
    edge = await connected(open_probe, "edge-01", "pw", will_topic="spBv1.0/plant-a/NDEATH/edge-01")
    assert refused(await edge.publish("spBv1.0/plant-b/NBIRTH/edge-01", b"other group"))
    assert refused(await edge.publish("spBv1.0/plant-a/NBIRTH/edge-02", b"other node"))
    assert refused(await edge.publish("spBv1.0/STATE/node-gd", b"not a host"))
    for topic in (
        "spBv1.0/plant-a/NBIRTH/edge-01",
        "spBv1.0/plant-a/DDATA/edge-01/imm-03",
        "yunfab/v1/telemetry/edge-01",
    ):
        assert not (await edge.publish(topic, b"ok")).is_failure, topic
        assert (await ingest.next_message()).topic == topic

    # Commands: its own, not another edge node's; host STATE from the node's ingest client.
    assert not (await edge.subscribe("spBv1.0/plant-a/NCMD/edge-01")).is_failure
    assert not (await edge.subscribe("spBv1.0/plant-a/DCMD/edge-01/#")).is_failure
    assert not (await edge.subscribe("spBv1.0/STATE/#")).is_failure
    assert refused(await edge.subscribe("spBv1.0/plant-a/NCMD/edge-02"))
    assert refused(await edge.subscribe("spBv1.0/plant-a/#"))
    assert refused(await ingest.publish("yunfab/v1/telemetry/edge-01", b"forged by ingest"))
    assert not (await ingest.publish("spBv1.0/plant-a/NCMD/edge-01", b"rebirth")).is_failure
    assert not (await ingest.publish(f"spBv1.0/STATE/{HOST_ID}", b"online", retain=True)).is_failure
    commands = {"spBv1.0/plant-a/NCMD/edge-01", f"spBv1.0/STATE/{HOST_ID}"}
    assert {(await edge.next_message()).topic for _ in range(2)} == commands
    assert {(await ingest.next_message()).topic for _ in range(2)} == commands  # its own echo

    # The will (NDEATH) is checked against the publish ACLs when sent: inside the group it is
    # delivered; an edge node whose will names another group loses it silently.
    edge.drop()
    assert (await ingest.next_message()).topic == "spBv1.0/plant-a/NDEATH/edge-01"
    stray = await connected(
        open_probe, "edge-02", "pw2", will_topic="spBv1.0/plant-b/NDEATH/edge-02"
    )
    stray.drop()
    marker = await connected(open_probe, "edge-02", "pw2")
    assert not (await marker.publish("spBv1.0/plant-a/NDATA/edge-02", b"after")).is_failure
    assert (await ingest.next_message()).topic == "spBv1.0/plant-a/NDATA/edge-02"


async def test_disable_kicks_and_refuses_enable_lets_back(
    admin: BrokerAdmin, open_probe: Any
) -> None:
    await admin.provision_device("imm-01", "pw")
    device = await connected(open_probe, "imm-01", "pw")
    await admin.disable_device("imm-01")
    assert str(await device.disconnected()) == "Administrative action"
    _, code = await open_probe("imm-01", "pw")
    assert refused(code)
    assert ClientInfo("imm-01", True, ("device:imm-01",)) in await admin.list_clients()

    await admin.enable_device("imm-01")
    await connected(open_probe, "imm-01", "pw")
    assert ClientInfo("imm-01", False, ("device:imm-01",)) in await admin.list_clients()
    with pytest.raises(BrokerAdminError, match="disableClient: Client not found"):
        await admin.disable_device("nobody")


async def test_delete_removes_client_and_role(admin: BrokerAdmin, open_probe: Any) -> None:
    await admin.provision_device("imm-01", "pw")
    device = await connected(open_probe, "imm-01", "pw")
    await admin.delete_device("imm-01")
    assert str(await device.disconnected()) == "Administrative action"
    _, code = await open_probe("imm-01", "pw")
    assert refused(code)
    assert "imm-01" not in {client.username for client in await admin.list_clients()}
    with pytest.raises(BrokerAdminError, match="Role not found"):
        await admin.execute({"command": "getRole", "rolename": device_role("imm-01")})
    await admin.delete_device("imm-01")  # already gone: nothing to do


async def test_provisioning_again_rotates_password_and_resets_acls(
    admin: BrokerAdmin, open_probe: Any
) -> None:
    await admin.provision_device("edge-01", "old", edge_node_group="plant-a")
    device = await connected(open_probe, "edge-01", "old")
    assert not (await device.publish("spBv1.0/plant-a/NDATA/edge-01", b"x")).is_failure

    # Whatever else the client was given by hand goes away too.
    wide = [{"acltype": "publishClientSend", "topic": "#", "allow": True}]
    await admin.execute({"command": "createRole", "rolename": "wide", "acls": wide})
    await admin.execute({"command": "addClientRole", "username": "edge-01", "rolename": "wide"})
    await admin.execute({"command": "createGroup", "groupname": "crew"})
    await admin.execute({"command": "addGroupClient", "groupname": "crew", "username": "edge-01"})
    assert str(await device.disconnected()) == "Administrative action"  # addClientRole kicks
    device = await connected(open_probe, "edge-01", "old")
    assert not (await device.publish("anything/at/all", b"x")).is_failure

    await admin.provision_device("edge-01", "new")  # no longer an edge node
    assert str(await device.disconnected()) == "Administrative action"
    client = (await admin.execute({"command": "getClient", "username": "edge-01"}))["client"]
    assert [role["rolename"] for role in client["roles"]] == ["device:edge-01"]
    assert client["groups"] == []
    _, code = await open_probe("edge-01", "old")
    assert refused(code)
    device = await connected(open_probe, "edge-01", "new")
    assert refused(await device.publish("anything/at/all", b"x"))
    assert refused(await device.publish("spBv1.0/plant-a/NDATA/edge-01", b"x"))
    assert not (await device.publish("yunfab/v1/telemetry/edge-01", b"x")).is_failure

    await admin.set_password("edge-01", "newer")
    assert str(await device.disconnected()) == "Administrative action"
    await connected(open_probe, "edge-01", "newer")


async def test_ensure_ingest_client_keeps_its_session(
    admin: BrokerAdmin, ingest: Probe, open_probe: Any
) -> None:
    await admin.ensure_ingest_client(*INGEST, host_id=HOST_ID)  # same password: no kick
    assert not (await ingest.publish(f"spBv1.0/STATE/{HOST_ID}", b"online")).is_failure
    assert not ingest.gone.done()
    await admin.ensure_ingest_client(INGEST[0], "rotated", host_id=HOST_ID)
    assert str(await ingest.disconnected()) == "Administrative action"
    await connected(open_probe, INGEST[0], "rotated")


async def test_list_clients_pages_and_reports_disabled(admin: BrokerAdmin) -> None:
    keys = [f"imm-{n:02d}" for n in range(5)]
    for key in keys:
        await admin.provision_device(key, "pw")
    await admin.disable_device("imm-03")
    clients = await admin.list_clients(page_size=2)
    assert sorted(client.username for client in clients) == sorted([ADMIN[0], *keys])
    assert {client.username for client in clients if client.disabled} == {"imm-03"}
    assert {client.device_key for client in clients} == {None, *keys}


async def test_state_and_sessions_survive_a_restart(
    broker: RunningBroker, admin: BrokerAdmin, open_probe: Any
) -> None:
    await admin.provision_device("imm-01", "pw")
    await admin.provision_device("imm-02", "pw")
    await admin.disable_device("imm-02")
    await admin.ensure_ingest_client(*INGEST, host_id=HOST_ID)
    consumer = await connected(open_probe, *INGEST, client_id="ingest-node-gd", persistent=True)
    assert not (await consumer.subscribe("$share/ingest/yunfab/v1/telemetry/#")).is_failure
    await consumer.close()
    device = await connected(open_probe, "imm-01", "pw")
    assert not (await device.publish("yunfab/v1/telemetry/imm-01", b"queued")).is_failure

    broker.restart()

    # The admin reconnects by itself; the plugin's state came back from its file.
    clients = {client.username: client.disabled for client in await admin.list_clients()}
    assert clients == {ADMIN[0]: False, "imm-01": False, "imm-02": True, INGEST[0]: False}
    await connected(open_probe, "imm-01", "pw")
    _, code = await open_probe("imm-02", "pw")
    assert refused(code)
    # The ingest session and its queued QoS 1 message were persisted too.
    consumer = await connected(open_probe, *INGEST, client_id="ingest-node-gd", persistent=True)
    message = await consumer.next_message()
    assert (message.topic, message.payload) == ("yunfab/v1/telemetry/imm-01", b"queued")


async def test_commands_time_out_when_the_broker_is_gone(
    broker: RunningBroker, admin: BrokerAdmin
) -> None:
    stop_broker(broker.popen)
    admin.timeout_s = 0.5
    # Refused at once once the client saw the connection drop, or after the timeout when the
    # command went out before it did (a loaded machine): either way a clear error, no hang.
    with pytest.raises(BrokerAdminError, match="not connected|no answer from broker"):
        await admin.list_clients()
