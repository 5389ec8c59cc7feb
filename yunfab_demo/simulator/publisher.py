"""The simulator's engine: many devices, one paho client each, thousands of readings per second.

Design, and why:

- Paho's own network thread per client would mean thousands of threads for a large fleet. Instead a
  few worker threads each own a slice of the clients and drive them with paho's external-loop API
  (`loop_read` / `loop_write` / `loop_misc`) over one `selectors` poller. A client is only ever
  touched by its worker, so there are no locks on the hot path.
- Readings are scheduled by time, not by sleeping: reading `i` of a device is due at
  `phase + i / rate` seconds after the start and carries exactly that timestamp. A worker that falls
  behind catches up by generating every due reading, so timestamps stay on the grid and counts are
  exact for a given duration and rate.
- Every publish is QoS 1 and counted until its PUBACK. A connection never has more than `window`
  messages in flight; the rest waits in the device's outbox. The outbox is also the store-and-
  forward buffer: readings made while a device is offline stay there with their original
  timestamps and go out, oldest first, when it is back.
- Shutdown (duration reached, `stop()`, Ctrl-C) stops generating, brings offline devices back,
  sends partial batches and waits for every PUBACK up to `drain_timeout_s`.
"""

from __future__ import annotations

import heapq
import itertools
import random
import selectors
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import structlog
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from yunfab_demo.simulator.faults import FaultInjector, Faults
from yunfab_demo.simulator.fleet import EdgeNode, FleetDevice, edge_nodes, validate
from yunfab_demo.simulator.profiles import PROFILES, Profile, SignalModel, Value

log = structlog.get_logger(__name__)

TELEMETRY_TOPIC = "yunfab/v1/telemetry/{device_key}"
MAX_RATE_HZ = 1000.0
"""Timestamps are whole milliseconds: a faster device would repeat them (and be deduplicated)."""


class SimulatorError(RuntimeError):
    """The simulation cannot run at all (bad settings, no device could connect)."""


@dataclass(frozen=True, slots=True)
class TlsConfig:
    """TLS towards the broker; None fields use the system's trust store and no client cert."""

    ca_certs: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    insecure: bool = False


@dataclass(frozen=True, slots=True)
class Reading:
    ts_ms: int
    metrics: dict[str, Value]
    buffered: bool = False
    """Made while the device was offline: forwarded later (Sparkplug marks it historical)."""


@dataclass(frozen=True, slots=True)
class SimStats:
    """What a run did.

    `readings_generated` counts every scheduled reading, dropouts included; `readings_published`
    those handed to MQTT, of which the broker acknowledged `readings_acked` and refused (MQTT 5
    reason code, e.g. not authorized) `readings_refused`. `readings_buffered` were made while
    their device was offline and forwarded later; `readings_unsent` were still queued or
    unacknowledged when the drain timed out (or overflowed an outbox).
    """

    devices: int
    connections: int
    connected: int
    connect_failures: int
    messages_published: int
    messages_acked: int
    messages_refused: int
    readings_generated: int
    readings_published: int
    readings_acked: int
    readings_refused: int
    readings_buffered: int
    readings_dropped: int
    readings_unsent: int
    spikes: int
    start_ms: int
    """Epoch ms of the schedule's origin: a reading's `ts - start_ms` is the same in every run."""
    elapsed_s: float
    readings_per_s: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class SimDevice:
    """One device's running state: signal, faults, schedule and outbox (mutable, worker-owned)."""

    def __init__(
        self, spec: FleetDevice, profile: Profile, seed: int, faults: Faults, phase_s: float
    ) -> None:
        self.spec = spec
        self.profile = profile
        self.signal: SignalModel = profile.build(random.Random(f"{seed}/{spec.key}/signal"))
        self.faults = faults
        self.injector = FaultInjector(faults, profile, random.Random(f"{seed}/{spec.key}/faults"))
        self.phase_s = phase_s
        self.index = 0
        self.outbox: deque[Reading] = deque()
        self.offline = False
        self.generated = 0
        self.buffered = 0
        self.published = 0

    def due_s(self, rate_hz: float) -> float:
        return self.phase_s + self.index / rate_hz

    def next_reading(self, rate_hz: float, start_epoch_ms: int) -> Reading | None:
        """The next scheduled reading after faults, or None when a dropout lost it."""
        t_s = self.due_s(rate_hz)
        self.index += 1
        self.generated += 1
        self.offline = self.faults.offline_at(t_s)
        metrics = self.injector.apply(t_s, self.signal.sample(t_s))
        if metrics is None:
            return None
        if self.offline:
            self.buffered += 1
        return Reading(start_epoch_ms + round(t_s * 1000.0), metrics, self.offline)


class Link:
    """One MQTT connection (a device's, or a Sparkplug edge node's) driven by its worker."""

    def __init__(
        self,
        sim: Simulator,
        worker: Worker,
        client_id: str,
        username: str | None,
        password: str | None,
        devices: Sequence[SimDevice],
    ) -> None:
        self.sim = sim
        self.worker = worker
        self.client_id = client_id
        self.devices = tuple(devices)
        self.connected = False
        self.ever_connected = False
        self.refused = False
        self.want_online = True
        self.reconnect_at: float | None = 0.0
        self.backoff_s = 0.5
        self.connect_failures = 0
        self.inflight: dict[int, int] = {}
        """mid -> readings in that message, until its PUBACK."""
        self.messages_published = 0
        self.messages_acked = 0
        self.readings_acked = 0
        self.messages_refused = 0
        self.readings_refused = 0
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,  # 3.1.1 brokers ack a publish their ACLs dropped; 5 says so
        )
        if username is not None:
            client.username_pw_set(username, password)
        if sim.tls is not None:
            client.tls_set(
                ca_certs=sim.tls.ca_certs,
                certfile=sim.tls.certfile,
                keyfile=sim.tls.keyfile,
                cert_reqs=ssl.CERT_NONE if sim.tls.insecure else ssl.CERT_REQUIRED,
            )
            client.tls_insecure_set(sim.tls.insecure)
        client.max_inflight_messages_set(sim.window)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = self._on_socket_close
        client.connect_async(sim.broker_host, sim.broker_port, keepalive=30, clean_start=True)
        self.client = client

    # --- paho callbacks (run inside loop_read/loop_write of this link's worker) -----------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            self.refused = True
            self.connect_failures += 1
            log.error("sim.connect_refused", client_id=self.client_id, reason=str(reason_code))
            return
        self.connected = True
        self.ever_connected = True
        self.backoff_s = 0.5
        self.on_connected()
        self.worker.ready.add(self)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        was = self.connected
        self.connected = False
        if self.want_online and not self.refused:
            self.reconnect_at = time.monotonic() + self.backoff_s
            self.backoff_s = min(self.backoff_s * 2, 30.0)
            if was:
                log.warning(
                    "sim.connection_lost", client_id=self.client_id, reason=str(reason_code)
                )

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        readings = self.inflight.pop(mid, None)
        if readings is None:
            return
        if reason_code.is_failure:
            self.messages_refused += 1
            self.readings_refused += readings
            if self.messages_refused == 1:
                log.error("sim.publish_refused", client_id=self.client_id, reason=str(reason_code))
        else:
            self.messages_acked += 1
            self.readings_acked += readings
        self.worker.ready.add(self)

    def _on_socket_open(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self.worker.selector.register(sock, selectors.EVENT_READ, self)

    def _on_socket_close(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        try:
            self.worker.selector.unregister(sock)
        except (KeyError, ValueError):
            pass
        self.worker.writing.discard(self)

    # --- driven by the worker ----------------------------------------------------------------

    def connect(self) -> None:
        """Open the TCP (and TLS) connection and send CONNECT; CONNACK arrives via loop_read."""
        self.reconnect_at = None
        self.before_connect()
        try:
            self.client.reconnect()
        except (OSError, ssl.SSLError, ValueError) as exc:
            self.connect_failures += 1
            self.reconnect_at = time.monotonic() + self.backoff_s
            self.backoff_s = min(self.backoff_s * 2, 30.0)
            log.warning("sim.connect_failed", client_id=self.client_id, error=str(exc))

    def disconnect(self) -> None:
        self.want_online = False
        self.reconnect_at = None
        if self.client.socket() is not None:
            self.client.disconnect()

    def publish(self, topic: str, payload: bytes, readings: int) -> None:
        info = self.client.publish(topic, payload, qos=1)
        self.inflight[info.mid] = readings
        self.messages_published += 1
        if self.client.want_write():
            self.worker.writing.add(self)

    @property
    def has_window(self) -> bool:
        return self.connected and len(self.inflight) < self.sim.window

    def drained(self) -> bool:
        if self.refused:
            return True
        return not self.inflight and not any(d.outbox for d in self.devices) and self.settled()

    def readings_unsent(self) -> int:
        return sum(len(d.outbox) for d in self.devices) + sum(self.inflight.values())

    # --- protocol-specific -------------------------------------------------------------------

    def before_connect(self) -> None:
        """Hook: set the will before CONNECT goes out."""

    def on_connected(self) -> None:
        """Hook: note what must be (re)sent on a fresh session."""

    def settled(self) -> bool:
        """Hook: nothing protocol-specific is left to send."""
        return True

    def went_offline(self, device: SimDevice) -> None:
        raise NotImplementedError

    def came_online(self, device: SimDevice) -> None:
        raise NotImplementedError

    def pump(self, flushing: bool) -> None:
        """Publish what is ready within the window; `flushing` sends partial batches too."""
        raise NotImplementedError

    def close(self) -> None:
        self.disconnect()


class JsonLink(Link):
    """A device publishing the plain-JSON convention under its own credentials."""

    def __init__(self, sim: Simulator, worker: Worker, device: SimDevice) -> None:
        spec = device.spec
        super().__init__(sim, worker, spec.key, spec.username, spec.password, [device])
        self.device = device
        self.topic = TELEMETRY_TOPIC.format(device_key=spec.key)

    def went_offline(self, device: SimDevice) -> None:
        """The device's network is gone: drop the connection, keep producing into the outbox."""
        self.disconnect()

    def came_online(self, device: SimDevice) -> None:
        self.want_online = True
        self.connect()

    def pump(self, flushing: bool) -> None:
        device = self.device
        outbox = device.outbox
        batch = self.sim.batch
        while outbox and self.has_window and (flushing or len(outbox) >= batch):
            take = min(batch, len(outbox))
            readings = [outbox.popleft() for _ in range(take)]
            payload = orjson.dumps(
                {"readings": [{"ts": r.ts_ms, "metrics": r.metrics} for r in readings]}
            )
            self.publish(self.topic, payload, take)
            device.published += take


class Worker(threading.Thread):
    """Drives a slice of the links: generation by schedule, publishing, and network I/O."""

    def __init__(self, sim: Simulator, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.sim = sim
        self.selector = selectors.DefaultSelector()
        self.links: list[Link] = []
        self.ready: set[Link] = set()
        """Links that may have something to publish: new readings, a freed window, a CONNACK."""
        self.writing: set[Link] = set()
        """Links whose socket did not take everything at once."""
        self.connected_phase = threading.Event()
        self.finished = threading.Event()
        """Waited on instead of `join()`: on Python 3.11 a Ctrl-C interrupting `join()` can leave
        `is_alive()` False while the thread still runs, and the drain would be cut short."""
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # reported by Simulator.run in the caller's thread
            self.error = exc
            self.connected_phase.set()
            log.exception("sim.worker_failed", worker=self.name)
        finally:
            self.finished.set()

    def _run(self) -> None:
        sim = self.sim
        for link in self.links:
            link.connect()
        deadline = time.monotonic() + sim.connect_timeout_s
        while time.monotonic() < deadline and not sim.aborting.is_set():
            if all(link.connected or link.refused for link in self.links):
                break
            self._io(0.05)
            self._maintain()
        self.connected_phase.set()
        while not sim.started.wait(0.05):
            self._io(0.0)
        self._loop()
        self._close()

    def _loop(self) -> None:
        sim = self.sim
        rate = sim.rate_hz
        order = itertools.count()
        devices = [d for link in self.links for d in link.devices]
        link_of = {id(d): link for link in self.links for d in link.devices}
        schedule = [(d.due_s(rate), next(order), d) for d in devices]
        heapq.heapify(schedule)
        flushing = False
        drain_deadline = 0.0
        last_misc = time.monotonic()
        while True:
            mono = time.monotonic()
            now = mono - sim.start_monotonic
            if sim.aborting.is_set():
                return
            if not flushing and (
                sim.stopping.is_set() or (sim.duration_s is not None and now >= sim.duration_s)
            ):
                flushing = True
                drain_deadline = mono + sim.drain_timeout_s
                end = now if sim.duration_s is None else min(now, sim.duration_s)
                self._generate(schedule, order, end, link_of, final=True)
                self._bring_back(devices, link_of)
                self.ready.update(self.links)
            if not flushing:
                self._generate(schedule, order, now, link_of)
            if self.ready:
                ready, self.ready = self.ready, set()
                for link in ready:
                    link.pump(flushing)
            if flushing and (all(link.drained() for link in self.links) or mono > drain_deadline):
                return
            if mono - last_misc >= 1.0:
                last_misc = mono
                self._maintain()
            if flushing or self.ready or self.writing:
                timeout = 0.002 if (self.ready or self.writing) else 0.05
            else:
                timeout = min(max(schedule[0][0] - now, 0.0), 0.05) if schedule else 0.05
            self._io(timeout)

    def _generate(
        self,
        schedule: list[tuple[float, int, SimDevice]],
        order: itertools.count[int],
        now: float,
        link_of: dict[int, Link],
        *,
        final: bool = False,
    ) -> None:
        """Make every reading due by `now`; `final` also takes those exactly at `now`."""
        sim = self.sim
        rate = sim.rate_hz
        end = sim.duration_s
        while schedule and schedule[0][0] <= now:
            _, _, device = heapq.heappop(schedule)
            link = link_of[id(device)]
            # Bounded catch-up per device and pass, so a stalled worker still services its sockets.
            for _ in itertools.repeat(None) if final else range(256):
                due = device.due_s(rate)
                if due > now or (end is not None and due >= end):
                    break
                was_offline = device.offline
                reading = device.next_reading(rate, sim.start_epoch_ms)
                if device.offline != was_offline:
                    if device.offline:
                        link.went_offline(device)
                    else:
                        link.came_online(device)
                if reading is not None:
                    device.outbox.append(reading)
                    if len(device.outbox) > sim.buffer_limit:
                        device.outbox.popleft()
                        sim.count_overflow()
            self.ready.add(link)
            due = device.due_s(rate)
            if end is None or due < end:
                heapq.heappush(schedule, (due, next(order), device))

    def _bring_back(self, devices: list[SimDevice], link_of: dict[int, Link]) -> None:
        """At the end every device gets its buffer out: nothing made is left behind."""
        for device in devices:
            if device.offline:
                device.offline = False
                link_of[id(device)].came_online(device)

    def _io(self, timeout: float) -> None:
        for link in list(self.writing):
            if link.client.socket() is None:
                self.writing.discard(link)
                continue
            link.client.loop_write()
            if not link.client.want_write():
                self.writing.discard(link)
        if not self.selector.get_map():
            if timeout > 0:
                time.sleep(timeout)
            return
        for key, _ in self.selector.select(timeout):
            link = key.data
            link.client.loop_read()
            if link.client.want_write():
                self.writing.add(link)

    def _maintain(self) -> None:
        """Keepalive pings, and reconnecting links that lost their broker."""
        mono = time.monotonic()
        for link in self.links:
            if link.client.socket() is not None:
                link.client.loop_misc()
            elif (
                link.want_online
                and not link.refused
                and link.reconnect_at is not None
                and mono >= link.reconnect_at
            ):
                link.connect()

    def _close(self) -> None:
        for link in self.links:
            link.close()
        deadline = time.monotonic() + 2.0
        while self.selector.get_map() and time.monotonic() < deadline:
            self._io(0.02)
        for key in list(self.selector.get_map().values()):
            sock = key.fileobj
            if isinstance(sock, socket.socket):
                sock.close()
        self.selector.close()


class Simulator:
    """Simulates a fleet against one broker; `run()` blocks until the duration ends or `stop()`.

    `rate_hz` is readings per second per device; `batch` readings go in one JSON message (one
    Sparkplug DDATA). `window` bounds unacknowledged messages per connection; `buffer_limit` bounds
    a device's outbox (the oldest readings go first when an outage outlasts it).
    """

    def __init__(
        self,
        broker_host: str,
        broker_port: int,
        fleet: Sequence[FleetDevice],
        rate_hz: float = 1.0,
        batch: int = 1,
        seed: int = 0,
        faults: Faults | None = None,
        duration_s: float | None = None,
        tls: TlsConfig | None = None,
        *,
        window: int = 32,
        workers: int | None = None,
        buffer_limit: int = 100_000,
        connect_timeout_s: float = 10.0,
        drain_timeout_s: float = 10.0,
    ) -> None:
        if not 0 < rate_hz <= MAX_RATE_HZ:
            raise SimulatorError(f"rate must be within (0, {MAX_RATE_HZ:g}] Hz per device")
        if batch < 1 or window < 1 or buffer_limit < 1:
            raise SimulatorError("batch, window and buffer_limit must be at least 1")
        if duration_s is not None and duration_s <= 0:
            raise SimulatorError("duration must be positive")
        self.fleet = validate(fleet)
        self.faults = faults or Faults()
        self.faults.check_metrics(
            [PROFILES[d.profile] for d in self.fleet if d.profile is not None]
        )
        self.broker_host = broker_host
        self.broker_port = broker_port
        self.rate_hz = float(rate_hz)
        self.batch = batch
        self.seed = seed
        self.duration_s = duration_s
        self.tls = tls
        self.window = window
        self.buffer_limit = buffer_limit
        self.connect_timeout_s = connect_timeout_s
        self.drain_timeout_s = drain_timeout_s
        self.started = threading.Event()
        self.stopping = threading.Event()
        self.aborting = threading.Event()
        self.start_monotonic = 0.0
        self.start_epoch_ms = 0
        self._overflow = 0
        self._overflow_lock = threading.Lock()
        self._workers_wanted = workers
        self._workers: list[Worker] = []
        self._devices: list[SimDevice] = []
        self._links: list[Link] = []

    def stop(self) -> None:
        """Ask for a clean end from any thread: flush, wait for PUBACKs, disconnect."""
        self.stopping.set()

    def count_overflow(self) -> None:
        with self._overflow_lock:
            self._overflow += 1

    def _build(self) -> None:
        telemetry = [d for d in self.fleet if d.profile is not None]
        n_links = sum(1 for d in telemetry if d.protocol == "json") + len(edge_nodes(self.fleet))
        count = self._workers_wanted or min(4, max(1, (n_links + 249) // 250))
        self._workers = [Worker(self, f"sim-worker-{i}") for i in range(min(count, n_links))]
        spread = len(telemetry)
        by_key: dict[str, SimDevice] = {}
        for i, spec in enumerate(telemetry):
            assert spec.profile is not None
            # Devices start spread over one reading period, not all at the same instant.
            phase = (i / spread) / self.rate_hz
            device = SimDevice(spec, PROFILES[spec.profile], self.seed, self.faults, phase)
            by_key[spec.key] = device
            self._devices.append(device)
        workers = itertools.cycle(self._workers)
        for device in self._devices:
            if device.spec.protocol == "json":
                worker = next(workers)
                link: Link = JsonLink(self, worker, device)
                worker.links.append(link)
                self._links.append(link)
        for node in edge_nodes(self.fleet):
            worker = next(workers)
            link = _sparkplug_link(self, worker, node, [by_key[d.key] for d in node.devices])
            worker.links.append(link)
            self._links.append(link)

    def run(self) -> SimStats:
        """Connect, simulate, drain and report. Ctrl-C stops cleanly; a second one aborts."""
        self._build()
        log.info(
            "sim.starting",
            broker=f"{self.broker_host}:{self.broker_port}",
            devices=len(self._devices),
            connections=len(self._links),
            workers=len(self._workers),
            rate_hz=self.rate_hz,
            batch=self.batch,
        )
        for worker in self._workers:
            worker.start()
        try:
            for worker in self._workers:
                while not worker.connected_phase.wait(0.1):
                    pass
            self._raise_worker_error()
            if not any(link.connected for link in self._links):
                raise SimulatorError(
                    f"no device could connect to {self.broker_host}:{self.broker_port}"
                )
            self.start_epoch_ms = time.time_ns() // 1_000_000
            self.start_monotonic = time.monotonic()
            self.started.set()
            self._join()
        except KeyboardInterrupt:
            log.info("sim.interrupted", note="flushing; Ctrl-C again aborts")
            if not self.started.is_set():
                self.aborting.set()
                self.started.set()
            self.stop()
            try:
                self._join()
            except KeyboardInterrupt:
                self.aborting.set()
                self._join()
        except BaseException:
            self.aborting.set()
            self.started.set()
            self._join()
            raise
        self._raise_worker_error()
        elapsed = time.monotonic() - self.start_monotonic if self.start_monotonic else 0.0
        stats = self._stats(elapsed)
        log.info("sim.finished", **stats.as_dict())
        return stats

    def _join(self) -> None:
        for worker in self._workers:
            while not worker.finished.wait(0.1):
                pass

    def _raise_worker_error(self) -> None:
        for worker in self._workers:
            if worker.error is not None:
                self.aborting.set()
                self.started.set()
                raise SimulatorError(f"{worker.name} failed: {worker.error!r}") from worker.error

    def _stats(self, elapsed_s: float) -> SimStats:
        links = self._links
        devices = self._devices
        acked = sum(link.readings_acked for link in links)
        return SimStats(
            devices=len(devices),
            connections=len(links),
            connected=sum(1 for link in links if link.ever_connected),
            connect_failures=sum(link.connect_failures for link in links),
            messages_published=sum(link.messages_published for link in links),
            messages_acked=sum(link.messages_acked for link in links),
            messages_refused=sum(link.messages_refused for link in links),
            readings_generated=sum(d.generated for d in devices),
            readings_published=sum(d.published for d in devices),
            readings_acked=acked,
            readings_refused=sum(link.readings_refused for link in links),
            readings_buffered=sum(d.buffered for d in devices),
            readings_dropped=sum(d.injector.dropped for d in devices),
            readings_unsent=sum(link.readings_unsent() for link in links) + self._overflow,
            spikes=sum(d.injector.spikes for d in devices),
            start_ms=self.start_epoch_ms,
            elapsed_s=round(elapsed_s, 3),
            # Over the whole run, drain included: a simulator that fell behind shows it here.
            readings_per_s=round(acked / elapsed_s, 1) if elapsed_s > 0 else 0.0,
        )


def _sparkplug_link(
    sim: Simulator, worker: Worker, node: EdgeNode, devices: list[SimDevice]
) -> Link:
    """Imported lazily: the JSON path must not need the Sparkplug codec."""
    from yunfab_demo.simulator.sparkplug_link import SparkplugLink

    return SparkplugLink(sim, worker, node, devices)
