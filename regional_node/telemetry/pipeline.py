"""From inbound messages to committed readings, dead letters, live events and alerts.

Every transport (MQTT plain JSON, Sparkplug B, HTTP batches) hands the pipeline `Envelope`s, one
per device message. The pipeline decides per reading: accepted, or a dead letter with a reason.
Nothing from an unknown, suspended or retired device (or one whose factory is not active) is
stored as telemetry. A message with some bad readings keeps its good ones.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from itertools import compress
from typing import Any

import numpy as np
import numpy.typing as npt
import structlog

from regional_node.devices.models import Connection, DeviceKind
from regional_node.devices.registry import DeviceEntry, DeviceRegistry
from regional_node.telemetry.codec import (
    Columns,
    Decoded,
    MalformedMessage,
    RawReading,
    decode_message,
)
from regional_node.telemetry.metrics import IngestMetrics
from regional_node.telemetry.store import BirthChange, TelemetryStore, WriteBatch
from yunfab.db import utcnow
from yunfab.events import Broadcaster

log = structlog.get_logger(__name__)

MAX_DETAIL = 2000
MAX_PROBLEMS_LISTED = 20
MAX_PAYLOAD = 64 * 1024
"""Bytes of a message kept with its dead letter: enough to diagnose, bounded per record."""


@dataclass
class Envelope:
    source: str
    """mqtt or http."""
    payload: bytes
    device_key: str | None
    topic: str | None = None
    decoded: Decoded | None = None
    """Readings already decoded by the transport (Sparkplug, HTTP); else `payload` is JSON."""
    refusal: tuple[str, str] | None = None
    """(reason, detail) when the transport already refused the whole message."""
    sparkplug: tuple[str, str] | None = None
    """(group id, edge node id) the message came under: the device must belong to them."""


@dataclass(frozen=True)
class ConnectionChange:
    """A Sparkplug birth or death: `device_key` went online or offline, as told under
    (group, edge node); applied only if the device belongs to them."""

    device_key: str
    group: str
    edge_node: str
    state: Connection
    birth: BirthChange | None = None
    """The birth certificate to keep (or, for a death, to forget) with the change."""


@dataclass(frozen=True)
class TelemetryEvent:
    """Readings of one device just committed, for live subscribers."""

    device_id: uuid.UUID
    device_key: str
    factory_id: uuid.UUID
    readings: tuple[tuple[str, int, float], ...]


@dataclass
class Outcome:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    problems: list[dict[str, str]] = field(default_factory=list)


AcceptedHook = Callable[[DeviceEntry, list[RawReading]], Awaitable[None]]


@dataclass
class Accepted:
    """One device's accepted readings in a batch: parts of decoded messages, each with the mask
    of what was kept (None: all of it). Made into tuples only for those who want them (live
    subscribers, alert rules)."""

    entry: DeviceEntry
    parts: list[tuple[Columns, npt.NDArray[np.bool_] | None]] = field(default_factory=list)

    def readings(self) -> list[RawReading]:
        readings: list[RawReading] = []
        for columns, kept in self.parts:
            if columns.readings is not None:
                if kept is None:
                    readings.extend(columns.readings)
                else:
                    readings.extend(compress(columns.readings, kept.tolist()))
                continue
            metrics, ts_ms, values = columns.metrics(), columns.ts_ms, columns.values
            if kept is not None:
                metrics = list(compress(metrics, kept.tolist()))
                ts_ms, values = ts_ms[kept], values[kept]
            readings.extend(zip(metrics, ts_ms.tolist(), values.tolist(), strict=True))
        return readings


@dataclass
class Prepared:
    """A decided batch, not yet written."""

    batch: WriteBatch = field(default_factory=WriteBatch)
    outcome: Outcome = field(default_factory=Outcome)
    accepted: dict[str, Accepted] = field(default_factory=dict)
    rejected_by_reason: dict[str, int] = field(default_factory=lambda: defaultdict(int))


class IngestPipeline:
    def __init__(
        self,
        *,
        registry: DeviceRegistry,
        store: TelemetryStore,
        metrics: IngestMetrics,
        events: Broadcaster[TelemetryEvent],
        raw_retention_s: float,
        future_skew_s: float = 300.0,
        seen_every_s: float = 5.0,
    ) -> None:
        self.registry = registry
        self.store = store
        self.metrics = metrics
        self.events = events
        self.raw_retention_s = raw_retention_s
        self.future_skew_s = future_skew_s
        self.seen_every_s = seen_every_s
        self.on_accepted: list[AcceptedHook] = []
        self._last_seen_written: dict[uuid.UUID, float] = {}

    async def ingest(
        self,
        envelopes: Sequence[Envelope],
        *,
        connections: Sequence[ConnectionChange] = (),
    ) -> Outcome:
        """Decide and commit a batch; `connections` are online/offline changes (Sparkplug births
        and deaths). Raises only when the database write fails: nothing of the batch is then
        committed, and the caller retries or refuses."""
        return await self.commit(await self.prepare(envelopes, connections=connections))

    async def prepare(
        self,
        envelopes: Sequence[Envelope],
        *,
        connections: Sequence[ConnectionChange] = (),
    ) -> Prepared:
        """Decide every reading (CPU work, and a registry lookup for unknown keys); nothing is
        written yet. The MQTT consumer prepares the next batch while this one commits."""
        prepared = Prepared()
        batch = prepared.batch
        for change in connections:
            entry = await self.registry.get(change.device_key)
            if entry is not None and sparkplug_member(entry, change.group, change.edge_node):
                batch.connections[entry.id] = change.state
                if change.birth is not None:
                    batch.births.append(change.birth)
        now_ms = int(time.time() * 1000)
        oldest_ms = now_ms - int(self.raw_retention_s * 1000)
        newest_ms = now_ms + int(self.future_skew_s * 1000)
        outcome = prepared.outcome
        for source, count in Counter(envelope.source for envelope in envelopes).items():
            self.metrics.messages.labels(source).inc(count)
        for envelope in envelopes:
            problems = await self._decide(
                envelope, prepared, oldest_ms=oldest_ms, newest_ms=newest_ms
            )
            for reason, count, details in problems:
                prepared.rejected_by_reason[reason] += count
                outcome.rejected += count
                if len(outcome.problems) < MAX_PROBLEMS_LISTED:
                    outcome.problems.append(
                        {"device": envelope.device_key or "", "reason": reason, "detail": details}
                    )
                batch.dead_letters.append(
                    {
                        "received_at": utcnow(),
                        "source": envelope.source,
                        "topic": _text(envelope.topic, 512),
                        "device_key": _text(envelope.device_key, 63),
                        "reason": reason,
                        "detail": _text(details, MAX_DETAIL) or "",
                        "payload": envelope.payload[:MAX_PAYLOAD],
                    }
                )
        self._note_seen(batch, prepared.accepted)
        self.store.encode(batch)
        return prepared

    async def commit(self, prepared: Prepared) -> Outcome:
        """Write a prepared batch in one transaction, then count it and tell subscribers and
        alert rules."""
        batch, outcome = prepared.batch, prepared.outcome
        started = time.perf_counter()
        inserted = await self.store.write(batch)
        self.metrics.batch_seconds.observe(time.perf_counter() - started)
        outcome.accepted = inserted
        outcome.duplicates = batch.count - inserted
        self.metrics.readings.labels("accepted").inc(inserted)
        self.metrics.readings.labels("duplicate").inc(outcome.duplicates)
        for reason, count in prepared.rejected_by_reason.items():
            self.metrics.rejected.labels(reason).inc(count)
        self.metrics.dead_letters.inc(len(batch.dead_letters))
        if inserted == 0:
            # All of it was stored before (a retry, a redelivery): nothing new to tell anyone.
            return outcome
        live = self.events.has_subscribers
        if not live and not self.on_accepted:
            return outcome
        for accepted in prepared.accepted.values():
            entry, readings = accepted.entry, accepted.readings()
            if live:
                self.events.publish(
                    TelemetryEvent(
                        device_id=entry.id,
                        device_key=entry.key,
                        factory_id=entry.factory_id,
                        readings=tuple(readings),
                    )
                )
            for hook in self.on_accepted:
                try:
                    await hook(entry, readings)
                except Exception:
                    log.exception("accepted_hook_failed", device=entry.key)
        return outcome

    async def _decide(
        self,
        envelope: Envelope,
        prepared: Prepared,
        *,
        oldest_ms: int,
        newest_ms: int,
    ) -> list[tuple[str, int, str]]:
        """Add the envelope's good readings to the batch; return (reason, count, detail)."""
        if envelope.refusal is not None:
            return [(envelope.refusal[0], 1, envelope.refusal[1])]
        if envelope.device_key is None:
            return [("unknown_topic", 1, f"no device in topic {envelope.topic!r}")]
        entry = await self.registry.get(envelope.device_key)
        if entry is None:
            return [("unknown_device", 1, f"no device {envelope.device_key!r} on this node")]
        refusal = entry.refusal()
        if refusal is not None:
            return [(refusal, 1, f"device {entry.key} is refused: {refusal.replace('_', ' ')}")]
        if entry.edge_node_key is not None:
            edge = await self.registry.get(entry.edge_node_key)
            edge_refusal = edge.refusal() if edge is not None else "device_retired"
            if edge_refusal is not None:
                return [
                    (
                        f"edge_node_{edge_refusal.removeprefix('device_')}",
                        1,
                        f"edge node {entry.edge_node_key} of {entry.key} is refused",
                    )
                ]
        if envelope.sparkplug is not None and not sparkplug_member(entry, *envelope.sparkplug):
            group, edge_key = envelope.sparkplug
            return [
                (
                    "sparkplug_mismatch",
                    1,
                    f"{entry.key} is not {edge_key} or one of its devices in group {group}",
                )
            ]
        decoded = envelope.decoded
        if decoded is None:
            try:
                decoded = decode_message(envelope.payload)
            except MalformedMessage as exc:
                return [(exc.reason, 1, exc.detail)]
        problems: dict[str, list[str]] = defaultdict(list)
        for reason, detail in decoded.problems:
            problems[reason].append(detail)
        columns = decoded.as_columns()
        if len(columns):
            self._check(
                entry, columns, prepared, problems, oldest_ms=oldest_ms, newest_ms=newest_ms
            )
        return [
            (reason, len(details), "; ".join(details[:MAX_PROBLEMS_LISTED]))
            for reason, details in problems.items()
        ]

    def _check(
        self,
        entry: DeviceEntry,
        columns: Columns,
        prepared: Prepared,
        problems: dict[str, list[str]],
        *,
        oldest_ms: int,
        newest_ms: int,
    ) -> None:
        """Keep the readings of a known metric, within its range and the accepted time window,
        checked a message at a time; the rest are rare and explained one by one."""
        checks = entry.checks
        rows = np.array(
            [checks.rows.get(name, checks.unknown) for name in columns.names], dtype=np.intp
        )
        series_of_name = checks.series[rows]
        codes, ts_ms, values = columns.codes, columns.ts_ms, columns.values
        ok = (checks.lo[rows][codes] <= values) & (values <= checks.hi[rows][codes])
        ok &= (ts_ms >= oldest_ms) & (ts_ms <= newest_ms)
        series = series_of_name[codes]
        kept: npt.NDArray[np.bool_] | None = None
        if ok.all():
            touched = set(series_of_name.tolist())
        else:
            for index in np.flatnonzero(~ok).tolist():
                _explain(entry, columns.reading(index), problems, oldest_ms=oldest_ms)
            if not ok.any():
                return
            kept, series, ts_ms, values = ok, series[ok], ts_ms[ok], values[ok]
            touched = set(series.tolist())
        prepared.batch.add(series, ts_ms, values)
        prepared.batch.touch(touched, int(ts_ms.min()), int(ts_ms.max()))
        accepted = prepared.accepted.get(entry.key)
        if accepted is None:
            accepted = prepared.accepted[entry.key] = Accepted(entry)
        accepted.parts.append((columns, kept))

    def _note_seen(self, batch: WriteBatch, accepted: dict[str, Accepted]) -> None:
        """Write `last_seen_at` at most every few seconds per device: it is for people, and a
        row update per message would cost more than the readings."""
        now = time.monotonic()
        stamp = utcnow()
        for entry in (item.entry for item in accepted.values()):
            last = self._last_seen_written.get(entry.id)
            first = entry.status.value == "provisioned"
            if first or last is None or now - last >= self.seen_every_s:
                batch.seen[entry.id] = stamp
                self._last_seen_written[entry.id] = now
                if first:
                    self.registry.invalidate([entry.key])


def _explain(
    entry: DeviceEntry, reading: RawReading, problems: dict[str, list[str]], *, oldest_ms: int
) -> None:
    """Why a reading was not kept."""
    metric, ts, value = reading
    spec = entry.metrics.get(metric)
    if spec is None:
        problems["unknown_metric"].append(f"{metric} is not declared")
    elif value != value:  # NaN
        problems["bad_value"].append(f"{metric} at {ts} is not a number")
    elif spec.out_of_range(value):
        problems["out_of_range"].append(
            f"{metric}={value:g} {spec.unit} outside "
            f"[{_bound(spec.min_value, '-inf')}, {_bound(spec.max_value, '+inf')}] "
            f"at {ts}"
        )
    elif ts < oldest_ms:
        problems["too_old"].append(f"{metric} at {ts} is older than the raw retention")
    else:
        problems["from_future"].append(f"{metric} at {ts} is ahead of the node's clock")


def sparkplug_member(entry: DeviceEntry, group: str, edge_key: str) -> bool:
    """Whether a Sparkplug message under (group, edge node) may speak for this device: the edge
    node itself, or a device provisioned under it, in the factory the group names."""
    if entry.factory_slug != group:
        return False
    if entry.kind is DeviceKind.EDGE_NODE:
        return entry.key == edge_key
    return entry.edge_node_key == edge_key


def _text(value: str | None, limit: int) -> str | None:
    """What devices send ends up in text columns: no NUL (PostgreSQL refuses it, and one such
    message would block the batch it is in), and no more than the column holds."""
    if not value:
        return None
    return value.replace("\x00", "\\0")[:limit]


def _bound(value: float | None, unbounded: str) -> str:
    return unbounded if value is None else f"{value:g}"


def describe(outcome: Outcome) -> dict[str, Any]:
    return {
        "accepted": outcome.accepted,
        "duplicates": outcome.duplicates,
        "rejected": outcome.rejected,
        "problems": outcome.problems,
    }
