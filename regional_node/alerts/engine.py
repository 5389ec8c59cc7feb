"""Alert rules evaluated on readings as they are accepted, and on silence.

Threshold and rate-of-change rules look at every accepted reading in device-time order: a breach
opens an alert (one live alert per rule and device), a reading back in bounds closes it as
cleared. Stale rules are checked on a timer against when the node last accepted the metric. An
operator acknowledges or closes alerts (`regional_node.alerts.service`); the engine's view of
live alerts is reloaded from the database every few seconds so it follows those changes.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

import structlog
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from regional_node.alerts.models import Alert, AlertRule, AlertStatus, RuleKind
from regional_node.devices.registry import DeviceEntry, DeviceRegistry
from regional_node.telemetry.codec import RawReading
from regional_node.telemetry.metrics import IngestMetrics
from yunfab.db import session_scope, utcnow
from yunfab.events import Broadcaster

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class AlertEvent:
    """An alert opened, acknowledged or closed."""

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
        )


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
        self._rules: list[RuleView] = []
        self._live: dict[tuple[uuid.UUID, uuid.UUID], uuid.UUID] = {}
        self._last_value: dict[tuple[uuid.UUID, str], tuple[int, float]] = {}
        self._last_heard: dict[tuple[uuid.UUID, str], float] = {}
        self._loaded_at = 0.0
        self._started = time.monotonic()
        self._lock = asyncio.Lock()

    def rules_changed(self) -> None:
        self._loaded_at = 0.0

    async def _ensure_loaded(self) -> None:
        if time.monotonic() - self._loaded_at < self.reload_s:
            return
        async with self.sessionmaker() as session:
            rules = (await session.scalars(select(AlertRule).where(AlertRule.enabled))).all()
            live = (
                await session.execute(
                    select(Alert.rule_id, Alert.device_id, Alert.id).where(
                        Alert.status != AlertStatus.CLOSED
                    )
                )
            ).all()
        self._rules = [RuleView.from_model(rule) for rule in rules]
        self._live = {(rule_id, device_id): alert_id for rule_id, device_id, alert_id in live}
        self._loaded_at = time.monotonic()

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
                    breach = self._breach(rule, device, reading)
                    if breach is not None:
                        await self._open(rule, device, value, breach)
                    else:
                        await self._close(rule, device, "back within bounds")
                self._last_value[(device.id, metric)] = (ts_ms, value)

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

    async def check_stale(self) -> None:
        async with self._lock:
            await self._ensure_loaded()
            now = time.monotonic()
            for rule in self._rules:
                if rule.kind is not RuleKind.STALE or rule.stale_after_s is None:
                    continue
                for device in self.registry.all():
                    if not rule.applies_to(device) or device.refusal() is not None:
                        continue
                    heard = self._last_heard.get((device.id, rule.metric), self._started)
                    if now - heard > rule.stale_after_s:
                        await self._open(
                            rule,
                            device,
                            None,
                            f"no {rule.metric} for over {rule.stale_after_s} s",
                        )

    async def _open(
        self, rule: RuleView, device: DeviceEntry, value: float | None, message: str
    ) -> None:
        if (rule.id, device.id) in self._live:
            return
        alert = Alert(
            rule_id=rule.id,
            device_id=device.id,
            factory_id=device.factory_id,
            metric=rule.metric,
            severity=rule.severity,
            status=AlertStatus.OPEN,
            message=f"{rule.name}: {device.key} {message}",
            value=value,
        )
        try:
            async with session_scope(self.sessionmaker) as session:
                session.add(alert)
        except IntegrityError:
            # Another process opened it first; take its view on the next reload.
            self._loaded_at = 0.0
            return
        self._live[(rule.id, device.id)] = alert.id
        self.metrics.alerts_opened.labels(rule.kind.value).inc()
        self.events.publish(AlertEvent(alert.id, device.factory_id, "opened"))
        log.info("alert_opened", rule=rule.name, device=device.key, message=message)

    async def _close(self, rule: RuleView, device: DeviceEntry, reason: str) -> None:
        alert_id = self._live.pop((rule.id, device.id), None)
        if alert_id is None:
            return
        async with session_scope(self.sessionmaker) as session:
            closed = await session.execute(
                update(Alert)
                .where(Alert.id == alert_id, Alert.status != AlertStatus.CLOSED)
                .values(
                    status=AlertStatus.CLOSED,
                    closed_at=utcnow(),
                    closed_by="rule",
                    close_reason=reason,
                )
            )
        if closed.rowcount:  # type: ignore[attr-defined]
            self.events.publish(AlertEvent(alert_id, device.factory_id, "closed"))

    async def run_stale_checks(self, every_s: float) -> None:
        while True:
            try:
                await self.check_stale()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("stale_check_failed")
            await asyncio.sleep(every_s)
