"""Scale-out engines against their single-process references, in one run (issue #22).

    python -m benchmarks.scale [--quick] [--nats nats://127.0.0.1:4222]

- events: the latency of a domain event (a telemetry event of 8 readings) from a publish on one
  replica to a subscriber on another, through NATS JetStream (`yunfab.event_bus`, two
  connections), p50/p95/p99 at a steady 1,000 events/s, and the burst throughput (events/s until
  the subscriber has all of a burst); reference: the in-process broadcaster (`yunfab.events`)
  measured the same way.
- blobs: a 20 MiB model written and read back through S3 (SeaweedFS started by this script,
  `weed server -s3`) and through the node's directory (the embedded default), MiB/s each way.

Not measured here yet (issue #22's other figures): ingest with one and two consumer processes,
job throughput with one and two workers. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yunfab.blobs import BlobStore, FileBlobStore, S3BlobStore, S3Location
from yunfab.event_bus import NatsEventBus
from yunfab.events import Broadcaster
from yunfab.processes import free_port


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
    rounds = 3 if quick else 10
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="about 20 s")
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    args = parser.parse_args()
    event_figures = asyncio.run(events(args.nats, args.quick))
    across, local = event_figures["nats_across_replicas"], event_figures["in_process"]
    print("events (8-reading telemetry event, steady 1,000/s):")
    print(f"  {'':28} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'burst ev/s':>11}")
    for name, row in (("NATS, replica to replica", across), ("in-process (reference)", local)):
        print(
            f"  {name:28} {row['p50_ms']:>8.3f} {row['p95_ms']:>8.3f} {row['p99_ms']:>8.3f} "
            f"{row['burst_events_per_s']:>11,}"
        )
    blob_figures = blobs(args.quick)
    print("blobs (a 20 MiB model, median of rounds):")
    for name, key in (("S3 on SeaweedFS", "s3_seaweedfs"), ("directory (reference)", "directory")):
        row = blob_figures[key]
        print(
            f"  {name:28} put {row['put_mib_per_s']:>7.1f} MiB/s"
            f"   get {row['get_mib_per_s']:>7.1f} MiB/s"
        )
    print(
        json.dumps(
            {
                "benchmark": "scale",
                "quick": args.quick,
                "events": event_figures,
                "blobs": blob_figures,
                "references": {"events": "in_process", "blobs": "directory"},
            }
        )
    )


if __name__ == "__main__":
    main()
