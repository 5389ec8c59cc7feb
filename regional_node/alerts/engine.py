"""Alert rules evaluated on readings as they are accepted, and on silence.

Threshold and rate-of-change rules look at every accepted reading in device-time order. A breach
that lasts `for_s` (device time; zero: at once) opens an alert, one live alert per rule and
device; the alert closes once the value is back past the rule's clear level (hysteresis:
`clear_above` under `above`, `clear_below` over `below`, defaulting to the thresholds themselves)
for `clear_for_s`. Between the two, a noisy value that wobbles around a threshold neither reopens
nor recloses anything. An open alert escalates once (to `escalate_to`) when the value passes the
escalation level or it stays open `escalate_after_s`. Stale rules are checked on a timer against
when the node last accepted the metric. Every transition writes its notifications to the outbox
in its own transaction (`regional_node.alerts.notifications`).

An operator acknowledges or closes alerts (`regional_node.alerts.service`); the engine's view of
live alerts is reloaded from the database every few seconds so it follows those changes.

Across replicas and restarts (issue #22): the live alerts are the database's, and a unique index
on the live alert of a rule and device lets only one of several engines open it (the others take
its view on the next reload). The `for` and clear timers (when a breach, or a return within
bounds, began) are `Timers`: this process's dictionaries by default; with NATS, a shared-state
bucket (`use_shared_timers`), so an ingest consumer that restarts, or another that gets the
device's next readings, goes on from the same start instead of waiting a whole `for` again. Only
rules with a `for` or a clear time touch it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from regional_node.alerts.models import (
    Alert,
    AlertRule,
    AlertStatus,
    NotificationEvent,
    RuleKind,
    Severity,
)
from regional_node.alerts.notifications import DEFAULT_ZONE, enqueue
from regional_node.alerts.repository import AlertRepository
from regional_node.devices.registry import DeviceEntry, DeviceRegistry
from regional_node.telemetry.codec import RawReading
from regional_node.telemetry.metrics import IngestMetrics
from yunfab.db import after_commit, session_scope, utcnow
from yunfab.events import Broadcaster
from yunfab.shared_state import SharedState, SharedStateError

log = structlog.get_logger(__name__)

Key = tuple[uuid.UUID, uuid.UUID]
"""(rule id, device id)."""


@dataclass(frozen=True)
class AlertEvent:
    """An alert opened, acknowledged, escalated or closed."""

    alert_id: uuid.UUID
    factory_id: uuid.UUID
    change: str


@dataclass(frozen=True)
class RuleView:
    id: uuid.UUID
    name: str
    kind: RuleKind
    metric: str
    severity: str
    device_id: uuid.UUID | None
    device_type: str | None
    factory_id: uuid.UUID | None
    above: float | None
    below: float | None
    rate_per_min: float | None
    stale_after_s: int | None
    for_s: int = 0
    clear_above: float | None = None
    clear_below: float | None = None
    clear_for_s: int = 0
    escalate_above: float | None = None
    escalate_below: float | None = None
    escalate_after_s: int | None = None
    escalate_to: str | None = None

    def applies_to(self, device: DeviceEntry) -> bool:
        if self.device_id is not None:
            return self.device_id == device.id
        return self.device_type == device.type and self.factory_id in (None, device.factory_id)

    @classmethod
    def from_model(cls, rule: AlertRule) -> RuleView:
        return cls(
            id=rule.id,
            name=rule.name,
            kind=rule.kind,
            metric=rule.metric,
            severity=rule.severity.value,
            device_id=rule.device_id,
            device_type=rule.device_type,
            factory_id=rule.factory_id,
            above=rule.above,
            below=rule.below,
            rate_per_min=rule.rate_per_min,
            stale_after_s=rule.stale_after_s,
            for_s=rule.for_s or 0,
            clear_above=rule.clear_above,
            clear_below=rule.clear_below,
            clear_for_s=rule.clear_for_s or 0,
            escalate_above=rule.escalate_above,
            escalate_below=rule.escalate_below,
            escalate_after_s=rule.escalate_after_s,
            escalate_to=rule.escalate_to.value if rule.escalate_to else None,
        )


@dataclass(frozen=True)
class LiveAlert:
    id: uuid.UUID
    opened_at: dt.datetime
    opened_ms: int
    """Device time of the reading that opened it (its wall-clock time after a reload)."""
    escalated: bool


def _ms(at: dt.datetime) -> int:
    return int(at.timestamp() * 1000)


TIMER_TTL_S = 2 * 86_400
"""How long a shared timer outlives its last write: past the longest `for` or clear time."""

PENDING, CLEARING = "pending", "clearing"


class Timers:
    """When a breach (`pending`) or a return within bounds (`clearing`) of a rule on a device
    began, in device time: in this process."""

    def __init__(self) -> None:
        self._since: dict[tuple[str, Key], int] = {}

    async def start(self, kind: str, key: Key, ts_ms: int) -> int:
        """The timer's start, `ts_ms` if it was not running."""
        return self._since.setdefault((kind, key), ts_ms)

    async def stop(self, kind: str, key: Key) -> None:
        self._since.pop((kind, key), None)

    def keep_clearing(self, live: set[Key]) -> None:
        """Forget clear timers of alerts no longer live (closed by an operator)."""
        for kind, key in [entry for entry in self._since if entry[0] == CLEARING]:
            if key not in live:
                del self._since[(kind, key)]


class SharedTimers(Timers):
    """The timers in a shared-state bucket, one key per timer. When the bucket cannot be
    reached, this process's own timers stand in (a breach is judged, if later than it would).
    A shared clear timer left by an alert an operator closed is stopped when the next opens."""

    def __init__(self, bucket: SharedState) -> None:
        super().__init__()
        self.bucket = bucket

    @staticmethod
    def _key(kind: str, key: Key) -> str:
        return f"{kind}.{key[0]}.{key[1]}"

    async def start(self, kind: str, key: Key, ts_ms: int) -> int:
        name = self._key(kind, key)
        try:
            if await self.bucket.create(name, str(ts_ms).encode()) is not None:
                return ts_ms
            held = await self.bucket.get(name)
            if held is None:  # stopped in between: start it now
                await self.bucket.put(name, str(ts_ms).encode())
                return ts_ms
            return int(held.value)
        except (SharedStateError, ValueError) as exc:
            log.warning("alert_timers_unreachable", error=str(exc))
            return await super().start(kind, key, ts_ms)

    async def stop(self, kind: str, key: Key) -> None:
        await super().stop(kind, key)
        name = self._key(kind, key)
        try:
            if await self.bucket.get(name) is not None:
                await self.bucket.delete(name)
        except SharedStateError as exc:
            log.warning("alert_timers_unreachable", error=str(exc))


class AlertEngine:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        registry: DeviceRegistry,
        events: Broadcaster[AlertEvent],
        metrics: IngestMetrics,
        *,
        reload_s: float = 5.0,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.registry = registry
        self.events = events
        self.metrics = metrics
        self.reload_s = reload_s
        self.zone: ZoneInfo = DEFAULT_ZONE
        """Silences' daily windows are in this zone (the node's alert_time_zone)."""
        self.outbox_changed: Callable[[], None] = lambda: None
        """Called once notifications to send were committed (the delivery worker's wake)."""
        self._rules: list[RuleView] = []
        self._live: dict[Key, LiveAlert] = {}
        self.timers = Timers()
        self._last_value: dict[tuple[uuid.UUID, str], tuple[int, float]] = {}
        self._last_heard: dict[tuple[uuid.UUID, str], float] = {}
        self._loaded_at = 0.0
        self._changes = 0
        """Rule changes told so far: a load that a change overtook is not taken as fresh."""
        self._started = time.monotonic()
        self._lock = asyncio.Lock()

    def use_notifications(self, zone: ZoneInfo, wake: Callable[[], None]) -> None:
        self.zone = zone
        self.outbox_changed = wake

    def use_shared_timers(self, bucket: SharedState) -> None:
        """Keep `for` and clear timers in `bucket` (several replicas, or restarts)."""
        self.timers = SharedTimers(bucket)

    def rules_changed(self) -> None:
        self._changes += 1
        self._loaded_at = 0.0

    async def _ensure_loaded(self) -> None:
        if time.monotonic() - self._loaded_at < self.reload_s:
            return
        changes = self._changes
        async with self.sessionmaker() as session:
            alerts = AlertRepository(session)
            rules = await alerts.enabled_rules()
            live = await alerts.live_alerts()
        self._rules = [RuleView.from_model(rule) for rule in rules]
        known = {(rule_id, device_id): alert_id for rule_id, device_id, alert_id, *_ in live}
        self._live = {
            (rule_id, device_id): self._live[(rule_id, device_id)]
            if (rule_id, device_id) in self._live
            and self._live[(rule_id, device_id)].id == alert_id
            else LiveAlert(alert_id, opened_at, _ms(opened_at), escalated_at is not None)
            for rule_id, device_id, alert_id, opened_at, escalated_at in live
        }
        self.timers.keep_clearing(set(known))
        # A rule changed while the rules were read (e.g. the stale checks' load): what was read
        # may predate it, so the next call reads them again.
        self._loaded_at = time.monotonic() if changes == self._changes else 0.0

    async def on_readings(self, device: DeviceEntry, readings: list[RawReading]) -> None:
        async with self._lock:
            await self._ensure_loaded()
            now = time.monotonic()
            for metric in {reading[0] for reading in readings}:
                self._last_heard[(device.id, metric)] = now
            rules = [rule for rule in self._rules if rule.applies_to(device)]
            watched = {rule.metric for rule in rules}
            if not watched:
                return
            for reading in sorted((r for r in readings if r[0] in watched), key=lambda r: r[1]):
                metric, ts_ms, value = reading
                last = self._last_value.get((device.id, metric))
                if last is not None and ts_ms <= last[0]:
                    # A retry, a redelivery, or a backlog older than what was already judged:
                    # it neither opens nor clears anything.
                    continue
                for rule in rules:
                    if rule.metric != metric:
                        continue
                    if rule.kind is RuleKind.STALE:
                        await self._close(rule, device, "data arrived again")
                        continue
                    await self._judge(rule, device, reading)
                self._last_value[(device.id, metric)] = (ts_ms, value)

    async def _judge(self, rule: RuleView, device: DeviceEntry, reading: RawReading) -> None:
        """One reading against one rule: pending, open, hold, escalate, clearing, close."""
        _, ts_ms, value = reading
        key = (rule.id, device.id)
        live = self._live.get(key)
        if live is None:
            breach = self._breach(rule, device, reading)
            if breach is None:
                if rule.for_s:
                    await self.timers.stop(PENDING, key)
                return
            since = await self.timers.start(PENDING, key, ts_ms) if rule.for_s else ts_ms
            if ts_ms - since >= rule.for_s * 1000:
                if rule.for_s:
                    await self.timers.stop(PENDING, key)
                await self._open(rule, device, value, breach, ts_ms)
            return
        if self._holds(rule, device, reading):
            if rule.clear_for_s:
                await self.timers.stop(CLEARING, key)
            why = self._escalation(rule, live, value, ts_ms)
            if why is not None:
                await self._escalate(rule, device, why)
            return
        since = await self.timers.start(CLEARING, key, ts_ms) if rule.clear_for_s else ts_ms
        if ts_ms - since >= rule.clear_for_s * 1000:
            await self._close(rule, device, "back within bounds")

    def _breach(self, rule: RuleView, device: DeviceEntry, reading: RawReading) -> str | None:
        metric, ts_ms, value = reading
        if rule.kind is RuleKind.THRESHOLD:
            if rule.above is not None and value > rule.above:
                return f"{rule.metric} {value:g} above {rule.above:g}"
            if rule.below is not None and value < rule.below:
                return f"{rule.metric} {value:g} below {rule.below:g}"
            return None
        previous = self._last_value.get((device.id, metric))
        if rule.rate_per_min is None or previous is None or ts_ms <= previous[0]:
            return None
        rate = abs(value - previous[1]) / ((ts_ms - previous[0]) / 60_000)
        if rate > rule.rate_per_min:
            return f"{rule.metric} changing {rate:.3g}/min, limit {rule.rate_per_min:g}/min"
        return None

    def _holds(self, rule: RuleView, device: DeviceEntry, reading: RawReading) -> bool:
        """Whether an open alert stays open: still past the clear level (the threshold when
        the rule has none), so a value hovering between the two changes nothing."""
        value = reading[2]
        if rule.kind is not RuleKind.THRESHOLD:
            return self._breach(rule, device, reading) is not None
        over = rule.clear_above if rule.clear_above is not None else rule.above
        under = rule.clear_below if rule.clear_below is not None else rule.below
        return (over is not None and value > over) or (under is not None and value < under)

    @staticmethod
    def _escalation(rule: RuleView, live: LiveAlert, value: float, ts_ms: int) -> str | None:
        if live.escalated or rule.escalate_to is None:
            return None
        if rule.escalate_above is not None and value > rule.escalate_above:
            return f"{rule.metric} {value:g} above {rule.escalate_above:g}"
        if rule.escalate_below is not None and value < rule.escalate_below:
            return f"{rule.metric} {value:g} below {rule.escalate_below:g}"
        if (
            rule.escalate_after_s is not None
            and ts_ms - live.opened_ms >= rule.escalate_after_s * 1000
        ):
            return f"open for over {rule.escalate_after_s} s"
        return None

    async def check_stale(self) -> None:
        async with self._lock:
            await self._ensure_loaded()
            now = time.monotonic()
            for rule in self._rules:
                if rule.kind is RuleKind.STALE and rule.stale_after_s is not None:
                    await self._check_stale_rule(rule, now)
            await self._escalate_overdue()

    async def _check_stale_rule(self, rule: RuleView, now: float) -> None:
        assert rule.stale_after_s is not None
        for device in self.registry.all():
            if not rule.applies_to(device) or device.refusal() is not None:
                continue
            heard = self._last_heard.get((device.id, rule.metric), self._started)
            if now - heard > rule.stale_after_s:
                await self._open(
                    rule, device, None, f"no {rule.metric} for over {rule.stale_after_s} s", None
                )

    async def _escalate_overdue(self) -> None:
        """Alerts open for `escalate_after_s` by the clock, when no reading came to tell."""
        wall_ms = _ms(utcnow())
        rules = {rule.id: rule for rule in self._rules}
        devices = {device.id: device for device in self.registry.all()}
        for (rule_id, device_id), live in list(self._live.items()):
            rule = rules.get(rule_id)
            device = devices.get(device_id)
            if rule is None or device is None or rule.escalate_after_s is None:
                continue
            if live.escalated or rule.escalate_to is None:
                continue
            if wall_ms - _ms(live.opened_at) >= rule.escalate_after_s * 1000:
                await self._escalate(rule, device, f"open for over {rule.escalate_after_s} s")

    async def _open(
        self,
        rule: RuleView,
        device: DeviceEntry,
        value: float | None,
        message: str,
        ts_ms: int | None,
    ) -> None:
        if (rule.id, device.id) in self._live:
            return
        alert = Alert(
            rule_id=rule.id,
            device_id=device.id,
            factory_id=device.factory_id,
            metric=rule.metric,
            severity=Severity(rule.severity),
            status=AlertStatus.OPEN,
            message=f"{rule.name}: {device.key} {message}",
            value=value,
            opened_at=utcnow(),
        )
        try:
            async with session_scope(self.sessionmaker) as session:
                session.add(alert)
                await session.flush()
                await self._notify(session, alert, NotificationEvent.OPENED)
        except IntegrityError:
            # Another process opened it first; take its view on the next reload.
            self._loaded_at = 0.0
            return
        opened_ms = ts_ms if ts_ms is not None else _ms(alert.opened_at)
        self._live[(rule.id, device.id)] = LiveAlert(alert.id, alert.opened_at, opened_ms, False)
        if rule.clear_for_s:  # one left by an alert an operator closed must not count
            await self.timers.stop(CLEARING, (rule.id, device.id))
        self.metrics.alerts_opened.labels(rule.kind.value).inc()
        self.events.publish(AlertEvent(alert.id, device.factory_id, "opened"))
        log.info("alert_opened", rule=rule.name, device=device.key, message=message)

    async def _notify(self, session: AsyncSession, alert: Alert, event: NotificationEvent) -> None:
        if await enqueue(session, alert, event, zone=self.zone):
            after_commit(session, self.outbox_changed)

    async def _escalate(self, rule: RuleView, device: DeviceEntry, why: str) -> None:
        key = (rule.id, device.id)
        live = self._live.get(key)
        if live is None or rule.escalate_to is None:
            return
        self._live[key] = replace(live, escalated=True)
        async with session_scope(self.sessionmaker) as session:
            alert = await AlertRepository(session).alert(live.id, lock=True)
            if alert is None or alert.status is AlertStatus.CLOSED or alert.escalated_at:
                return
            alert.severity = Severity(rule.escalate_to)
            alert.escalated_at = utcnow()
            alert.message = f"{alert.message}; escalated: {why}"[:2000]
            await session.flush()
            await self._notify(session, alert, NotificationEvent.ESCALATED)
        self.events.publish(AlertEvent(live.id, device.factory_id, "escalated"))
        log.info("alert_escalated", rule=rule.name, device=device.key, why=why)

    async def _close(self, rule: RuleView, device: DeviceEntry, reason: str) -> None:
        live = self._live.pop((rule.id, device.id), None)
        if rule.clear_for_s:
            await self.timers.stop(CLEARING, (rule.id, device.id))
        if live is None:
            return
        async with session_scope(self.sessionmaker) as session:
            alert = await AlertRepository(session).alert(live.id, lock=True)
            if alert is None or alert.status is AlertStatus.CLOSED:
                return
            alert.status = AlertStatus.CLOSED
            alert.closed_at, alert.closed_by, alert.close_reason = utcnow(), "rule", reason
            await session.flush()
            await self._notify(session, alert, NotificationEvent.CLOSED)
        self.events.publish(AlertEvent(live.id, device.factory_id, "closed"))

    async def run_stale_checks(self, every_s: float) -> None:
        while True:
            try:
                await self.check_stale()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("stale_check_failed")
            await asyncio.sleep(every_s)
