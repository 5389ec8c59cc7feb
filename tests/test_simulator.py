"""The device simulator: signals in range, fleet files, and real MQTT against the local broker.

Broker tests use a fresh device prefix each, so runs (and parallel sessions) never see each
other's messages, and check what a subscriber actually received, not only the simulator's stats.
"""

from __future__ import annotations

import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from typer.testing import CliRunner

from tests.support import skip_or_fail
from yunfab_demo.simulator import (
    PROFILES,
    Drift,
    FaultError,
    Faults,
    FleetDevice,
    FleetError,
    SimStats,
    Simulator,
    load_fleet,
    save_fleet,
    synthetic_fleet,
)
from yunfab_demo.simulator.faults import FaultInjector

BROKER_HOST = os.environ.get("YUNFAB_TEST_MQTT_HOST", "127.0.0.1")
BROKER_PORT = int(os.environ.get("YUNFAB_TEST_MQTT_PORT", "1883"))


def _prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


# --- profiles and faults (no broker) ------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_profile_values_stay_in_declared_ranges(name: str) -> None:
    profile = PROFILES[name]
    model = profile.build(random.Random(7))
    declared = {spec.name: spec for spec in profile.metrics}
    previous: dict[str, float] = {}
    for i in range(4000):  # a bit over an hour at 1 Hz
        metrics = model.sample(i * 1.0)
        assert set(metrics) == set(declared)
        for metric, value in metrics.items():
            spec = declared[metric]
            assert spec.contains(value), (metric, value, spec)
            if spec.counter:
                assert isinstance(value, int)
                assert value >= previous.get(metric, value), f"{metric} went backwards"
        previous = dict(metrics)
    assert all(spec.unit for spec in profile.metrics)


def test_injection_moulding_cycles_and_rejects() -> None:
    model = PROFILES["injection_moulding"].build(random.Random(3))
    first = model.sample(0.0)
    last = first
    for i in range(1, 3 * 3600):
        last = model.sample(float(i))
    shots = int(last["shots"]) - int(first["shots"])
    ejections = int(last["ejections"]) - int(first["ejections"])
    assert 3 * 3600 / 30 < shots < 3 * 3600 / 26  # ~28 s cycles
    assert 0 < shots - ejections < shots * 0.06  # about 2 % rejects
    assert 25.0 <= float(last["cycle_time_s"]) <= 32.0


def test_faults_drift_spikes_and_dropouts_are_seeded() -> None:
    profile = PROFILES["cnc"]
    faults = Faults(drift=(Drift.parse("spindle_load_pct:36"),), spike_prob=0.2, dropout_prob=0.3)

    def run() -> tuple[list[dict[str, float | int] | None], FaultInjector]:
        injector = FaultInjector(faults, profile, random.Random("s"))
        out = [
            injector.apply(
                t, {"spindle_load_pct": 50.0, "spindle_speed_rpm": 1.0, "feed_rate_mm_min": 1.0}
            )
            for t in range(0, 3600, 3)
        ]
        return out, injector

    first, injector = run()
    again, _ = run()
    assert first == again
    kept = [m for m in first if m is not None]
    assert 0.2 < injector.dropped / len(first) < 0.4
    assert injector.spikes > 50
    spec_ranges = {s.name: s for s in profile.metrics}
    assert any(not spec_ranges[k].contains(v) for m in kept for k, v in m.items())

    # Drift: 36 %/h is +0.01 per second since the start.
    drifting = FaultInjector(Faults(drift=faults.drift), profile, random.Random("s"))
    for t in (0, 60, 1800, 7200):
        out = drifting.apply(float(t), {"spindle_load_pct": 50.0})
        assert out == {"spindle_load_pct": 50.0 + t / 100}
    with pytest.raises(FaultError):
        Drift.parse("no-rate")
    with pytest.raises(FaultError):
        Faults(offline_every_s=5.0)
    with pytest.raises(FaultError):
        Faults(drift=(Drift("bogus", 1.0),)).check_metrics([profile])


def test_fleet_file_round_trip_and_validation(tmp_path: Path) -> None:
    fleet = (
        FleetDevice("gw-1", None, "f-1", "gw-1", "secret", "sparkplug", None),
        FleetDevice("imm-1", "injection_moulding", "f-1", protocol="sparkplug", edge_node="gw-1"),
        FleetDevice("cnc-1", "cnc", "f-1", "cnc-1", "pw"),
    )
    path = tmp_path / "fleet.json"
    save_fleet(path, fleet)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_fleet(path) == fleet

    bad = [
        [{"key": "a/b", "profile": "cnc", "factory": "f"}],
        [{"key": "a", "profile": "lathe", "factory": "f"}],
        [{"key": "a", "profile": "cnc", "factory": "f", "protocol": "sparkplug"}],
        [
            {"key": "a", "profile": "cnc", "factory": "f"},
            {"key": "a", "profile": "cnc", "factory": "f"},
        ],
        [{"key": "a", "profile": "cnc", "factory": "f", "colour": "red"}],
        [],
    ]
    for entries in bad:
        path.write_bytes(orjson.dumps(entries))
        with pytest.raises(FleetError):
            load_fleet(path)

    synthetic = synthetic_fleet(25, "sewing_line", "p", protocol="sparkplug")
    assert [d.key for d in synthetic][:2] == ["p-0000", "p-0001"]
    assert {d.edge_node for d in synthetic} == {"p-gw-000", "p-gw-001", "p-gw-002"}
    assert all(d.username is None and d.password is None for d in synthetic)


# --- against the broker -------------------------------------------------------------------------


@dataclass
class Received:
    topic: str
    payload: bytes
    arrived_ms: int


@dataclass
class Subscriber:
    messages: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def snapshot(self) -> list[Received]:
        with self.lock:
            return list(self.messages)

    def settle(self, quiet_s: float = 0.3, timeout_s: float = 5.0) -> list[Received]:
        """Wait until nothing new arrived for `quiet_s`: the broker has forwarded everything."""
        deadline = time.monotonic() + timeout_s
        count = -1
        while time.monotonic() < deadline:
            now = len(self.snapshot())
            if now == count:
                break
            count = now
            time.sleep(quiet_s)
        return self.snapshot()


def _broker_up() -> bool:
    try:
        with socket.create_connection((BROKER_HOST, BROKER_PORT), timeout=1.0):
            return True
    except OSError:
        return False


@pytest.fixture
def subscribe() -> Iterator[object]:
    if not _broker_up():
        skip_or_fail(f"no MQTT broker at {BROKER_HOST}:{BROKER_PORT}")
    clients: list[mqtt.Client] = []

    def start(topic: str) -> Subscriber:
        sub = Subscriber()
        subscribed = threading.Event()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"sub-{uuid.uuid4().hex}")

        def on_message(c: mqtt.Client, u: object, message: mqtt.MQTTMessage) -> None:
            with sub.lock:
                sub.messages.append(
                    Received(message.topic, bytes(message.payload), time.time_ns() // 1_000_000)
                )

        client.on_message = on_message
        client.on_subscribe = lambda *args: subscribed.set()
        client.on_connect = lambda c, *args: c.subscribe(topic, qos=1)
        client.connect(BROKER_HOST, BROKER_PORT)
        client.loop_start()
        clients.append(client)
        assert subscribed.wait(5.0), "the test subscriber could not subscribe"
        return sub

    yield start
    for client in clients:
        client.disconnect()
        client.loop_stop()


def _json_readings(messages: list[Received], prefix: str) -> dict[str, list[dict]]:
    """Readings per device from plain-JSON messages, checking the topic/payload convention."""
    per_device: dict[str, list[dict]] = {}
    for message in messages:
        parts = message.topic.split("/")
        assert parts[:3] == ["yunfab", "v1", "telemetry"], message.topic
        assert len(parts) == 4, message.topic
        if not parts[3].startswith(prefix):
            continue
        body = orjson.loads(message.payload)
        assert set(body) == {"readings"}, body
        assert body["readings"], body
        for reading in body["readings"]:
            assert set(reading) == {"ts", "metrics"}
            assert isinstance(reading["ts"], int)
            per_device.setdefault(parts[3], []).append(reading)
    return per_device


def _run(
    prefix: str,
    *,
    fleet: tuple[FleetDevice, ...] | None = None,
    n: int = 2,
    profile: str = "injection_moulding",
    **settings: Any,
) -> SimStats:
    """Simulate `fleet`, or `n` anonymous `profile` devices under `prefix`, to the end."""
    devices = fleet or synthetic_fleet(n, profile, prefix)
    return Simulator(BROKER_HOST, BROKER_PORT, devices, **settings).run()


@pytest.mark.slow
def test_json_messages_follow_the_convention_within_ranges(subscribe) -> None:
    prefix = _prefix()
    sub = subscribe("yunfab/v1/telemetry/+")
    fleet = tuple(
        device
        for name in sorted(PROFILES)
        for device in synthetic_fleet(2, name, f"{prefix}-{name.replace('_', '-')}")
    )
    before_ms = time.time_ns() // 1_000_000
    stats = _run(prefix, fleet=fleet, rate_hz=10, batch=3, seed=1, duration_s=1.5)
    per_device = _json_readings(sub.settle(), prefix)

    assert stats.readings_generated == stats.readings_acked == 6 * 15
    assert stats.readings_unsent == stats.messages_refused == 0
    assert set(per_device) == {d.key for d in fleet}
    for device in fleet:
        assert device.profile is not None
        declared = {spec.name: spec for spec in PROFILES[device.profile].metrics}
        readings = per_device[device.key]
        assert len(readings) == 15
        stamps = [r["ts"] for r in readings]
        assert stamps == sorted(stamps)
        assert before_ms <= stamps[0]
        assert all(b - a == 100 for a, b in zip(stamps, stamps[1:], strict=False))
        for reading in readings:
            assert set(reading["metrics"]) == set(declared)
            for name, value in reading["metrics"].items():
                assert declared[name].contains(value), (name, value)
    sizes = [
        len(orjson.loads(m.payload)["readings"])
        for m in sub.snapshot()
        if m.topic.split("/")[3].startswith(prefix)
    ]
    assert max(sizes) == 3
    assert stats.messages_acked == len(sizes)


@pytest.mark.slow
def test_same_seed_same_readings(subscribe) -> None:
    prefix = _prefix()
    sub = subscribe("yunfab/v1/telemetry/+")

    def values(seed: int) -> dict[str, list[tuple[int, dict]]]:
        start = len(sub.snapshot())
        stats = _run(
            prefix, n=2, profile="sewing_line", rate_hz=20, batch=4, seed=seed, duration_s=0.6
        )
        got = _json_readings(sub.settle()[start:], prefix)
        # Timestamps move with the start time; their offsets and the values must not.
        return {
            key: [(r["ts"] - stats.start_ms, r["metrics"]) for r in readings]
            for key, readings in got.items()
        }

    first, second, other = values(42), values(42), values(43)
    assert len(first) == 2
    assert all(len(v) == 12 for v in first.values())
    assert first == second
    assert first != other


@pytest.mark.slow
def test_offline_window_buffers_and_forwards_original_timestamps(subscribe) -> None:
    prefix = _prefix()
    sub = subscribe(f"yunfab/v1/telemetry/{prefix}-0000")
    faults = Faults(offline_every_s=1.0, offline_for_s=1.0)
    stats = _run(prefix, n=1, rate_hz=20, batch=1, seed=5, faults=faults, duration_s=3.0)
    messages = sub.settle()

    arrivals = []
    for message in messages:
        for reading in orjson.loads(message.payload)["readings"]:
            arrivals.append((reading["ts"], message.arrived_ms))
    stamps = sorted({ts for ts, _ in arrivals})
    assert stats.readings_generated == 60
    assert stats.readings_buffered == 20
    assert len(stamps) == 60, "every reading arrives, buffered ones included"
    assert all(b - a == 50 for a, b in zip(stamps, stamps[1:], strict=False)), "no gaps"
    start = stamps[0]
    offline = [(ts, at) for ts, at in arrivals if start + 1000 <= ts < start + 2000]
    assert len({ts for ts, _ in offline}) == 20
    # Sent after the device came back at t=2 s, still carrying the earlier time they were made.
    assert all(at >= start + 1950 for _, at in offline)
    assert min(at - ts for ts, at in offline) >= 0
    assert max(at - ts for ts, at in offline) > 900
    online = [at - ts for ts, at in arrivals if ts < start + 1000]
    assert sorted(online)[len(online) // 2] < 500


@pytest.mark.slow
def test_dropouts_lose_readings_but_not_the_signal(subscribe) -> None:
    prefix = _prefix()
    sub = subscribe("yunfab/v1/telemetry/+")

    def run(faults: Faults) -> tuple[SimStats, dict[str, list[dict]]]:
        start = len(sub.snapshot())
        stats = _run(
            prefix, n=2, profile="cnc", rate_hz=50, batch=5, seed=9, faults=faults, duration_s=1.0
        )
        return stats, _json_readings(sub.settle()[start:], prefix)

    clean_stats, clean = run(Faults())
    stats, lossy = run(Faults(dropout_prob=0.3))
    received = sum(len(v) for v in lossy.values())
    assert clean_stats.readings_acked == sum(len(v) for v in clean.values()) == 100
    assert stats.readings_generated == 100
    assert received == stats.readings_acked == 100 - stats.readings_dropped
    assert 10 <= stats.readings_dropped <= 50
    # The same schedule offsets carry the same values: a dropout removes a reading, nothing else.
    for key, readings in lossy.items():
        expected = {r["ts"] - clean_stats.start_ms: r["metrics"] for r in clean[key]}
        for reading in readings:
            assert expected[reading["ts"] - stats.start_ms] == reading["metrics"]


@pytest.mark.slow
def test_sparkplug_births_data_and_seq(subscribe) -> None:
    from yunfab.sparkplug import (
        DeviceOnline,
        EdgeOnline,
        Readings,
        RebirthNeeded,
        SequenceGap,
        SparkplugHost,
        decode,
    )

    prefix = _prefix()
    sub = subscribe(f"spBv1.0/{prefix}/#")
    fleet = synthetic_fleet(
        3,
        "injection_moulding",
        prefix,
        factory=prefix,
        protocol="sparkplug",
        devices_per_edge_node=2,
    )
    # Each device drops off at 0.5 s and is back at 1 s: DDEATH, then DBIRTH and historical DDATA.
    faults = Faults(offline_every_s=0.5, offline_for_s=0.5)
    stats = _run(prefix, fleet=fleet, rate_hz=10, batch=2, seed=3, faults=faults, duration_s=1.5)
    messages = sub.settle()

    assert stats.readings_generated == stats.readings_acked == 45
    assert stats.readings_buffered == 15
    historical_delays: list[int] = []
    host = SparkplugHost()
    readings: dict[str, list] = {}
    births: list[str] = []
    seqs: dict[str, list[int]] = {}
    kinds: dict[str, list[str]] = {}
    for message in messages:
        _, group, kind, edge, *device = message.topic.split("/")
        payload = decode(message.payload)
        kinds.setdefault(edge, []).append(kind)
        if kind != "NDEATH":
            assert payload.seq is not None
            seqs.setdefault(edge, []).append(payload.seq)
        if kind == "DDATA":
            assert all(m.name is None and m.alias for m in payload.metrics), "DDATA by alias"
            historical_delays.extend(
                message.arrived_ms - (m.timestamp_ms or 0)
                for m in payload.metrics
                if m.is_historical
            )
        for event in host.handle(message.topic, message.payload, message.arrived_ms):
            assert not isinstance(event, SequenceGap | RebirthNeeded), event
            if isinstance(event, EdgeOnline | DeviceOnline):
                births.append(type(event).__name__)
            if isinstance(event, Readings):
                assert event.device_id is not None
                readings.setdefault(event.device_id, []).extend(event.readings)

    assert set(kinds) == {f"{prefix}-gw-000", f"{prefix}-gw-001"}
    for edge, order in kinds.items():
        assert order[0] == "NBIRTH"
        assert order[-1] == "NDEATH"
        assert seqs[edge] == list(range(len(seqs[edge]))), "seq 0 at NBIRTH, then +1 each"
    assert births.count("EdgeOnline") == 2
    assert births.count("DeviceOnline") == 6
    assert sum(order.count("DDEATH") for order in kinds.values()) == 3
    assert len(historical_delays) == 15 * 6
    assert min(historical_delays) >= 0
    assert max(historical_delays) > 400
    declared = {spec.name: spec for spec in PROFILES["injection_moulding"].metrics}
    assert {key: len(r) for key, r in readings.items()} == {d.key: 15 * 6 for d in fleet}
    for device_readings in readings.values():
        for reading in device_readings:
            assert declared[reading.metric].contains(reading.value)


@pytest.mark.slow
def test_cli_sim_prints_one_json_summary(subscribe) -> None:
    from yunfab_cli.main import app

    prefix = _prefix()
    sub = subscribe("yunfab/v1/telemetry/+")
    result = CliRunner().invoke(
        app,
        [
            "sim",
            "--broker",
            f"mqtt://{BROKER_HOST}:{BROKER_PORT}",
            "--devices",
            "2",
            "--profile",
            "cnc",
            "--prefix",
            prefix,
            "--rate",
            "10",
            "--batch",
            "2",
            "--duration",
            "0.5",
            "--seed",
            "1",
            "--dropout-prob",
            "0.0",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = orjson.loads(result.stdout.strip().splitlines()[-1])
    assert summary["readings_acked"] == summary["readings_generated"] == 10
    assert sum(len(v) for v in _json_readings(sub.settle(), prefix).values()) == 10

    bad = CliRunner().invoke(app, ["sim", "--devices", "1", "--fleet", "x.json"])
    assert bad.exit_code == 2
