"""The edge gateway against real peers started here: an OPC UA server with a EUROMAP-77-like
address space and a Modbus TCP meter (yunfab_demo/machines.py), Mosquitto, and a real node
(in process, its MQTT ingest on) whose device registry was given the gateway's own mapping.

What a factory relies on: readings arrive under the right device and metric with their source
timestamps and declared units; bad points are reported and the rest goes on; a lost machine
goes offline and comes back; secured OPC UA works with the certificate the gateway makes; and
through a broker outage with a gateway killed mid-way, every reading arrives once, in order.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import math
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from typer.testing import CliRunner

from tests.conftest import HubFactory, NodeFactory
from tests.nodes import active_factory, operator_headers, provision
from tests.support import InProcessService, eventually, skip_or_fail
from yunfab import sparkplug
from yunfab.processes import free_port
from yunfab_cli.main import app
from yunfab_demo.machines import SimulatedMeter, SimulatedMoulder
from yunfab_demo.mosquitto import (
    ManagedBrokerConfig,
    MosquittoError,
    port_open,
    start_broker,
    stop_broker,
)
from yunfab_gateway.checks import QuietSink
from yunfab_gateway.config import GatewayConfig, parse_config
from yunfab_gateway.mapping import DEVICE_STATUS_METRIC, build_mapping
from yunfab_gateway.opcua import OpcUaSource
from yunfab_gateway.runner import Gateway

BROKER = ("127.0.0.1", 1883)
NODE_URL = "http://zj-textile.test"
RAW = """
query($id: UUID!, $metric: String!, $start: DateTime!, $end: DateTime!) {
  telemetry(deviceId: $id, metric: $metric, start: $start, end: $end, limit: 10000) {
    points { at value }
  }
}
"""
DEVICE = "query($id: UUID!) { device(id: $id) { connection metrics { name unit } } }"


@pytest.fixture(autouse=True)
def _quiet_protocol_libraries() -> None:
    """asyncua logs every request at INFO: a failure's captured log would be nothing else."""
    logging.getLogger("asyncua").setLevel(logging.WARNING)
    logging.getLogger("pymodbus").setLevel(logging.ERROR)


@pytest.fixture
def backend() -> str:
    """The gateway's tests run against a node on SQLite (the store is tested on both)."""
    return "sqlite"


@dataclass
class Site:
    """A node with a factory whose gateway and machines are provisioned from the mapping."""

    node: InProcessService
    headers: dict[str, str]
    ids: dict[str, str]
    edge_password: str

    async def graphql(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        return await self.node.graphql(query, variables, headers=self.headers)

    async def points(self, device: str, metric: str) -> list[tuple[int, float]]:
        data = await self.graphql(
            RAW,
            {
                "id": self.ids[device],
                "metric": metric,
                "start": "2020-01-01T00:00:00Z",
                "end": "2100-01-01T00:00:00Z",
            },
        )
        return [(_ms(p["at"]), p["value"]) for p in data["telemetry"]["points"]]

    async def connection(self, device: str) -> str:
        data = await self.graphql(DEVICE, {"id": self.ids[device]})
        return str(data["device"]["connection"])


def _ms(text: str) -> int:
    return int(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def _keys() -> tuple[str, str, str, str]:
    tag = uuid.uuid4().hex[:8]
    return f"f-{tag}", f"f-{tag}-gw", f"f-{tag}-imm-01", f"f-{tag}-meter-01"


def gateway_config(
    tmp_path: Path,
    *,
    group: str,
    edge: str,
    imm: str,
    meter_key: str,
    moulder: SimulatedMoulder,
    meter: SimulatedMeter,
    mqtt_url: str = f"mqtt://{BROKER[0]}:{BROKER[1]}",
    password: str | None = None,
    opc_points: list[dict[str, Any]] | None = None,
    meter_points: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "gateway": {
            "group": group,
            "edge_node": edge,
            "data_dir": str(tmp_path / "gateway"),
            "status_interval_s": 0.5,
        },
        "mqtt": {
            "url": mqtt_url,
            **({"password": password} if password else {}),
            "reconnect_initial_s": 0.5,
            "reconnect_max_s": 2,
            "historical_after_s": 2,
        },
        "opcua": [
            {
                "name": "imm",
                "device": imm,
                "url": moulder.url,
                "root": "e77:IMM_01",
                "profile": "euromap77",
                "sampling_interval_ms": 50,
                "publishing_interval_ms": 100,
                "reconnect_initial_s": 0.2,
                "reconnect_max_s": 1,
                "points": [
                    # A deadband wider than the noise: only the first value is a reading.
                    {
                        "metric": "cycle_time_s",
                        "path": "e77:Jobs/e77:ActiveJobValues/e77:ActualCycleTime",
                        "unit": "s",
                        "min": 0,
                        "max": 3600,
                        "deadband_absolute": 5,
                    },
                    {
                        "metric": "injection_pressure_bar",
                        "path": "e77:InjectionUnits/e77:InjectionUnit_1/"
                        "e83:ActualInjectionPressure",
                        "unit": "bar",
                        "min": 0,
                        "max": 4000,
                        "deadband_percent": 50,
                    },
                    *(opc_points or []),
                ],
            }
        ],
        "modbus": [
            {
                "name": "meter",
                "device": meter_key,
                "host": "127.0.0.1",
                "port": meter.port,
                "profile": "modbus_energy_meter",
                "timeout_s": 0.5,
                "reconnect_initial_s": 0.2,
                "reconnect_max_s": 1,
                "groups": [
                    {
                        "name": "fast",
                        "interval_s": 0.2,
                        "points": [
                            {
                                "metric": "setpoint_c",
                                "address": 100,
                                "type": "int16",
                                "scale": 0.1,
                                "unit": "degC",
                                "min": -50,
                                "max": 50,
                            },
                            {"metric": "runtime_h", "address": 102, "type": "uint32", "unit": "h"},
                            {
                                "metric": "flow_lpm",
                                "address": 110,
                                "type": "float64",
                                "unit": "l/min",
                            },
                            {"metric": "pump_on", "table": "coil", "address": 0},
                            {"metric": "door_open", "table": "discrete", "address": 1},
                            *(meter_points or []),
                        ],
                    }
                ],
            }
        ],
    }


async def provision_site(
    hub: InProcessService, node: InProcessService, config: GatewayConfig
) -> Site:
    """The node's operator onboards the factory and provisions the gateway (an edge node) and
    its machines with exactly the metrics the gateway's mapping declares."""
    headers = await operator_headers(hub, NODE_URL)
    factory = await active_factory(node.client, headers, slug=config.gateway.group)
    mapping = build_mapping(config)
    assert mapping.edge is not None
    edge = await provision(
        node.client,
        headers,
        factory["id"],
        key=config.gateway.edge_node,
        kind="EDGE_NODE",
        type="gateway",
        metrics=[m.as_node_input() for m in mapping.edge.metrics],
    )
    ids = {config.gateway.edge_node: edge["device"]["id"]}
    for device in mapping.declarations():
        made = await provision(
            node.client,
            headers,
            factory["id"],
            key=device.key,
            edgeNodeKey=config.gateway.edge_node,
            metrics=[m.as_node_input() for m in device.metrics],
        )
        ids[device.key] = made["device"]["id"]
    return Site(node, headers, ids, edge["password"])


async def mqtt_connected(node: InProcessService) -> None:
    async def ready() -> bool:
        body = (await node.client.get("/readyz")).json()
        return bool(body["checks"]["mqtt"]["connected"])

    await eventually(ready, timeout_s=15)


@asynccontextmanager
async def machines(tmp_path: Path, **moulder: Any) -> AsyncIterator[tuple[Any, Any]]:
    imm = SimulatedMoulder(**moulder)
    meter = SimulatedMeter()
    await imm.start()
    await meter.start()
    try:
        yield imm, meter
    finally:
        await imm.stop()
        await meter.stop()


@asynccontextmanager
async def running(config: GatewayConfig) -> AsyncIterator[tuple[Gateway, asyncio.Task[None]]]:
    gateway = Gateway(config)
    stop = asyncio.Event()
    task = asyncio.create_task(gateway.run(stop))
    try:
        yield gateway, task
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def node_mqtt(**extra: Any) -> dict[str, Any]:
    return {
        "mqtt_url": f"mqtt://{BROKER[0]}:{BROKER[1]}",
        "mqtt_client_id": f"yunfab-test-{uuid.uuid4().hex[:10]}",
        "mqtt_session_expiry_s": 300,
        **extra,
    }


def need_broker() -> None:
    if not port_open(*BROKER):
        skip_or_fail(f"Mosquitto is not reachable at {BROKER[0]}:{BROKER[1]}")


def in_history(points: list[tuple[int, float]], history: list[tuple[int, Any]]) -> bool:
    """Every stored (time, value) is one the machine had, at the time it had it."""
    known = {(ts, float(value)) for ts, value in history}
    return all((ts, value) in known for ts, value in points)


async def test_machines_over_opcua_and_modbus_reach_the_node_as_sparkplug(
    hub_factory: HubFactory, node_factory: NodeFactory, tmp_path: Path
) -> None:
    need_broker()
    group, edge, imm_key, meter_key = _keys()
    async with (
        machines(tmp_path) as (moulder, meter),
        hub_factory() as hub,
        node_factory(hub, **node_mqtt()) as node,
    ):
        raw = gateway_config(
            tmp_path, group=group, edge=edge, imm=imm_key, meter_key=meter_key,
            moulder=moulder, meter=meter,
        )  # fmt: skip
        config = parse_config(raw, base=tmp_path)
        site = await provision_site(hub, node, config)
        await mqtt_connected(node)
        async with running(config) as (gateway, task):

            async def flowing(device: str, metric: str, at_least: int) -> bool:
                return len(await site.points(device, metric)) >= at_least

            await eventually(lambda: flowing(imm_key, "clamp_force_kn", 4), timeout_s=30)
            await eventually(lambda: flowing(imm_key, "mould_temp_c", 3))
            await eventually(lambda: flowing(meter_key, "power_w", 3))
            await eventually(lambda: flowing(meter_key, "pump_on", 1))

            # OPC UA: the values the machine had, at the source timestamps it gave them.
            for metric in ("clamp_force_kn", "mould_temp_c", "melt_temp_c", "shots"):
                stored = await site.points(imm_key, metric)
                assert stored, metric
                assert in_history(stored, moulder.history[metric]), metric
            # Deadbands: the noise stays inside them, so only the first value is a reading.
            assert len(await site.points(imm_key, "cycle_time_s")) == 1
            assert len(await site.points(imm_key, "injection_pressure_bar")) == 1
            # Modbus: every register type, scaled.
            assert {v for _, v in await site.points(meter_key, "setpoint_c")} == {-12.5}
            assert {v for _, v in await site.points(meter_key, "runtime_h")} == {70000.0}
            assert {v for _, v in await site.points(meter_key, "flow_lpm")} == {12.25}
            assert {v for _, v in await site.points(meter_key, "pump_on")} == {1.0}
            assert {v for _, v in await site.points(meter_key, "door_open")} == {1.0}
            volts = [v for _, v in await site.points(meter_key, "voltage_v")]
            assert all(220 < v < 240 for v in volts)
            # The registry knows the gateway's metrics with their units.
            for key, declared in build_mapping(config).devices.items():
                data = await site.graphql(DEVICE, {"id": site.ids[key]})
                units = {m["name"]: m["unit"] for m in data["device"]["metrics"]}
                assert units == {m.name: m.unit for m in declared.metrics}
                assert data["device"]["connection"] == "ONLINE"
            assert await site.connection(edge) == "ONLINE"

            # The node (or anyone it lets) asks for a rebirth: births again, data goes on.
            before = len(await site.points(imm_key, "clamp_force_kn"))
            asker = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"host-{uuid.uuid4().hex}")
            asker.connect(*BROKER)
            asker.loop_start()
            topic, payload = sparkplug.rebirth_command(group, edge, int(time.time() * 1000))
            asker.publish(topic, payload, qos=1).wait_for_publish(5)
            asker.disconnect()
            asker.loop_stop()

            async def reborn() -> bool:
                return gateway.out.stats.rebirths >= 1

            await eventually(reborn)
            await eventually(lambda: flowing(imm_key, "clamp_force_kn", before + 3))

            # A machine lost: DDEATH, the node shows it offline; back: DBIRTH, online.
            port = meter.port
            await meter.stop()

            async def state(device: str, wanted: str) -> bool:
                return await site.connection(device) == wanted

            await eventually(lambda: state(meter_key, "OFFLINE"), timeout_s=20)
            assert await site.connection(imm_key) == "ONLINE"
            back = SimulatedMeter(port=port)
            await back.start()
            try:
                await eventually(lambda: state(meter_key, "ONLINE"), timeout_s=20)
                count = len(await site.points(meter_key, "power_w"))
                await eventually(lambda: flowing(meter_key, "power_w", count + 2))
            finally:
                await back.stop()

            # The OPC UA server goes away (a controller restarting): the machine is offline
            # until the connector's back-off finds it again, then subscribed anew.
            port = moulder.port
            await moulder.stop()
            await eventually(lambda: state(imm_key, "OFFLINE"), timeout_s=20)
            again = SimulatedMoulder(port=port, seed=7)
            await again.start()
            try:
                await eventually(lambda: state(imm_key, "ONLINE"), timeout_s=20)

                async def fresh() -> bool:
                    stored = await site.points(imm_key, "clamp_force_kn")
                    return in_history(stored[-2:], again.history["clamp_force_kn"])

                await eventually(fresh)
            finally:
                await again.stop()
            assert not task.done()
        # A clean stop says goodbye: NDEATH, the edge node and its machines go offline.
        await eventually(lambda: state(edge, "OFFLINE"))
        await eventually(lambda: state(imm_key, "OFFLINE"))


async def test_bad_points_are_reported_per_point_and_the_gateway_goes_on(
    hub_factory: HubFactory, node_factory: NodeFactory, tmp_path: Path
) -> None:
    need_broker()
    group, edge, imm_key, meter_key = _keys()
    async with (
        machines(tmp_path) as (moulder, meter),
        hub_factory() as hub,
        node_factory(hub, **node_mqtt()) as node,
    ):
        moulder.inject("melt_temp_c", 999.0)  # outside the profile's 0..450
        moulder.inject("mould_temp_c", math.nan)
        raw = gateway_config(
            tmp_path, group=group, edge=edge, imm=imm_key, meter_key=meter_key,
            moulder=moulder, meter=meter,
            opc_points=[
                {"metric": "spare_a", "path": "e77:MachineStatus/e77:NoSuchThing"},
                {"metric": "spare_b", "node": "ns=2;s=IMM_01.Missing"},
            ],
            meter_points=[{"metric": "spare_c", "address": 5000}],
        )  # fmt: skip
        config = parse_config(raw, base=tmp_path)
        site = await provision_site(hub, node, config)
        await mqtt_connected(node)
        async with running(config) as (gateway, task):

            async def reported_by(device: str, metric: str, at_least: float) -> bool:
                values = [v for _, v in await site.points(device, metric)]
                return bool(values) and values[-1] >= at_least

            async def reported(device: str, at_least: float) -> bool:
                return await reported_by(device, DEVICE_STATUS_METRIC, at_least)

            # melt (out of range), mould (NaN), the unknown path and the unknown node id.
            await eventually(lambda: reported(imm_key, 4), timeout_s=30)
            await eventually(lambda: reported(meter_key, 1))
            # The edge node's own counters come in its next status report.
            await eventually(lambda: reported_by(edge, "gateway_values_refused", 2), timeout_s=30)

            async def spare_c_refused() -> bool:
                # The meter's answer to a read past its registers: an exception response. On a
                # loaded machine a read may time out first; the next poll gets the answer.
                point = next(p for p in gateway.mapping.points if p.metric == "spare_c")
                return "illegal data address" in str(gateway.status[point.key].last_error)

            await eventually(spare_c_refused, timeout_s=30)
            status = {p.metric: gateway.status[p.key] for p in gateway.mapping.points}
            assert status["melt_temp_c"].refused >= 1
            assert status["melt_temp_c"].last_error == "999 °C outside [0, 450]"
            assert status["mould_temp_c"].last_error == "nan is not a number"
            assert "cannot resolve e77:MachineStatus/e77:NoSuchThing" in str(
                status["spare_a"].last_error
            )
            assert "ns=2;s=IMM_01.Missing" in str(status["spare_b"].last_error)
            assert "illegal data address" in str(status["spare_c"].last_error)
            assert status["power_w"].last_error is None
            # Nothing refused became a reading; the good points go on.
            assert await site.points(imm_key, "melt_temp_c") == []
            assert await site.points(imm_key, "mould_temp_c") == []
            assert await site.points(imm_key, "clamp_force_kn")
            assert await site.points(meter_key, "power_w")
            # status.json says the same, for people on the shop floor.
            written = json.loads((tmp_path / "gateway" / "status.json").read_text())
            by_metric = {p["metric"]: p for p in written["points"]}
            assert by_metric["spare_c"]["failing"] is True
            assert by_metric["clamp_force_kn"]["failing"] is False

            # The machine recovers: its point does too.
            moulder.release("melt_temp_c")

            async def melt_back() -> bool:
                return bool(await site.points(imm_key, "melt_temp_c"))

            await eventually(melt_back)
            assert not task.done()


@pytest.mark.parametrize("mode", ["Sign", "SignAndEncrypt"])
async def test_secured_opcua_with_the_certificate_the_gateway_makes(
    tmp_path: Path, mode: str
) -> None:
    moulder = SimulatedMoulder(pki=tmp_path / "server-pki", allow_none=False)
    await moulder.start()
    try:
        raw: dict[str, Any] = {
            "gateway": {"group": "f-sec", "edge_node": "f-sec-gw"},
            "mqtt": {"url": "mqtt://127.0.0.1:1"},
            "opcua": [
                {
                    "name": "imm",
                    "device": "f-sec-imm",
                    "url": moulder.url,
                    "root": "e77:IMM_01",
                    "profile": "euromap77",
                    "security": "Basic256Sha256",
                    "mode": mode,
                }
            ],
        }
        pki = tmp_path / "gateway" / "pki"

        async def read(config: GatewayConfig) -> dict[str, tuple[Any, str | None]]:
            points = build_mapping(config).points
            source = OpcUaSource(
                config.opcua[0], points, QuietSink(), edge_node="f-sec-gw", pki=pki
            )
            return {p.metric: (value, error) for p, value, error in await source.check()}

        secured = await read(parse_config(raw))
        assert (pki / "gateway-cert.der").is_file()  # made on first use
        assert secured["clamp_force_kn"][1] is None
        assert 0 < secured["clamp_force_kn"][0] < 2000
        assert secured["mould_id"] == ("M-4711", None)
        # The same server refuses a client without security: it offers none.
        raw["opcua"][0]["security"] = "None"
        plain = await read(parse_config(raw))
        assert plain["clamp_force_kn"][0] is None
        assert plain["clamp_force_kn"][1]
    finally:
        await moulder.stop()


async def test_check_reads_every_point_once_over_opcua_and_rtu_framed_modbus(
    tmp_path: Path,
) -> None:
    need_broker()
    moulder, meter = SimulatedMoulder(), SimulatedMeter(rtu=True)
    await moulder.start()
    await meter.start()
    try:
        raw = gateway_config(
            tmp_path, group="f-chk", edge="f-chk-gw", imm="f-chk-imm", meter_key="f-chk-meter",
            moulder=moulder, meter=meter,
            opc_points=[{"metric": "spare_a", "path": "e77:MachineStatus/e77:NoSuchThing"}],
        )  # fmt: skip
        raw["modbus"][0]["transport"] = "rtu-over-tcp"
        path = tmp_path / "gateway.toml"
        path.write_text(_toml(raw))
        # The command as people run it, in a thread of this process (its peers are served by
        # this test's event loop meanwhile).
        result = await asyncio.to_thread(
            CliRunner().invoke, app, ["gateway", "check", "--config", str(path)]
        )
    finally:
        await moulder.stop()
        await meter.stop()
    text = result.stdout
    assert result.exit_code == 1, (text, result.stderr)  # one point cannot be read
    lines = {line.split()[1]: line for line in text.splitlines() if line.startswith("  ")}
    assert re.search(r"clamp_force_kn +\d+(\.\d+)? kN$", lines["clamp_force_kn"])
    assert lines["mould_id"].endswith("'M-4711' (text: shown, not published)")
    assert "error: cannot resolve e77:MachineStatus/e77:NoSuchThing" in lines["spare_a"]
    assert lines["setpoint_c"].endswith("-12.5 degC")
    assert lines["runtime_h"].endswith("70000 h")
    assert lines["pump_on"].endswith("True")
    assert re.search(r"voltage_v +2[23]\d(\.\d+)? V$", lines["voltage_v"])
    assert f"broker mqtt://{BROKER[0]}:{BROKER[1]}: accepts f-chk-gw" in text
    assert result.exception is None or isinstance(result.exception, SystemExit)


@asynccontextmanager
async def serial_line(tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    """Two serial devices wired to each other (a pty pair made by socat), as a meter's RS-485
    line and the gateway's USB adapter."""
    import shutil

    socat = shutil.which("socat")
    if socat is None:
        skip_or_fail("socat is not installed (apt-get install socat)")
        raise AssertionError("unreachable")
    meter_end, gateway_end = tmp_path / "ttyMETER", tmp_path / "ttyGW"
    process = subprocess.Popen(
        [socat, f"pty,raw,echo=0,link={meter_end}", f"pty,raw,echo=0,link={gateway_end}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not (meter_end.exists() and gateway_end.exists()):
            assert process.poll() is None, "socat ended"
            assert time.monotonic() < deadline, "socat made no pty pair"
            await asyncio.sleep(0.05)
        yield str(meter_end), str(gateway_end)
    finally:
        process.terminate()
        process.wait(5)


async def test_check_reads_a_meter_over_modbus_rtu_on_a_serial_line(tmp_path: Path) -> None:
    """Modbus RTU on a serial device (a pty pair standing in for the RS-485 line): the meter's
    registers, coils and discrete inputs read as over TCP."""
    need_broker()
    async with serial_line(tmp_path) as (meter_end, gateway_end):
        moulder, meter = SimulatedMoulder(), SimulatedMeter(serial_port=meter_end)
        await moulder.start()
        await meter.start()
        try:
            raw = gateway_config(
                tmp_path, group="f-rtu", edge="f-rtu-gw", imm="f-rtu-imm",
                meter_key="f-rtu-meter", moulder=moulder, meter=meter,
            )  # fmt: skip
            connector = raw["modbus"][0]
            connector.pop("host", None)
            connector.pop("port", None)
            connector.update({"transport": "rtu", "serial_port": gateway_end, "baudrate": 19200})
            path = tmp_path / "gateway.toml"
            path.write_text(_toml(raw))
            result = await asyncio.to_thread(
                CliRunner().invoke, app, ["gateway", "check", "--config", str(path)]
            )
        finally:
            await moulder.stop()
            await meter.stop()
    text = result.stdout
    assert result.exit_code == 0, (text, result.stderr)
    lines = {line.split()[1]: line for line in text.splitlines() if line.startswith("  ")}
    assert re.search(r"voltage_v +2[23]\d(\.\d+)? V$", lines["voltage_v"])
    assert lines["setpoint_c"].endswith("-12.5 degC")
    assert lines["runtime_h"].endswith("70000 h")
    assert lines["pump_on"].endswith("True")
    assert meter.reads > 0


async def test_the_node_registry_is_fed_from_the_gateways_own_mapping(
    node_db_url: str, tmp_path: Path
) -> None:
    """`yunfab node device provision-gateway`: the operator provisions the gateway and its
    machines from the gateway's configuration, the metrics exactly as the mapping declares."""
    from sqlalchemy import select

    from regional_node.devices.models import Device, DeviceKind, DeviceMetric
    from tests.nodes import COMPLETE_PROFILE
    from yunfab.service import Database

    node = ["--node-name", "zj-textile", "--region", "CN-ZJ", "--industry", "textile",
            "--database-url", node_db_url]  # fmt: skip
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps(COMPLETE_PROFILE))
    raw = {
        "gateway": {"group": "dg-mould", "edge_node": "dg-mould-gw"},
        "mqtt": {"url": "mqtt://127.0.0.1:1883"},
        "opcua": [{"name": "imm", "device": "dg-mould-imm-01", "url": "opc.tcp://h:4840",
                   "profile": "euromap77"}],
        "modbus": [{"name": "meter", "device": "dg-mould-meter-01", "host": "h",
                    "profile": "modbus_energy_meter"}],
    }  # fmt: skip
    config = tmp_path / "gateway.toml"
    config.write_text(_toml(raw))
    secret = tmp_path / "secret" / "gateway.secret"

    def cli(*argv: str) -> Any:
        return CliRunner().invoke(app, [*argv, *node])

    added = await asyncio.to_thread(
        cli, "node", "factory", "add", "--slug", "dg-mould", "--name", "Dongguan Mould",
        "--profile", str(profile), "--activate",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    made = await asyncio.to_thread(
        cli, "node", "device", "provision-gateway", "--config", str(config),
        "--password-file", str(secret),
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout) == {
        "edge_node": "dg-mould-gw", "devices": 2, "password_file": str(secret),
    }  # fmt: skip
    assert secret.stat().st_mode & 0o777 == 0o600
    assert len(secret.read_text().strip()) >= 32

    mapping = build_mapping(parse_config(raw))
    db = Database.open(node_db_url)
    try:
        async with db.sessionmaker() as session:
            rows = (await session.execute(select(Device))).scalars().all()
            by_key = {d.key: d for d in rows}
            metrics = (await session.execute(select(DeviceMetric))).scalars().all()
    finally:
        await db.close()
    edge = by_key["dg-mould-gw"]
    assert edge.kind is DeviceKind.EDGE_NODE
    # The profiles' device types, which alert rules and the console group machines by.
    assert by_key["dg-mould-imm-01"].type == "injection_moulding"
    assert by_key["dg-mould-meter-01"].type == "energy_meter"
    for declared in mapping.declarations():
        device = by_key[declared.key]
        assert device.edge_node_id == edge.id
        mine = {(m.name, m.unit, m.min_value, m.max_value) for m in metrics
                if m.device_id == device.id}  # fmt: skip
        assert mine == {(m.name, m.unit, m.min, m.max) for m in declared.metrics}

    # Twice is refused in one line: the gateway's credentials are not replaced behind its back.
    again = await asyncio.to_thread(
        cli, "node", "device", "provision-gateway", "--config", str(config),
        "--password-file", str(tmp_path / "other.secret"),
    )  # fmt: skip
    assert again.exit_code != 0
    assert len(again.stderr.strip().splitlines()) == 1, again.stderr
    assert not (tmp_path / "other.secret").exists()


# --- store and forward through a broker outage ------------------------------------------------


@pytest.fixture
def own_broker(tmp_path: Path) -> Any:
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
    broker: dict[str, Any] = {"cfg": cfg, "popen": popen}
    yield broker
    stop_broker(broker["popen"])


def start_gateway(config_path: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "yunfab_cli", "gateway", "run", "--config", str(config_path)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


@pytest.mark.slow
async def test_a_broker_outage_and_a_killed_gateway_lose_nothing_and_duplicate_nothing(
    hub_factory: HubFactory, node_factory: NodeFactory, tmp_path: Path, own_broker: Any
) -> None:
    cfg: ManagedBrokerConfig = own_broker["cfg"]
    url = f"mqtt://{cfg.host}:{cfg.port}"
    group, edge, imm_key, meter_key = _keys()
    log = tmp_path / "gateway.log"
    processes: list[subprocess.Popen[bytes]] = []
    async with (
        machines(tmp_path, cycle_s=0.2) as (moulder, meter),
        hub_factory() as hub,
        node_factory(
            hub,
            **node_mqtt(
                mqtt_url=url,
                mqtt_username="zj-textile-ingest",
                mqtt_password=uuid.uuid4().hex,
                broker_admin_username=cfg.admin_username,
                broker_admin_password=cfg.admin_password,
            ),
        ) as node,
    ):
        raw = gateway_config(
            tmp_path, group=group, edge=edge, imm=imm_key, meter_key=meter_key,
            moulder=moulder, meter=meter, mqtt_url=url,
        )  # fmt: skip
        config = parse_config(raw, base=tmp_path)
        site = await provision_site(hub, node, config)
        await mqtt_connected(node)
        # The gateway logs in with the edge node's own credentials from the node.
        raw["mqtt"]["password"] = site.edge_password
        config_path = tmp_path / "gateway.toml"
        config_path.write_text(_toml(raw))
        try:
            processes.append(start_gateway(config_path, log))

            async def shots(at_least: int) -> bool:
                return len(await site.points(imm_key, "shots")) >= at_least

            await eventually(lambda: shots(5), timeout_s=40)

            # The broker goes away for ~30 s; half way the gateway is killed (no goodbye, no
            # flush) and started again, while the machines go on producing.
            stop_broker(own_broker["popen"])
            cut_ms = int(time.time() * 1000)
            await asyncio.sleep(12)
            processes[-1].send_signal(signal.SIGKILL)
            processes[-1].wait(10)
            processes.append(start_gateway(config_path, log))
            await asyncio.sleep(18)
            own_broker["popen"] = start_broker(cfg)
            back_ms = int(time.time() * 1000)
            await mqtt_connected(node)

            # Everything read until now arrives (the node's own reconnect and the gateway's
            # backlog take a while; the check is on what arrives, not on how fast).
            async def caught_up() -> bool:
                stored = await site.points(imm_key, "shots")
                return bool(stored) and stored[-1][0] > back_ms + 1000

            await eventually(caught_up, timeout_s=60)
            processes[-1].send_signal(signal.SIGTERM)
            assert processes[-1].wait(30) == 0
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()

        stored = await site.points(imm_key, "shots")
        history = moulder.history["shots"]
        # Original timestamps: each stored shot count is one the machine had, at its time.
        assert in_history(stored, history), log.read_text()[-3000:]
        times = [ts for ts, _ in stored]
        assert times == sorted(set(times))
        # Nothing lost: from the first reading to the last the counter runs without a hole,
        # but for the moment the gateway was killed (what it had read and not yet journaled,
        # and what happened while no gateway ran).
        values = [int(v) for _, v in stored]
        holes = [(a, b) for a, b in zip(values, values[1:], strict=False) if b != a + 1]
        assert len(holes) <= 1, holes
        assert times[0] < cut_ms < back_ms < times[-1]
        during = [ts for ts in times if cut_ms < ts < back_ms]
        assert len(during) > 50  # ~150 counts happened while the broker was away
        # The meter's readings were journaled through the outage too, and sent late.
        meter_during = [
            ts for ts, _ in await site.points(meter_key, "power_w") if cut_ms < ts < back_ms
        ]
        assert meter_during
        # Once (the node stores a reading once per device, metric and time; the gateway
        # resends only what no PUBACK acknowledged) and the journal is empty at the end.
        status = json.loads((tmp_path / "gateway" / "status.json").read_text())
        assert status["journal"]["dropped"] == 0


def _toml(raw: dict[str, Any]) -> str:
    """Enough TOML for the test's configuration (tables, arrays of tables, scalars)."""
    lines: list[str] = []

    def scalar(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return repr(value)
        return json.dumps(str(value))

    def table(prefix: str, data: dict[str, Any], array: bool = False) -> None:
        lines.append(f"[[{prefix}]]" if array else f"[{prefix}]")
        nested: list[tuple[str, Any]] = []
        for key, value in data.items():
            if isinstance(value, dict) or (
                isinstance(value, list) and value and isinstance(value[0], dict)
            ):
                nested.append((key, value))
            elif isinstance(value, list):
                lines.append(f"{key} = [{', '.join(scalar(v) for v in value)}]")
            else:
                lines.append(f"{key} = {scalar(value)}")
        lines.append("")
        for key, value in nested:
            if isinstance(value, dict):
                table(f"{prefix}.{key}", value)
            else:
                for item in value:
                    table(f"{prefix}.{key}", item, array=True)

    for key, value in raw.items():
        if isinstance(value, list):
            for item in value:
                table(key, item, array=True)
        else:
            table(key, value)
    return "\n".join(lines)
