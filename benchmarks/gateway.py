"""Edge gateway throughput: points per second from OPC UA subscriptions and from Modbus polling
to rows committed on a node, beside the raw read rate of the same peers in the same run.

    python -m benchmarks.gateway [--quick] [--machines N] [--seconds S]

The peers run in a process of their own (as machines are machines of their own): N simulated
moulding machines behind asyncua servers writing their EUROMAP-77-like variables every 10 ms,
and N Modbus TCP meters (pymodbus) with 40 float32 input registers read in one request.

- reference, OPC UA: a bare asyncua client subscribed to the same variables (same sampling and
  publishing intervals), counting data changes per second;
- reference, Modbus: a bare pymodbus client reading the same 40-register block in a loop,
  points per second (40 a read);
- gateway: `yunfab gateway run` (its own process) with the same peers, no deadbands, Modbus
  polled as fast as answers come, journaling every reading (SQLite WAL, fsync per
  transaction) and publishing Sparkplug B (QoS 1, PUBACK before the journal lets go) to a
  Mosquitto, from which the node's real ingest (MQTT consumer, Sparkplug host, pipeline,
  SQLite store) commits them. Its figure is the rows the node committed per second of the
  gateway's run (each protocol on its own), with `lost` the readings the gateway journaled
  that never reached the node.

Ends with one JSON line. On two shared cores every process competes with the others: the
figures are for comparing runs on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from asyncua import ua
from asyncua.client.client import Client
from pymodbus.client import AsyncModbusTcpClient
from sqlalchemy import func, select

from regional_node.devices.models import Device, DeviceKind, DeviceMetric, DeviceStatus
from regional_node.devices.registry import DeviceRegistry
from regional_node.factories.models import Factory, FactoryStatus
from regional_node.telemetry.metrics import IngestMetrics
from regional_node.telemetry.models import Reading
from regional_node.telemetry.mqtt import MqttIngest, MqttOptions
from regional_node.telemetry.pipeline import IngestPipeline, TelemetryEvent
from regional_node.telemetry.store import TelemetryStore
from yunfab.db import create_engine, create_sessionmaker, session_scope
from yunfab.events import Broadcaster
from yunfab.migrations import TREES, upgrade
from yunfab.processes import free_port
from yunfab.settings import normalize_database_url, sqlite_url
from yunfab_gateway.config import load_profile
from yunfab_gateway.journal import Journal

REGISTERS = 40
"""float32 points per meter, one 80-register read."""
OPC_PATHS = [
    p["path"] for p in load_profile("euromap77")["points"] if p.get("kind", "number") != "string"
]


# --- the peers, in their own process -----------------------------------------------------------


def _peers(machines: int, ports: Any, stop: Any) -> None:
    from yunfab_demo.machines import SimulatedMeter, SimulatedMoulder
    from yunfab_gateway.config import RegisterType

    wide = {f"p{i:02d}": (2 * i, RegisterType.FLOAT32) for i in range(REGISTERS)}

    class WideMeter(SimulatedMeter):
        def values(self) -> dict[str, Any]:
            return {name: 100.0 + i + self._rng.random() for i, name in enumerate(wide)}

    async def main() -> None:
        moulders = [SimulatedMoulder(period_s=0.01, seed=i) for i in range(machines)]
        meters = [WideMeter(seed=i, inputs=wide, holding={}) for i in range(machines)]
        peers: list[SimulatedMoulder | SimulatedMeter] = [*moulders, *meters]
        for peer in peers:
            await peer.start()
        ports.put(([m.url for m in moulders], [m.port for m in meters]))
        while not stop.is_set():
            await asyncio.sleep(0.2)
            for moulder in moulders:
                moulder.history.clear()  # only what the gateway read matters here
        for peer in peers:
            await peer.stop()

    asyncio.run(main())


# --- references: the same peers read by bare clients ------------------------------------------


class _Count:
    def __init__(self) -> None:
        self.changes = 0

    def datachange_notification(self, node: Any, val: Any, data: Any) -> None:
        self.changes += 1


async def opcua_reference(urls: list[str], seconds: float) -> float:
    """Data changes per second a bare subscription receives from all machines."""
    counter = _Count()
    clients = []
    for url in urls:
        client = Client(url)
        await client.connect()
        clients.append(client)
        namespaces = await client.get_namespace_array()
        machine = await client.nodes.objects.get_child(
            f"{namespaces.index('http://www.euromap.org/euromap77/')}:IMM_01"
        )
        nodes = []
        for path in OPC_PATHS:
            node = machine
            for step in path.split("/"):
                prefix, name = step.split(":")
                uri = {
                    "e77": "http://www.euromap.org/euromap77/",
                    "e83": "http://www.euromap.org/euromap83/",
                }[prefix]
                node = await node.get_child(f"{namespaces.index(uri)}:{name}")
            nodes.append(node)
        subscription = await client.create_subscription(50, counter)
        await subscription.subscribe_data_change(
            nodes, queuesize=10, sampling_interval=ua.Double(0)
        )
    await asyncio.sleep(1.0)  # initial values in
    start, started = counter.changes, time.perf_counter()
    await asyncio.sleep(seconds)
    rate = (counter.changes - start) / (time.perf_counter() - started)
    for client in clients:
        await client.disconnect()
    return rate


async def modbus_reference(ports: list[int], seconds: float) -> float:
    """Points per second bare clients read, one request of 40 float32 points at a time each."""
    reads = 0
    deadline = time.perf_counter() + seconds

    async def poll(port: int) -> None:
        nonlocal reads
        client = AsyncModbusTcpClient("127.0.0.1", port=port, retries=0)
        await client.connect()
        while time.perf_counter() < deadline:
            response = await client.read_input_registers(0, count=2 * REGISTERS, device_id=1)
            assert not response.isError()
            reads += 1
        client.close()

    started = time.perf_counter()
    await asyncio.gather(*(poll(port) for port in ports))
    return reads * REGISTERS / (time.perf_counter() - started)


# --- the node side: its real ingest, counting committed rows -----------------------------------


async def provision(url: str, group: str, edge: str, devices: dict[str, list[str]]) -> None:
    engine = create_engine(url)
    async with session_scope(create_sessionmaker(engine)) as session:
        factory = Factory(slug=group, name=f"Bench {group}", status=FactoryStatus.ACTIVE)
        session.add(factory)
        await session.flush()
        gateway = Device(
            key=edge,
            factory_id=factory.id,
            kind=DeviceKind.EDGE_NODE,
            type="gateway",
            name="gateway",
            status=DeviceStatus.ACTIVE,
            secret_hash="-",
        )
        session.add(gateway)
        await session.flush()
        names = ["gateway_points_in_error", "gateway_values_refused", "gateway_read_errors",
                 "gateway_journal_rows", "gateway_journal_dropped"]  # fmt: skip
        for name in names:
            session.add(DeviceMetric(device_id=gateway.id, name=name, unit="1"))
        for key, metrics in devices.items():
            device = Device(
                key=key,
                factory_id=factory.id,
                kind=DeviceKind.DEVICE,
                type="bench",
                name=key,
                status=DeviceStatus.ACTIVE,
                secret_hash="-",
                edge_node_id=gateway.id,
            )
            session.add(device)
            await session.flush()
            for name in [*metrics, "gateway_point_errors"]:
                session.add(DeviceMetric(device_id=device.id, name=name, unit="1"))
    await engine.dispose()


class NodeSide:
    def __init__(self, url: str, port: int) -> None:
        self.url, self.port = url, port

    async def __aenter__(self) -> NodeSide:
        self.engine = create_engine(self.url)
        self.sessionmaker = create_sessionmaker(self.engine)
        registry = DeviceRegistry(self.sessionmaker)
        await registry.reload()
        self.metrics = IngestMetrics()
        pipeline = IngestPipeline(
            registry=registry,
            store=TelemetryStore(self.engine),
            metrics=self.metrics,
            events=Broadcaster[TelemetryEvent](),
            raw_retention_s=7 * 86400,
        )
        self.consumer = MqttIngest(
            MqttOptions(
                host="127.0.0.1",
                port=self.port,
                client_id=f"bench-node-{uuid.uuid4().hex[:8]}",
                host_id="bench",
                session_expiry_s=120,
            ),
            pipeline=pipeline,
            registry=registry,
            metrics=self.metrics,
        )
        await self.consumer.start()
        while not self.consumer.status.connected:
            await asyncio.sleep(0.05)
        return self

    async def rows(self, prefix: str) -> int:
        async with self.sessionmaker() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(Reading)
                .join(DeviceMetric, DeviceMetric.id == Reading.series_id)
                .join(Device, Device.id == DeviceMetric.device_id)
                .where(Device.key.startswith(prefix), DeviceMetric.name != "gateway_point_errors")
            )
        return int(count or 0)

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()
        await self.engine.dispose()


def broker(scratch: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    conf = scratch / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 100000\n"
        "max_inflight_messages 100\npersistence false\n"
    )
    popen = subprocess.Popen(
        ["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(0.5)
    return popen, port


def gateway_toml(
    scratch: Path, group: str, edge: str, port: int, urls: list[str], meters: list[int], kind: str
) -> Path:
    lines = [
        "[gateway]",
        f'group = "{group}"',
        f'edge_node = "{edge}"',
        f'data_dir = "{scratch / kind}"',
        "status_interval_s = 3600",
        "[mqtt]",
        f'url = "mqtt://127.0.0.1:{port}"',
        "window = 64",
        "batch = 500",
        "[journal]",
        'synchronous = "full"',
    ]
    if kind == "opcua":
        for n, url in enumerate(urls):
            lines += [
                "[[opcua]]",
                f'name = "imm-{n}"',
                f'device = "{group}-imm-{n}"',
                f'url = "{url}"',
                'root = "e77:IMM_01"',
                'namespaces = { e77 = "http://www.euromap.org/euromap77/", '
                'e83 = "http://www.euromap.org/euromap83/" }',
                "sampling_interval_ms = 1",
                "publishing_interval_ms = 50",
            ]
            for path in OPC_PATHS:
                metric = path.rsplit(":", 1)[1].lower()
                lines += ["[[opcua.points]]", f'metric = "{metric}"', f'path = "{path}"']
    else:
        for n, meter_port in enumerate(meters):
            lines += [
                "[[modbus]]",
                f'name = "meter-{n}"',
                f'device = "{group}-meter-{n}"',
                'host = "127.0.0.1"',
                f"port = {meter_port}",
                "[[modbus.groups]]",
                "interval_s = 0.0001",
            ]
            for i in range(REGISTERS):
                lines += [
                    "[[modbus.groups.points]]",
                    f'metric = "p{i:02d}"',
                    'table = "input"',
                    f"address = {2 * i}",
                    'type = "float32"',
                ]
    path = scratch / f"{kind}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


async def gateway_rate(
    node: NodeSide, config: Path, data_dir: Path, prefix: str, seconds: float
) -> tuple[float, int, float]:
    """Rows/s the node committed from the gateway's readings, over the gateway's run (first
    committed row to the last, after its peers' values stopped being read), and readings lost
    (journaled by the gateway, never committed), and readings journaled per second."""
    before = await node.rows(prefix)
    process = subprocess.Popen(
        [sys.executable, "-m", "yunfab_cli", "gateway", "run", "--config", str(config),
         "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        while await node.rows(prefix) == before:
            await asyncio.sleep(0.05)
            if process.poll() is not None:
                raise RuntimeError(f"the gateway exited with {process.returncode}")
        started = time.perf_counter()
        await asyncio.sleep(seconds)
        process.send_signal(signal.SIGTERM)
        await asyncio.to_thread(process.wait, 60)
        stopped = time.perf_counter()
    finally:
        if process.poll() is None:
            process.kill()
    # What the gateway took but had not sent when it stopped stays in its journal (it would go
    # with the next run): it is not lost, and not counted either.
    journal = Journal(data_dir / "journal.db")
    stats = journal.stats()
    journal.close()
    await asyncio.sleep(1.0)
    committed = await node.rows(prefix) - before
    lost = stats.appended - stats.rows - committed
    return committed / (stopped - started), max(lost, 0), stats.appended / (stopped - started)


async def run(machines: int, seconds: float, scratch: Path) -> dict[str, Any]:
    url = normalize_database_url(sqlite_url(scratch / "node.db"))
    group, edge = f"bench-{uuid.uuid4().hex[:6]}", "bench-gw"
    devices = {
        f"{group}-imm-{n}": [p.rsplit(":", 1)[1].lower() for p in OPC_PATHS]
        for n in range(machines)
    }
    devices.update(
        {f"{group}-meter-{n}": [f"p{i:02d}" for i in range(REGISTERS)] for n in range(machines)}
    )
    await provision(url, group, edge, devices)
    popen, port = broker(scratch)
    context = multiprocessing.get_context("spawn")
    ports, stop = context.Queue(), context.Event()
    peers = context.Process(target=_peers, args=(machines, ports, stop), daemon=True)
    peers.start()
    try:
        urls, meter_ports = await asyncio.to_thread(ports.get, True, 60)
        opc_ref = await opcua_reference(urls, seconds)
        modbus_ref = await modbus_reference(meter_ports, seconds)
        async with NodeSide(url, port) as node:
            results = {}
            for kind in ("opcua", "modbus"):
                config = gateway_toml(scratch, group, edge, port, urls, meter_ports, kind)
                prefix = f"{group}-imm-" if kind == "opcua" else f"{group}-meter-"
                results[kind] = await gateway_rate(node, config, scratch / kind, prefix, seconds)
    finally:
        stop.set()
        peers.join(30)
        popen.terminate()
        popen.wait(10)
    return {
        "machines": machines,
        "opcua_reference_points_per_s": round(opc_ref),
        "opcua_gateway_points_per_s": round(results["opcua"][0]),
        "opcua_ratio": round(results["opcua"][0] / opc_ref, 3),
        "opcua_lost": results["opcua"][1],
        "opcua_journaled_points_per_s": round(results["opcua"][2]),
        "modbus_reference_points_per_s": round(modbus_ref),
        "modbus_gateway_points_per_s": round(results["modbus"][0]),
        "modbus_ratio": round(results["modbus"][0] / modbus_ref, 3),
        "modbus_lost": results["modbus"][1],
        "modbus_journaled_points_per_s": round(results["modbus"][2]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one machine of each, 8 s each")
    parser.add_argument("--machines", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None)
    args = parser.parse_args()
    machines = args.machines or (1 if args.quick else 2)
    seconds = args.seconds or (8.0 if args.quick else 20.0)
    os.environ.setdefault("YUNFAB_NODE_ENV", "development")
    with tempfile.TemporaryDirectory(prefix="yunfab-gateway-bench-") as scratch:
        upgrade(TREES["node"], normalize_database_url(sqlite_url(Path(scratch) / "node.db")))
        result = asyncio.run(run(machines, seconds, Path(scratch)))
    print(
        f"OPC UA   {result['opcua_gateway_points_per_s']:>7} points/s committed on the node "
        f"(bare subscription: {result['opcua_reference_points_per_s']}/s, "
        f"ratio {result['opcua_ratio']}, lost {result['opcua_lost']}; "
        f"journaled {result['opcua_journaled_points_per_s']}/s)"
    )
    print(
        f"Modbus   {result['modbus_gateway_points_per_s']:>7} points/s committed on the node "
        f"(bare polling: {result['modbus_reference_points_per_s']}/s, "
        f"ratio {result['modbus_ratio']}, lost {result['modbus_lost']}; "
        f"journaled {result['modbus_journaled_points_per_s']}/s)"
    )
    print(json.dumps({"benchmark": "gateway", **result}))


if __name__ == "__main__":
    main()
