"""Alert rules and the alerts they raise: create rules, acknowledge and close alerts."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.alerts.engine import AlertEvent
from regional_node.alerts.models import Alert, AlertRule, AlertStatus, RuleKind, Severity
from regional_node.audit.service import append_entry
from regional_node.devices import repository as devices
from regional_node.devices.service import METRIC, device_with_factory
from regional_node.factories.service import (
    check_at_factory,
    factory_for,
    get_factory,
)
from regional_node.runtime import NodeRuntime
from yunfab.db import after_commit, utcnow
from yunfab.errors import Conflict, InvalidInput, NotFound
from yunfab.graphql.pagination import Page, PageRequest, newest_first
from yunfab.subject import Subject


class AlertNotFound(NotFound):
    code = "alert_not_found"


class AlertClosed(Conflict):
    code = "alert_closed"


@dataclass(frozen=True)
class NewRule:
    name: str
    kind: RuleKind
    metric: str
    severity: Severity = Severity.WARNING
    device_id: uuid.UUID | None = None
    device_type: str | None = None
    factory_id: uuid.UUID | None = None
    above: float | None = None
    below: float | None = None
    rate_per_min: float | None = None
    stale_after_s: int | None = None


async def create_rule(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, input: NewRule
) -> AlertRule:
    if (input.device_id is None) == (input.device_type is None):
        raise InvalidInput("give deviceId (one device) or deviceType (every device of a type)")
    factory_id = input.factory_id
    if input.device_id is not None:
        # Who may not see the device is told DEVICE_NOT_FOUND, as for an id not on the node.
        _, factory = await device_with_factory(
            session, subject, runtime=runtime, device_id=input.device_id,
            action="node.alert.manage",
        )  # fmt: skip
        factory_id = factory.id
    elif factory_id is not None:
        await factory_for(
            session, subject, runtime=runtime, factory_id=factory_id, action="node.alert.manage"
        )
    else:
        # A rule for a device type on every factory of the node: the node operator's call.
        await runtime.authorizer.check(subject, "node.alert.manage")
    if not 1 <= len(input.name.strip()) <= 200:
        raise InvalidInput("name: 1 to 200 characters")
    if not METRIC.match(input.metric):
        raise InvalidInput("metric: lowercase letters, digits and underscores")
    if input.kind is RuleKind.THRESHOLD and input.above is None and input.below is None:
        raise InvalidInput("a threshold rule needs above, below or both")
    if input.above is not None and input.below is not None and input.below >= input.above:
        raise InvalidInput("below must be less than above")
    if input.kind is RuleKind.RATE_OF_CHANGE and not (input.rate_per_min or 0) > 0:
        raise InvalidInput("a rate-of-change rule needs a positive ratePerMin")
    if input.kind is RuleKind.STALE and not (input.stale_after_s or 0) > 0:
        raise InvalidInput("a stale rule needs a positive staleAfterS")
    await _check_declared(session, input, factory_id)
    rule = AlertRule(
        name=input.name.strip(),
        kind=input.kind,
        severity=input.severity,
        metric=input.metric,
        device_id=input.device_id,
        device_type=input.device_type,
        factory_id=factory_id,
        above=input.above if input.kind is RuleKind.THRESHOLD else None,
        below=input.below if input.kind is RuleKind.THRESHOLD else None,
        rate_per_min=input.rate_per_min if input.kind is RuleKind.RATE_OF_CHANGE else None,
        stale_after_s=input.stale_after_s if input.kind is RuleKind.STALE else None,
    )
    session.add(rule)
    await session.flush()
    await append_entry(
        session,
        actor=subject,
        action="node.alert.rule.create",
        resource=f"alert-rule:{rule.id}",
        outcome="ok",
        detail={"name": rule.name, "kind": rule.kind.value, "metric": rule.metric},
    )
    after_commit(session, runtime.alerts.rules_changed)
    return rule


MAX_LISTED = 40


def _listed(names: Iterable[str]) -> str:
    ordered = sorted(set(names))
    if not ordered:
        return "none"
    more = len(ordered) - MAX_LISTED
    return ", ".join(ordered[:MAX_LISTED]) + (f" and {more} more" if more > 0 else "")


async def _check_declared(
    session: AsyncSession, input: NewRule, factory_id: uuid.UUID | None
) -> None:
    """A rule watches what devices declared: the device's metrics, or a type that devices in
    its scope (the factory, or the node for a node-wide rule) have and a metric one of them
    declares. Anything else would never fire, and a misspelt rule is silently no rule."""
    if input.device_id is not None:
        declared = await devices.declared_metrics(session, input.device_id)
        if input.metric not in declared:
            raise InvalidInput(
                f"metric: the device declares no {input.metric!r}; its metrics: {_listed(declared)}"
            )
        return
    metrics = await devices.metrics_by_type(session, factory_id)
    where = "in the factory" if factory_id is not None else "on this node"
    if input.device_type not in metrics:
        raise InvalidInput(
            f"deviceType: no device of type {input.device_type!r} {where}; device types: "
            f"{_listed(metrics)}"
        )
    if input.metric not in metrics[input.device_type]:
        raise InvalidInput(
            f"metric: no {input.device_type} device {where} declares {input.metric!r}; their "
            f"metrics: {_listed(metrics[input.device_type])}"
        )


async def check_alert_reader(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, factory_id: uuid.UUID
) -> None:
    """May the subject follow the factory's alerts: who may not see the factory is told
    FACTORY_NOT_FOUND, as for an id not on the node."""
    await factory_for(
        session, subject, runtime=runtime, factory_id=factory_id, action="node.alert.read"
    )


async def respond(
    session: AsyncSession,
    subject: Subject,
    *,
    runtime: NodeRuntime,
    alert_id: uuid.UUID,
    close: bool,
    note: str | None = None,
) -> Alert:
    """Acknowledge (someone is on it) or close (handled) an alert."""
    alert = await session.get(Alert, alert_id, with_for_update=True)
    if alert is None:
        raise AlertNotFound(f"no alert {alert_id} on this node")
    factory = await get_factory(session, alert.factory_id)
    await check_at_factory(
        runtime,
        subject,
        "node.alert.respond",
        factory,
        AlertNotFound(f"no alert {alert_id} on this node"),
    )
    if alert.status is AlertStatus.CLOSED:
        raise AlertClosed("the alert is already closed")
    now = utcnow()
    if close:
        alert.status = AlertStatus.CLOSED
        alert.closed_at, alert.closed_by = now, subject.label
        alert.close_reason = (note or "closed by hand").strip()[:500]
    else:
        if alert.status is AlertStatus.ACKNOWLEDGED:
            raise Conflict("the alert is already acknowledged")
        alert.status = AlertStatus.ACKNOWLEDGED
        alert.acknowledged_at, alert.acknowledged_by = now, subject.label
    await session.flush()
    change = "closed" if close else "acknowledged"
    await append_entry(
        session,
        actor=subject,
        action=f"node.alert.{'close' if close else 'acknowledge'}",
        resource=f"alert:{alert.id}",
        outcome="ok",
        detail={"note": note},
    )
    event = AlertEvent(alert.id, alert.factory_id, change)
    after_commit(session, lambda: runtime.alert_events.publish(event))
    if close:
        after_commit(session, runtime.alerts.rules_changed)
    return alert


async def list_alerts(
    session: AsyncSession,
    subject: Subject,
    *,
    runtime: NodeRuntime,
    factory_id: uuid.UUID,
    status: AlertStatus | None,
    page: PageRequest,
) -> Page[Alert]:
    """Newest first."""
    factory = await factory_for(
        session, subject, runtime=runtime, factory_id=factory_id, action="node.alert.read"
    )
    conditions = [Alert.factory_id == factory.id]
    if status is not None:
        conditions.append(Alert.status == status)
    query = newest_first(select(Alert).where(*conditions), Alert.opened_at, Alert.id, page.after)
    rows = (await session.scalars(query.limit(page.limit + 1))).all()

    async def count() -> int:
        return await session.scalar(select(func.count()).select_from(Alert).where(*conditions)) or 0

    return Page.from_rows(rows, page.limit, count)
