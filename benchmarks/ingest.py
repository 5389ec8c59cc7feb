"""Sustained accepted readings per second, MQTT publish to committed rows, on SQLite and
PostgreSQL, beside the two raw ceilings measured in the same run:

- the broker's own publish-to-subscribe rate for the same messages (QoS 1, a subscriber that
  only counts), and
- the database's raw bulk-insert rate for the same rows into a table of the same shape
  (binary COPY on PostgreSQL, executemany on SQLite, 10k-row transactions).

    python -m benchmarks.ingest [--quick] [--broker mqtt://HOST:PORT]
                                [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

By default it starts the broker a node manages (Mosquitto with dynamic security, and queues
sized for a node that falls behind: see yunfab_demo/mosquitto.py) on a free port;
`--broker` uses an existing anonymous broker instead. (A stock Mosquitto keeps at most 1000
queued messages per client and drops the rest: the broker ceiling itself would then lose
messages.)

The devices publish from a process of their own (as they do from machines of their own). The
node side is the real ingest: the MQTT consumer (persistent MQTT 5 session, manual
acknowledgement after commit), the pipeline (registry lookup, range checks, dead letters) and the
store (binary COPY on PostgreSQL, through a staging table when a batch holds readings already
stored). `lost` counts readings published but not committed. Goal: accepted >= 0.7 x the lower
ceiling, zero lost. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import secrets
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from regional_node.broker_admin import BrokerAdmin
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
from yunfab_demo.mosquitto import ManagedBrokerConfig, start_broker, stop_broker

METRICS = ("clamp_force_kn", "mould_temp_c", "melt_temp_c", "cycle_time_s")


@dataclass(frozen=True)
class Load:
    devices: int
    messages_per_device: int
    readings_per_message: int

    @property
    def readings(self) -> int:
        return self.devices * self.messages_per_device * self.readings_per_message


def messages(load: Load, prefix: str, start_ms: int) -> Iterator[tuple[str, bytes]]:
    """The same stream for every run: devices interleaved, readings spread over METRICS."""
    per_reading = len(METRICS)
    rows = load.readings_per_message // per_reading
    for m in range(load.messages_per_device):
        for d in range(load.devices):
            base = start_ms + m * rows
            body = {
                "readings": [
                    {
                        "ts": base + r,
                        "metrics": {
                            "clamp_force_kn": 800.0 + (r % 50),
                            "mould_temp_c": 60.0 + (r % 7) / 10,
                            "melt_temp_c": 230.0 + (r % 11) / 10,
                            "cycle_time_s": 28.0 + (r % 5) / 10,
                        },
                    }
                    for r in range(rows)
                ]
            }
            yield f"yunfab/v1/telemetry/{prefix}-{d:03d}", json.dumps(body).encode()


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    publisher: tuple[str, str] | None = None
    """(username, password) allowed to publish every device's telemetry."""
    ingest: tuple[str, str] | None = None
    """(username, password) of the node's consumer (and the ceiling's counting subscriber)."""


def client(broker: Broker, prefix: str, credentials: tuple[str, str] | None) -> paho.Client:
    made = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"{prefix}-{uuid.uuid4().hex[:8]}",
        protocol=paho.MQTTv5,
    )
    if credentials is not None:
        made.username_pw_set(*credentials)
    return made


class Publisher:
    """QoS 1 with a bounded in-flight window, as a well-behaved gateway publishes."""

    def __init__(self, broker: Broker, window: int = 1000) -> None:
        self.client = client(broker, "bench-pub", broker.publisher)
        host, port = broker.host, broker.port
        self.client.max_inflight_messages_set(window)
        self.client.max_queued_messages_set(0)
        self.client.connect(host, port)
        self.client.loop_start()

    def publish_all(self, stream: list[tuple[str, bytes]]) -> None:
        infos = [self.client.publish(topic, payload, qos=1) for topic, payload in stream]
        for info in infos:
            info.wait_for_publish(60)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _publish_in_child(broker: Broker, stream: list[tuple[str, bytes]], ready: Any, go: Any) -> None:
    publisher = Publisher(broker)
    ready.set()
    go.wait(60)
    publisher.publish_all(stream)
    publisher.close()


class Devices:
    """The devices' side in a process of its own, as they are on machines of their own: their
    publishing must not share the node's interpreter (and its GIL) in the measurement."""

    def __init__(self, broker: Broker, stream: list[tuple[str, bytes]]) -> None:
        context = multiprocessing.get_context("spawn")
        self.ready, self.go = context.Event(), context.Event()
        self.process = context.Process(
            target=_publish_in_child, args=(broker, stream, self.ready, self.go), daemon=True
        )
        self.process.start()
        if not self.ready.wait(60):
            raise RuntimeError("the publishing process did not connect")

    def start(self) -> None:
        self.go.set()

    def join(self) -> None:
        self.process.join(180)
        if self.process.exitcode != 0:
            raise RuntimeError(f"the publishing process failed ({self.process.exitcode})")


def broker_ceiling(broker: Broker, stream: list[tuple[str, bytes]], per_message: int) -> float:
    """Readings/s from first publish to last delivery at a subscriber that only counts."""
    prefix = stream[0][0].rsplit("-", 1)[0]
    done = threading.Event()
    received = 0
    subscribed = threading.Event()

    def on_message(client: Any, userdata: Any, message: Any) -> None:
        nonlocal received
        if not message.topic.startswith(prefix):
            return  # someone else's traffic on a shared broker
        received += 1
        if received == len(stream):
            done.set()

    subscriber = client(broker, "bench-sub", broker.ingest)
    subscriber.on_message = on_message
    subscriber.on_subscribe = lambda *args: subscribed.set()
    subscriber.connect(broker.host, broker.port)
    subscriber.loop_start()
    subscriber.subscribe("yunfab/v1/telemetry/+", qos=1)
    assert subscribed.wait(10)
    devices = Devices(broker, stream)
    started = time.perf_counter()
    devices.start()
    assert done.wait(120), f"broker ceiling: {received} of {len(stream)} delivered"
    elapsed = time.perf_counter() - started
    devices.join()
    subscriber.disconnect()
    subscriber.loop_stop()
    return len(stream) * per_message / elapsed


async def db_ceiling(url: str, rows: list[tuple[int, int, float]]) -> float:
    """Rows/s of a plain bulk insert into a table shaped like `telemetry` (same primary key)."""
    if make_url(url).get_backend_name() == "postgresql":
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        connection = await asyncpg.connect(dsn)
        try:
            # A regular (logged) table like `telemetry`: a temporary one would skip the WAL and
            # set a ceiling no durable write can reach.
            await connection.execute(
                "CREATE TABLE ceiling (series_id integer, ts_ms bigint, "
                "value double precision, PRIMARY KEY (series_id, ts_ms))"
            )
            started = time.perf_counter()
            for chunk in range(0, len(rows), 10_000):
                async with connection.transaction():
                    await connection.copy_records_to_table(
                        "ceiling", records=rows[chunk : chunk + 10_000]
                    )
            return len(rows) / (time.perf_counter() - started)
        finally:
            await connection.execute("DROP TABLE IF EXISTS ceiling")
            await connection.close()
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "CREATE TABLE ceiling (series_id integer, ts_ms bigint, value float, "
                    "PRIMARY KEY (series_id, ts_ms))"
                )
            )
        started = time.perf_counter()
        for chunk in range(0, len(rows), 10_000):
            async with engine.begin() as conn:
                await conn.exec_driver_sql(
                    "INSERT INTO ceiling VALUES (?, ?, ?)", rows[chunk : chunk + 10_000]
                )
        return len(rows) / (time.perf_counter() - started)
    finally:
        await engine.dispose()


async def provision(url: str, load: Load, prefix: str) -> dict[tuple[str, str], int]:
    """A factory with the benchmark's devices; returns their series ids."""
    engine = create_engine(url)
    series: dict[tuple[str, str], int] = {}
    async with session_scope(create_sessionmaker(engine)) as session:
        factory = Factory(slug=prefix, name=f"Bench {prefix}", status=FactoryStatus.ACTIVE)
        session.add(factory)
        await session.flush()
        for d in range(load.devices):
            device = Device(
                key=f"{prefix}-{d:03d}",
                factory_id=factory.id,
                kind=DeviceKind.DEVICE,
                type="injection_moulding",
                name=f"IMM {d}",
                status=DeviceStatus.ACTIVE,
                secret_hash="-",
            )
            session.add(device)
            await session.flush()
            for name in METRICS:
                metric = DeviceMetric(device_id=device.id, name=name, unit="1")
                session.add(metric)
                await session.flush()
                series[(device.key, name)] = metric.id
    await engine.dispose()
    return series


async def node_rate(
    url: str, broker: Broker, stream: list[tuple[str, bytes]], expected: int
) -> tuple[float, int]:
    """Readings/s from first publish to the last commit, and readings lost."""
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    registry = DeviceRegistry(sessionmaker)
    await registry.reload()
    metrics = IngestMetrics()
    pipeline = IngestPipeline(
        registry=registry,
        store=TelemetryStore(engine),
        metrics=metrics,
        events=Broadcaster[TelemetryEvent](),
        raw_retention_s=7 * 86400,
    )
    consumer = MqttIngest(
        MqttOptions(
            host=broker.host,
            port=broker.port,
            username=broker.ingest[0] if broker.ingest else None,
            password=broker.ingest[1] if broker.ingest else None,
            client_id=f"bench-node-{uuid.uuid4().hex[:8]}",
            host_id="bench",
            session_expiry_s=60,
        ),
        pipeline=pipeline,
        registry=registry,
        metrics=metrics,
    )
    await consumer.start()
    while not consumer.status.connected:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # subscriptions in place
    devices = await asyncio.to_thread(Devices, broker, stream)
    started = time.perf_counter()
    devices.start()
    accepted = metrics.readings.labels("accepted")
    deadline = time.monotonic() + 180
    while accepted._value.get() < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.005)
    elapsed = time.perf_counter() - started
    await asyncio.to_thread(devices.join)
    await consumer.stop()
    async with sessionmaker() as session:
        count = await session.scalar(select(func.count()).select_from(Reading)) or 0
    await engine.dispose()
    return expected / elapsed, expected - int(count)


def fresh_database(kind: str, scratch: Path, pg_url: str) -> tuple[str, str | None]:
    if kind == "sqlite":
        return normalize_database_url(
            sqlite_url(scratch / f"bench-{uuid.uuid4().hex[:6]}.db")
        ), None
    name = f"yunfab_bench_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        connection = await asyncpg.connect(
            make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        await connection.execute(f'CREATE DATABASE "{name}"')
        await connection.close()

    asyncio.run(create())
    return normalize_database_url(str(make_url(pg_url).set(database=name))), name


def drop_database(pg_url: str, name: str) -> None:
    async def drop() -> None:
        connection = await asyncpg.connect(
            make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()

    asyncio.run(drop())


def run_backend(
    kind: str, load: Load, broker: Broker, pg_url: str, scratch: Path
) -> dict[str, Any]:
    url, pg_name = fresh_database(kind, scratch, pg_url)
    try:
        upgrade(TREES["node"], url)
        prefix = f"bench{uuid.uuid4().hex[:6]}"
        series = asyncio.run(provision(url, load, prefix))
        start_ms = int(time.time() * 1000) - 3_600_000
        stream = list(messages(load, prefix, start_ms))
        rows = [
            (series[(topic.rsplit("/", 1)[1], name)], reading["ts"], value)
            for topic, payload in stream
            for reading in json.loads(payload)["readings"]
            for name, value in reading["metrics"].items()
        ]
        broker_rate = broker_ceiling(broker, stream, load.readings_per_message)
        database = asyncio.run(db_ceiling(url, rows))
        accepted, lost = asyncio.run(node_rate(url, broker, stream, len(rows)))
        lower = min(broker_rate, database)
        return {
            "backend": kind,
            "readings": len(rows),
            "accepted_per_s": round(accepted),
            "broker_ceiling_per_s": round(broker_rate),
            "db_ceiling_per_s": round(database),
            "ratio": round(accepted / lower, 3),
            "lost": lost,
        }
    finally:
        if pg_name is not None:
            drop_database(pg_url, pg_name)


@contextlib.contextmanager
def broker_for(url: str | None, scratch: Path) -> Iterator[Broker]:
    if url is not None:
        host, port = url.split("://", 1)[1].rsplit(":", 1)
        yield Broker(host, int(port))
        return
    cfg = ManagedBrokerConfig(
        host="127.0.0.1",
        port=free_port(),
        data_dir=scratch / "broker",
        admin_username="bench-admin",
        admin_password=secrets.token_urlsafe(16),
    )
    cfg.data_dir.mkdir()
    popen = start_broker(cfg)
    try:
        publisher = ("bench-publisher", secrets.token_urlsafe(16))
        ingest = ("bench-ingest", secrets.token_urlsafe(16))

        async def accounts() -> None:
            async with BrokerAdmin(
                cfg.host, cfg.port, cfg.admin_username, cfg.admin_password
            ) as admin:
                await admin.ensure_ingest_client(*ingest, host_id="bench")
                # One gateway publishing for every benchmark device.
                await admin.execute(
                    {
                        "command": "createRole",
                        "rolename": "bench-publisher",
                        "acls": [
                            {
                                "acltype": "publishClientSend",
                                "topic": "yunfab/v1/telemetry/#",
                                "allow": True,
                            }
                        ],
                    }
                )
                await admin.execute(
                    {
                        "command": "createClient",
                        "username": publisher[0],
                        "password": publisher[1],
                        "roles": [{"rolename": "bench-publisher"}],
                    }
                )

        asyncio.run(accounts())
        yield Broker(cfg.host, cfg.port, publisher=publisher, ingest=ingest)
    finally:
        stop_broker(popen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smaller load, within 60 s")
    parser.add_argument("--broker", help="mqtt://HOST:PORT of an existing anonymous broker")
    parser.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL server to create the scratch database on",
    )
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    load = (
        Load(devices=20, messages_per_device=25, readings_per_message=200)
        if args.quick
        else Load(devices=50, messages_per_device=60, readings_per_message=200)
    )
    results = []
    with tempfile.TemporaryDirectory() as scratch, broker_for(args.broker, Path(scratch)) as broker:
        for kind in args.backends.split(","):
            result = run_backend(kind, load, broker, args.database_url, Path(scratch))
            results.append(result)
            print(
                f"{kind:10s} accepted {result['accepted_per_s']:>9,} readings/s"
                f" | broker ceiling {result['broker_ceiling_per_s']:>9,}"
                f" | db ceiling {result['db_ceiling_per_s']:>9,}"
                f" | ratio {result['ratio']:.2f} (goal >= 0.7) | lost {result['lost']}"
            )
    lowest = min(results, key=lambda r: r["ratio"])
    print(
        json.dumps(
            {
                "benchmark": "ingest",
                "quick": args.quick,
                "accepted_per_s": lowest["accepted_per_s"],
                "broker_ceiling_per_s": lowest["broker_ceiling_per_s"],
                "db_ceiling_per_s": lowest["db_ceiling_per_s"],
                "ratio": lowest["ratio"],
                "lost": sum(r["lost"] for r in results),
                "backends": results,
            }
        )
    )


if __name__ == "__main__":
    main()
