"""Scale-out engines against their single-process references, in one run (issue #22).

- events: the latency of a domain event (a telemetry event of 8 readings) from a publish on one
  replica to a subscriber on another, through NATS JetStream (`yunfab.event_bus`, two
  connections), p50/p95/p99 at a steady 1,000 events/s, and the burst throughput (events/s until
  the subscriber has all of a burst); reference: the in-process broadcaster (`yunfab.events`)
  measured the same way.
- blobs: a 20 MiB model written and read back through S3 (SeaweedFS started by this script,
  `weed server -s3`) and through the node's directory (the embedded default), MiB/s each way.
- ingest: readings/s accepted, from the devices' first publish until every reading is a
  committed row in PostgreSQL (counted there: `lost` is what never arrived), with one and with
  two `yunfab node ingest` processes splitting the stream (an MQTT 5 shared subscription on the
  node's managed Mosquitto); reference: the same consumer inside this process, as an API process
  runs it (the embedded default). The devices publish from a process of their own.
- jobs: jobs/s of `telemetry.rollup` (recompute one device's four series' minute and hour
  rollups over 500 readings each: a claim, eight upserts over the raw table and the outcome,
  each committed), from the first submit until every job succeeded, with one and with two
  `yunfab node worker` processes on the node's JetStream work queue; reference: the in-process
  queue worked by a task of this process (the embedded default). `failed` and `unfinished`
  count jobs that did not succeed.

The node's processes start while the blobs are measured (a Python process takes seconds to
import on a busy machine); each second process waits, imported, at a gate until the run it must
stay out of is over. No ingest or job run is measured while a process starts. Progress goes
to stderr.

    python -m benchmarks.scale [--quick] [--nats URL] [--database-url URL]
                               [--sections events,blobs,ingest,jobs]

Ends with one JSON line (each figure beside its reference).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text

from benchmarks.ingest import (
    METRICS,
    Broker,
    Load,
    Publisher,
    broker_for,
    drop_database,
    fresh_database,
    messages,
    provision,
)
from regional_node.audit.service import AuditLog
from regional_node.devices.registry import DeviceRegistry
from regional_node.identity.service import ensure_identity
from regional_node.jobs.service import create_job
from regional_node.runtime import build_runtime
from regional_node.settings import NodeSettings
from regional_node.telemetry import jobs as telemetry_jobs
from regional_node.telemetry.metrics import IngestMetrics
from regional_node.telemetry.mqtt import MqttIngest, MqttOptions
from regional_node.telemetry.pipeline import IngestPipeline, TelemetryEvent
from regional_node.telemetry.store import TelemetryStore
from regional_node.workers import job_runner
from yunfab.authorization import Authorizer
from yunfab.blobs import BlobStore, FileBlobStore, S3BlobStore, S3Location
from yunfab.db import create_engine, create_sessionmaker, session_scope
from yunfab.event_bus import NatsEventBus
from yunfab.events import Broadcaster
from yunfab.jobs import InProcessJobs, NatsJobs
from yunfab.migrations import TREES, upgrade
from yunfab.policy import create_engine as create_policy_engine
from yunfab.processes import free_port, yunfab_argv
from yunfab.service import Database
from yunfab.subject import SYSTEM


@dataclass(frozen=True)
class Sample:
    """What a telemetry event carries, with the publisher's clock."""

    sent_ns: int
    device_key: str
    readings: tuple[tuple[str, int, float], ...]


READINGS = tuple((f"metric_{i}", 1_700_000_000_000 + i, 800.0 + i) for i in range(8))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(
    publisher: Broadcaster[Sample], subscriber: Broadcaster[Sample], *, steady: int, burst: int
) -> dict[str, float]:
    latencies: list[float] = []
    received = 0
    done = asyncio.Event()
    target = steady

    async def listen() -> None:
        nonlocal received
        async for event in subscriber.subscribe():
            latencies.append((time.perf_counter_ns() - event.sent_ns) / 1e6)
            received += 1
            if received >= target:
                done.set()

    task = asyncio.create_task(listen())
    await asyncio.sleep(0.3)
    # Steady: 1,000 events a second, in ticks of 10.
    start = time.perf_counter()
    for i in range(steady):
        publisher.publish(Sample(time.perf_counter_ns(), "imm-01", READINGS))
        if i % 10 == 9:
            await asyncio.sleep(max(0.0, start + (i + 1) / 1000 - time.perf_counter()))
    await asyncio.wait_for(done.wait(), 60)
    steady_latencies = list(latencies)
    # Burst: as fast as the publisher can, until the subscriber has them all.
    latencies.clear()
    received, target = 0, burst
    done.clear()
    start = time.perf_counter()
    for i in range(burst):
        publisher.publish(Sample(time.perf_counter_ns(), "imm-01", READINGS))
        if i % 500 == 499:
            await asyncio.sleep(0)  # let the sender and the subscriber run
    await asyncio.wait_for(done.wait(), 120)
    elapsed = time.perf_counter() - start
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return {
        "p50_ms": round(statistics.median(steady_latencies), 3),
        "p95_ms": round(percentile(steady_latencies, 0.95), 3),
        "p99_ms": round(percentile(steady_latencies, 0.99), 3),
        "burst_events_per_s": round(burst / elapsed),
    }


async def events(nats_url: str, quick: bool) -> dict[str, Any]:
    steady, burst = (2000, 10_000) if quick else (10_000, 50_000)
    local: Broadcaster[Sample] = Broadcaster(queue_size=burst + 10)
    reference = await measure(local, local, steady=steady, burst=burst)
    scope = f"bench-{uuid.uuid4().hex[:8]}"
    replica_a = await NatsEventBus.connect(nats_url, scope=scope, max_age_s=60)
    replica_b = await NatsEventBus.connect(nats_url, scope=scope, max_age_s=60)
    try:
        on_a = await replica_a.broadcaster("samples", Sample, queue_size=burst + 10)
        on_b = await replica_b.broadcaster("samples", Sample, queue_size=burst + 10)
        across = await measure(on_b, on_a, steady=steady, burst=burst)
    finally:
        with contextlib.suppress(Exception):  # nothing of the benchmark stays on the server
            await replica_a.js.delete_stream(f"YUNFAB_EVENTS_{replica_a.scope}")
        await replica_a.close()
        await replica_b.close()
    return {"nats_across_replicas": across, "in_process": reference}


def port_pair() -> int:
    """A free port whose gRPC twin (SeaweedFS serves gRPC on port + 10000) is free too."""
    for _ in range(50):
        port = free_port()
        if port + 10_000 > 65535:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 10_000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair for SeaweedFS")


def start_seaweed(root: Path) -> tuple[subprocess.Popen[bytes], S3Location]:
    weed = Path(sys.executable).parent / "weed"
    ports = [port_pair() for _ in range(4)]
    key, secret = "bench", uuid.uuid4().hex
    config = root / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "bench",
                        "credentials": [{"accessKey": key, "secretKey": secret}],
                        "actions": ["Admin", "Read", "Write", "List"],
                    }
                ]
            }
        )
    )
    process = subprocess.Popen(
        [
            str(weed),
            "server",
            f"-dir={root}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={ports[0]}",
            f"-volume.port={ports[1]}",
            f"-filer.port={ports[2]}",
            "-s3",
            f"-s3.port={ports[3]}",
            f"-s3.config={config}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.volumeSizeLimitMB=256",
            "-volume.max=16",
        ],  # fmt: skip
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    location = S3Location(
        bucket="bench",
        endpoint_url=f"http://127.0.0.1:{ports[3]}",
        access_key_id=key,
        secret_access_key=secret,
    )
    store = S3BlobStore(location)
    deadline = time.monotonic() + 60
    while True:
        try:
            store.ensure_bucket()
            store.put_bytes("ready", b"1")
            return process, location
        except Exception:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.3)


def blob_rate(store: BlobStore, source: Path, work: Path, rounds: int) -> dict[str, float]:
    size_mib = source.stat().st_size / 1024 / 1024
    up: list[float] = []
    down: list[float] = []
    for i in range(rounds):
        start = time.perf_counter()
        store.put_file(f"vision/bench/model-{i}.pt", source)
        up.append(time.perf_counter() - start)
        start = time.perf_counter()
        store.download(f"vision/bench/model-{i}.pt", work / f"copy-{i}.pt")
        down.append(time.perf_counter() - start)
    return {
        "put_mib_per_s": round(size_mib / statistics.median(up), 1),
        "get_mib_per_s": round(size_mib / statistics.median(down), 1),
    }


def blobs(quick: bool) -> dict[str, Any]:
    rounds = 2 if quick else 10
    with tempfile.TemporaryDirectory(prefix="yunfab-scale-") as tmp:
        root = Path(tmp)
        source = root / "model.pt"
        source.write_bytes(os.urandom(20 * 1024 * 1024))
        (root / "weed").mkdir()
        (root / "s3-copies").mkdir()
        (root / "dir-copies").mkdir()
        process, location = start_seaweed(root / "weed")
        try:
            s3 = blob_rate(S3BlobStore(location), source, root / "s3-copies", rounds)
        finally:
            process.kill()  # SeaweedFS takes its time over SIGTERM; nothing here is kept
            process.wait(10)
        directory = blob_rate(FileBlobStore(root / "store"), source, root / "dir-copies", rounds)
    return {"s3_seaweedfs": s3, "directory": directory, "object_mib": 20}


# -- ingest and jobs: node processes against their in-process references ---------------------

NODE = "bench"
"""The benchmark node's name (the managed broker's ingest client speaks as Sparkplug host
`bench`). Its NATS jobs queue (`YUNFAB_JOBS_node-bench`) is deleted after each run."""

T0 = time.perf_counter()


def progress(step: str) -> None:
    """Where the run is, on stderr (the figures and the JSON line go to stdout)."""
    print(f"[{time.perf_counter() - T0:6.1f} s] {step}", file=sys.stderr, flush=True)


PRELOAD = """
import pathlib, sys, time
import yunfab_cli.main, regional_node.ingest_process, regional_node.workers
print("held_at_gate", flush=True)
gate = pathlib.Path(sys.argv[1])
while not gate.exists():
    time.sleep(0.02)
sys.argv = ["yunfab", *sys.argv[2:]]
yunfab_cli.main.main()
"""
"""A process held at a gate once it has imported what it needs (seconds, on a busy machine):
released, it is `yunfab node <command>` as started from the shell."""


class NodeProcess:
    """One `yunfab node <command>` process, its output in a log file; with `gate`, started
    ahead and held until `release` (the start-up it spends importing is not what is measured,
    and it joins no run before its own)."""

    def __init__(
        self, command: str, env: dict[str, str], log: Path, gate: Path | None = None
    ) -> None:
        self.command = command
        self.log = log
        self.gate = gate
        argv = yunfab_argv("node", command)
        if gate is not None:
            argv = [sys.executable, "-c", PRELOAD, str(gate), "node", command]
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                argv,
                env={**os.environ, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def release(self) -> None:
        if self.gate is not None:
            self.gate.touch()

    def wait_for(self, marker: str, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        while marker not in self.log.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"yunfab node {self.command} did not start:\n"
                    + self.log.read_text(errors="replace")[-3000:]
                )
            time.sleep(0.05)

    def stop(self, grace_s: float = 30) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        if self.process.returncode is None:
            try:
                self.process.wait(grace_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def node_env(url: str, data_dir: Path, **settings: Any) -> dict[str, str]:
    values = {
        "env": "development",
        "name": NODE,
        "region": "CN-ZJ",
        "industry": "textile",
        "database_url": url,
        "data_dir": str(data_dir),
        "log_format": "json",
        **settings,
    }
    return {f"YUNFAB_NODE_{key.upper()}": str(value) for key, value in values.items()}


async def until_stored(url: str, lo_ms: int, hi_ms: int, expected: int, timeout_s: float) -> int:
    """Rows in [lo_ms, hi_ms) once there are `expected` (or what there is at the timeout)."""
    engine = create_engine(url)
    query = text("SELECT count(*) FROM telemetry WHERE ts_ms >= :lo AND ts_ms < :hi")
    deadline = time.monotonic() + timeout_s
    try:
        async with engine.connect() as conn:
            while True:
                found = int(await conn.scalar(query, {"lo": lo_ms, "hi": hi_ms}) or 0)
                await conn.commit()  # a fresh snapshot for the next count
                if found >= expected or time.monotonic() > deadline:
                    return found
                await asyncio.sleep(0.05)
    finally:
        await engine.dispose()


def _devices_child(broker: Broker, conn: Any) -> None:
    """The devices, in a process of their own for the whole run (it starts once: a process
    takes seconds to import what it needs), publishing each stream they are sent on "go"."""
    publisher = Publisher(broker)
    conn.send("connected")
    while True:
        stream = conn.recv()
        if stream is None:
            break
        conn.send("ready")
        conn.recv()  # go
        publisher.publish_all(stream)
        conn.send("done")
    publisher.close()


class DevicesProcess:
    def __init__(self, broker: Broker) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_devices_child, args=(broker, child), daemon=True)
        self.process.start()
        self.connected = False

    def _expect(self, word: str, timeout_s: float) -> None:
        if not self.conn.poll(timeout_s):
            raise RuntimeError(f"the devices' process did not say {word!r}")
        said = self.conn.recv()
        if said != word:
            raise RuntimeError(f"the devices' process said {said!r}, not {word!r}")

    def wait_connected(self) -> None:
        if not self.connected:
            self._expect("connected", 120)
            self.connected = True

    def load(self, stream: list[tuple[str, bytes]]) -> None:
        self.wait_connected()
        self.conn.send(stream)
        self._expect("ready", 60)

    def go(self) -> None:
        self.conn.send("go")

    def wait_done(self) -> None:
        self._expect("done", 180)

    def close(self) -> None:
        if self.process.is_alive():
            with contextlib.suppress(OSError):
                self.conn.send(None)
            self.process.join(10)
            if self.process.is_alive():
                self.process.kill()


def timed_publish(
    url: str, devices: DevicesProcess, stream: list[tuple[str, bytes]], span: tuple[int, int]
) -> dict[str, Any]:
    """Publish `stream` from the devices' process; readings/s until all are stored rows."""
    n = sum(len(json.loads(payload)["readings"]) * len(METRICS) for _, payload in stream)
    devices.load(stream)
    started = time.perf_counter()
    devices.go()
    stored = asyncio.run(until_stored(url, span[0], span[1], n, timeout_s=180))
    elapsed = time.perf_counter() - started
    devices.wait_done()
    return {"readings": n, "accepted_per_s": round(n / elapsed), "lost": n - stored}


async def in_process_consumer(url: str, broker: Broker) -> tuple[MqttIngest, Any]:
    """The node's consumer and pipeline as an API process runs them (in-process events)."""
    engine = create_engine(url)
    registry = DeviceRegistry(create_sessionmaker(engine))
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
            client_id=f"bench-api-{uuid.uuid4().hex[:8]}",
            host_id=NODE,
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
    return consumer, engine


def ingest_reference(
    url: str,
    broker: Broker,
    devices: DevicesProcess,
    stream: list[tuple[str, bytes]],
    span: tuple[int, int],
) -> dict[str, Any]:
    """The consumer in this process, on an event loop of its own (a thread)."""
    ready = threading.Event()
    done = threading.Event()
    failure: list[BaseException] = []

    def serve() -> None:
        async def consume() -> None:
            consumer, engine = await in_process_consumer(url, broker)
            ready.set()
            while not done.is_set():
                await asyncio.sleep(0.05)
            await consumer.stop()
            await engine.dispose()

        try:
            asyncio.run(consume())
        except BaseException as exc:
            failure.append(exc)
            ready.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait(60)
    if failure:
        raise failure[0]
    try:
        return timed_publish(url, devices, stream, span)
    finally:
        done.set()
        thread.join(30)


async def identity(url: str) -> None:
    """The node's identity row, before its processes start side by side (each checks it)."""
    engine = create_engine(url)
    try:
        async with session_scope(create_sessionmaker(engine)) as session:
            await ensure_identity(session, name=NODE, region="CN-ZJ", industry="textile")
    finally:
        await engine.dispose()


async def queue_rollups(
    url: str, count: int, label: str, span: tuple[int, int]
) -> list[tuple[uuid.UUID, str]]:
    """`count` rollup jobs (rows only), each over one device's series over `span` (ms)."""
    engine = create_engine(url)
    try:
        async with session_scope(create_sessionmaker(engine)) as session:
            rows = (
                await session.execute(
                    text(
                        "SELECT d.factory_id, m.device_id, m.id FROM device_metrics m "
                        "JOIN devices d ON d.id = m.device_id ORDER BY m.device_id, m.id"
                    )
                )
            ).all()
            devices: dict[Any, tuple[Any, list[int]]] = {}
            for factory_id, device_id, series in rows:
                devices.setdefault(device_id, (factory_id, []))[1].append(int(series))
            lo_ms, hi_ms = span
            made = []
            targets = list(devices.values())
            for i in range(count):
                factory_id, series = targets[i % len(targets)]
                job, _ = await create_job(
                    session, SYSTEM, kind=telemetry_jobs.ROLLUP, key=f"{label}-{i}",
                    factory_id=factory_id, action=telemetry_jobs.ACTION,
                    payload={"series": series, "lo_ms": lo_ms, "hi_ms": hi_ms},
                )  # fmt: skip
                made.append((job.id, job.kind))
            return made
    finally:
        await engine.dispose()


async def until_done(url: str, label: str, count: int, timeout_s: float) -> dict[str, int]:
    engine = create_engine(url)
    query = text(
        "SELECT status, count(*) FROM jobs WHERE key LIKE :prefix "
        "AND status IN ('succeeded', 'failed') GROUP BY status"
    )
    deadline = time.monotonic() + timeout_s
    try:
        async with engine.connect() as conn:
            while True:
                rows = (await conn.execute(query, {"prefix": f"{label}-%"})).all()
                await conn.commit()
                done = {str(status): int(found) for status, found in rows}
                if sum(done.values()) >= count or time.monotonic() > deadline:
                    return done
                await asyncio.sleep(0.05)
    finally:
        await engine.dispose()


def job_row(count: int, elapsed: float, done: dict[str, int], workers: int) -> dict[str, Any]:
    return {
        "jobs": count,
        "jobs_per_s": round(count / elapsed, 1),
        "failed": done.get("failed", 0),
        "unfinished": count - sum(done.values()),
        "workers": workers,
    }


async def jobs_in_process(
    url: str, count: int, span: tuple[int, int], scratch: Path
) -> dict[str, Any]:
    """The embedded path: the node's runtime and job runner in this process, one task."""
    settings = NodeSettings(
        env="development", name=NODE, region="CN-ZJ", industry="textile",
        database_url=url, data_dir=scratch / "jobs-api",
    )  # fmt: skip
    db = Database.open(settings.db_url)
    audit = AuditLog(db.sessionmaker)
    authorizer = Authorizer(
        create_policy_engine(settings.policy_engine, settings.opa_url),
        context={"service": "node", "node_name": NODE, "node_region": "CN-ZJ"},
        audit=audit.append,
    )
    runtime = await build_runtime(settings, db, authorizer, audit)
    queue = InProcessJobs()
    stop = asyncio.Event()
    worker = asyncio.create_task(queue.work(job_runner(runtime, db, settings).run, stop))
    try:
        label = f"api-{uuid.uuid4().hex[:6]}"
        made = await queue_rollups(url, count, label, span)
        started = time.perf_counter()
        for job_id, kind in made:
            await queue.submit(job_id, kind)
        done = await until_done(url, label, count, timeout_s=600)
        return job_row(count, time.perf_counter() - started, done, 0)
    finally:
        stop.set()
        await worker
        await runtime.close_events()
        await db.close()


async def jobs_on_nats(
    url: str, nats_url: str, count: int, span: tuple[int, int], workers: int
) -> dict[str, Any]:
    queue = await NatsJobs.connect(nats_url, scope=f"node-{NODE}")
    try:
        label = f"w{workers}-{uuid.uuid4().hex[:6]}"
        made = await queue_rollups(url, count, label, span)
        started = time.perf_counter()
        for job_id, kind in made:
            await queue.submit(job_id, kind)
        done = await until_done(url, label, count, timeout_s=600)
        return job_row(count, time.perf_counter() - started, done, workers)
    finally:
        await queue.close()


async def drop_jobs_queue(nats_url: str) -> None:
    import nats

    nc = await nats.connect(nats_url)
    try:
        for stream in (f"YUNFAB_JOBS_node-{NODE}", f"YUNFAB_EVENTS_node-{NODE}"):
            with contextlib.suppress(Exception):
                await nc.jetstream().delete_stream(stream)
    finally:
        await nc.close()


class NodeBench:
    """Ingest and jobs on one node database, broker and NATS. `prepare` starts what takes long
    to start (the devices' process, the first ingest process and worker: a process takes
    seconds to import and connect), so that it happens while other sections measure; a second
    process joins only once the run it must stay out of is over."""

    def __init__(
        self, quick: bool, pg_url: str, nats_url: str, scratch: Path, sections: list[str]
    ) -> None:
        self.load = (
            Load(devices=20, messages_per_device=10, readings_per_message=200)
            if quick
            else Load(devices=50, messages_per_device=40, readings_per_message=200)
        )
        self.count = 30 if quick else 300
        self.pg_url, self.nats_url, self.scratch = pg_url, nats_url, scratch
        self.want_ingest, self.want_jobs = "ingest" in sections, "jobs" in sections
        self.stack = contextlib.ExitStack()
        self.started: list[NodeProcess] = []
        self.url = ""
        self.per_run = self.load.messages_per_device * (self.load.readings_per_message // 4)
        self.base = int(time.time() * 1000) - 3 * 3_600_000
        self.prefix = f"bench{uuid.uuid4().hex[:6]}"
        self.group = f"ingest-{uuid.uuid4().hex[:6]}"
        self.ingest_env: dict[str, str] = {}
        self.worker_env: dict[str, str] = {}
        self.consumer_a: NodeProcess | None = None
        self.consumer_b: NodeProcess | None = None
        self.worker_a: NodeProcess | None = None
        self.worker_b: NodeProcess | None = None

    def start(self, command: str, env: dict[str, str], *, held: bool = False) -> NodeProcess:
        name = f"{command}-{len(self.started)}"
        gate = self.scratch / f"{name}.go" if held else None
        process = NodeProcess(command, env, self.scratch / f"{name}.log", gate)
        self.started.append(process)
        return process

    def consumer(self, n: int, *, held: bool = False) -> NodeProcess:
        return self.start(
            "ingest",
            {**self.ingest_env, "YUNFAB_NODE_MQTT_CLIENT_ID": f"{self.group}-{n}"},
            held=held,
        )

    def prepare(self) -> None:
        url, pg_name = fresh_database("postgresql", self.scratch, self.pg_url)
        self.url = url
        if pg_name:
            self.stack.callback(progress, "scratch database dropped")
            self.stack.callback(drop_database, self.pg_url, pg_name)
        if self.want_jobs:
            asyncio.run(drop_jobs_queue(self.nats_url))
            self.stack.callback(lambda: asyncio.run(drop_jobs_queue(self.nats_url)))
        upgrade(TREES["node"], url)
        asyncio.run(provision(url, self.load, self.prefix))
        asyncio.run(identity(url))
        self.broker = self.stack.enter_context(broker_for(None, self.scratch))
        assert self.broker.ingest is not None
        self.devices = DevicesProcess(self.broker)
        self.stack.callback(progress, "devices and node processes stopped")
        self.stack.callback(self.devices.close)
        self.stack.callback(self.stop_all)
        self.ingest_env = node_env(
            url, self.scratch / "ingest",
            mqtt_url=f"mqtt://{self.broker.host}:{self.broker.port}",
            mqtt_username=self.broker.ingest[0], mqtt_password=self.broker.ingest[1],
            mqtt_shared_group=self.group, mqtt_session_expiry_s=60,
        )  # fmt: skip
        self.worker_env = node_env(
            url, self.scratch / "workers", nats_url=self.nats_url, jobs_ack_wait_s=30
        )
        if self.want_ingest:
            self.consumer_a = self.consumer(0)
            self.consumer_b = self.consumer(1, held=True)
        if self.want_jobs:
            self.worker_a = self.start("worker", self.worker_env)
            self.worker_b = self.start("worker", self.worker_env, held=True)
        progress("node database ready; devices, ingest and worker processes starting")

    def stop_all(self) -> None:
        for process in self.started:  # all told first, then each waited for
            if process.process.poll() is None:
                process.process.send_signal(signal.SIGTERM)
        for process in self.started:
            process.stop(grace_s=10)

    def stream_of(self, index: int) -> tuple[list[tuple[str, bytes]], tuple[int, int]]:
        start_ms = self.base + index * 600_000
        stream = list(messages(self.load, self.prefix, start_ms))
        return stream, (start_ms, start_ms + self.per_run)

    def wait_ready(self) -> None:
        """Every process started (or held at its gate): nothing starting up beside a run."""
        for process in (self.consumer_a, self.worker_a):
            if process is not None:
                process.wait_for("_started")
        for process in (self.consumer_b, self.worker_b):
            if process is not None:
                process.wait_for("held_at_gate")
        self.devices.wait_connected()
        progress("node processes ready")

    def measure(self) -> dict[str, Any]:
        self.wait_ready()
        url, count = self.url, self.count
        ingest_rows: dict[str, Any] = {}
        job_rows: dict[str, Any] = {}
        # The references, in this process.
        stream, span = self.stream_of(0)
        reference = ingest_reference(url, self.broker, self.devices, stream, span)
        ingest_rows["in_process"] = {**reference, "processes": 0}
        progress("ingest in this process measured")
        if self.want_jobs:
            job_rows["in_process"] = asyncio.run(jobs_in_process(url, count, span, self.scratch))
            progress("jobs in this process measured")
        # One process of each; then the second of each starts.
        consumer_b, worker_b = self.consumer_b, self.worker_b
        if self.consumer_a is not None:
            self.consumer_a.wait_for("ingest_started")
            time.sleep(0.5)  # its shared subscription in place
            stream, one_span = self.stream_of(1)
            one = timed_publish(url, self.devices, stream, one_span)
            ingest_rows["one_process"] = {**one, "processes": 1}
            progress("ingest with one process measured")
        if consumer_b is not None:
            consumer_b.release()  # joins the group for the next run
        if self.worker_a is not None:
            self.worker_a.wait_for("worker_started")
            job_rows["one_worker"] = asyncio.run(jobs_on_nats(url, self.nats_url, count, span, 1))
            progress("jobs with one worker measured")
        if worker_b is not None:
            worker_b.release()
        # Two of each.
        if consumer_b is not None:
            consumer_b.wait_for("ingest_started")
            time.sleep(0.5)
            stream, two_span = self.stream_of(2)
            two = timed_publish(url, self.devices, stream, two_span)
            ingest_rows["two_processes"] = {**two, "processes": 2}
            progress("ingest with two processes measured")
        if worker_b is not None:
            worker_b.wait_for("worker_started")
            job_rows["two_workers"] = asyncio.run(jobs_on_nats(url, self.nats_url, count, span, 2))
            progress("jobs with two workers measured")
        figures: dict[str, Any] = {}
        if self.want_ingest:
            figures["ingest"] = {
                **ingest_rows,
                "devices": self.load.devices,
                "readings_per_message": self.load.readings_per_message,
            }
        if self.want_jobs:
            figures["jobs"] = {
                **job_rows,
                "kind": telemetry_jobs.ROLLUP,
                "series_per_job": len(METRICS),
                "readings_per_job": len(METRICS) * self.per_run,
            }
        return figures

    def close(self) -> None:
        progress("stopping the node processes")
        self.stack.close()


def print_events(figures: dict[str, Any]) -> None:
    across, local = figures["nats_across_replicas"], figures["in_process"]
    print("events (8-reading telemetry event, steady 1,000/s):")
    print(f"  {'':28} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'burst ev/s':>11}")
    for name, row in (("NATS, replica to replica", across), ("in-process (reference)", local)):
        print(
            f"  {name:28} {row['p50_ms']:>8.3f} {row['p95_ms']:>8.3f} {row['p99_ms']:>8.3f} "
            f"{row['burst_events_per_s']:>11,}"
        )


def print_blobs(figures: dict[str, Any]) -> None:
    print("blobs (a 20 MiB model, median of rounds):")
    for name, key in (("S3 on SeaweedFS", "s3_seaweedfs"), ("directory (reference)", "directory")):
        row = figures[key]
        print(
            f"  {name:28} put {row['put_mib_per_s']:>7.1f} MiB/s"
            f"   get {row['get_mib_per_s']:>7.1f} MiB/s"
        )


def print_ingest(figures: dict[str, Any]) -> None:
    reference = figures["in_process"]["accepted_per_s"]
    print(
        f"ingest ({figures['in_process']['readings']:,} readings from {figures['devices']} "
        f"devices, {figures['readings_per_message']} a message, MQTT to committed rows):"
    )
    for name, key in (
        ("in the API process (reference)", "in_process"),
        ("1 `yunfab node ingest`", "one_process"),
        ("2 `yunfab node ingest`", "two_processes"),
    ):
        row = figures[key]
        print(
            f"  {name:32} {row['accepted_per_s']:>9,} readings/s"
            f"  x{row['accepted_per_s'] / reference:>5.2f}   lost {row['lost']}"
        )


def print_jobs(figures: dict[str, Any]) -> None:
    reference = figures["in_process"]["jobs_per_s"]
    print(f"jobs ({figures['in_process']['jobs']} x {figures['kind']}, submit to succeeded):")
    for name, key in (
        ("in the API process (reference)", "in_process"),
        ("1 `yunfab node worker`", "one_worker"),
        ("2 `yunfab node worker`", "two_workers"),
    ):
        row = figures[key]
        print(
            f"  {name:32} {row['jobs_per_s']:>9.1f} jobs/s"
            f"  x{row['jobs_per_s'] / reference:>5.2f}   failed {row['failed']}"
            f"   unfinished {row['unfinished']}"
        )


SECTIONS = ("events", "blobs", "ingest", "jobs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="within 60 s")
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    parser.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL server to create the scratch database on",
    )
    parser.add_argument("--sections", default=",".join(SECTIONS))
    args = parser.parse_args()
    sections = [name for name in args.sections.split(",") if name]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; known: {', '.join(SECTIONS)}")
    figures: dict[str, Any] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="yunfab-scale-") as tmp:
        node: NodeBench | None = None
        if "ingest" in sections or "jobs" in sections:
            (Path(tmp) / "node").mkdir()
            node = NodeBench(args.quick, args.database_url, args.nats, Path(tmp) / "node", sections)
        try:
            if "events" in sections:  # first: latencies with nothing else starting up
                figures["events"] = asyncio.run(events(args.nats, args.quick))
                progress("events measured")
                print_events(figures["events"])
            if node is not None:
                node.prepare()  # its processes start while the blobs are measured
            if "blobs" in sections:
                figures["blobs"] = blobs(args.quick)
                progress("blobs measured")
                print_blobs(figures["blobs"])
            if node is not None:
                figures.update(node.measure())
                if "ingest" in figures:
                    print_ingest(figures["ingest"])
                if "jobs" in figures:
                    print_jobs(figures["jobs"])
            print(
                json.dumps(
                    {
                        "benchmark": "scale",
                        "quick": args.quick,
                        "seconds": round(time.perf_counter() - started, 1),
                        **figures,
                        "references": {
                            "events": "in_process",
                            "blobs": "directory",
                            "ingest": "in_process",
                            "jobs": "in_process",
                        },
                    }
                ),
                flush=True,
            )
        finally:
            if node is not None:
                node.close()  # after the figures: dropping a database waits for a checkpoint


if __name__ == "__main__":
    main()
