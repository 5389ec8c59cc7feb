"""Alert rules and the alerts they raise: create rules and their silences, list, acknowledge
and close alerts."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.alerts.engine import AlertEvent
from regional_node.alerts.errors import (
    AlertClosed,
    AlertNotFound,
    AlertRuleNotFound,
    ContactPointNotFound,
    SilenceNotFound,
)
from regional_node.alerts.models import (
    Alert,
    AlertRule,
    AlertSilence,
    AlertStatus,
    NotificationEvent,
    RuleKind,
    Severity,
)
from regional_node.alerts.notifications import enqueue
from regional_node.alerts.repository import AlertRepository
from regional_node.audit.service import append_entry
from regional_node.devices import repository as devices
from regional_node.devices.service import METRIC, device_with_factory
from regional_node.factories.service import (
    check_at_factory,
    factory_for,
    factory_resource,
    get_factory,
)
from regional_node.runtime import NodeRuntime
from yunfab.db import after_commit, utcnow
from yunfab.errors import Conflict, InvalidInput
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.subject import Subject

SEVERITY_ORDER = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}
MAX_HOLD_S = 86_400
MAX_ESCALATE_AFTER_S = 7 * 86_400
MAX_RULE_CONTACT_POINTS = 10
HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


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
    for_s: int = 0
    clear_above: float | None = None
    clear_below: float | None = None
    clear_for_s: int = 0
    escalate_above: float | None = None
    escalate_below: float | None = None
    escalate_after_s: int | None = None
    escalate_to: Severity | None = None
    contact_point_ids: list[uuid.UUID] = field(default_factory=list)


def _check_timing(input: NewRule) -> None:
    """`for`, hysteresis and escalation: each level on the right side of its threshold."""
    for name, value in (("forS", input.for_s), ("clearForS", input.clear_for_s)):
        if not 0 <= value <= MAX_HOLD_S:
            raise InvalidInput(f"{name}: 0 to {MAX_HOLD_S} seconds")
    threshold = input.kind is RuleKind.THRESHOLD
    if input.clear_above is not None:
        if not threshold or input.above is None or input.clear_above > input.above:
            raise InvalidInput("clearAbove: with `above`, at or below it (a threshold rule)")
    if input.clear_below is not None:
        if not threshold or input.below is None or input.clear_below < input.below:
            raise InvalidInput("clearBelow: with `below`, at or above it (a threshold rule)")
    if input.escalate_above is not None:
        if not threshold or input.above is None or input.escalate_above <= input.above:
            raise InvalidInput("escalateAbove: with `above`, higher than it (a threshold rule)")
    if input.escalate_below is not None:
        if not threshold or input.below is None or input.escalate_below >= input.below:
            raise InvalidInput("escalateBelow: with `below`, lower than it (a threshold rule)")
    if (
        input.escalate_after_s is not None
        and not 1 <= input.escalate_after_s <= MAX_ESCALATE_AFTER_S
    ):
        raise InvalidInput(f"escalateAfterS: 1 to {MAX_ESCALATE_AFTER_S} seconds")
    escalates = (input.escalate_above, input.escalate_below, input.escalate_after_s) != (None,) * 3
    if input.escalate_to is not None and not escalates:
        raise InvalidInput("escalateTo: give escalateAbove, escalateBelow or escalateAfterS")
    if escalates:
        target = input.escalate_to or Severity.CRITICAL
        if SEVERITY_ORDER[target] <= SEVERITY_ORDER[input.severity]:
            raise InvalidInput("escalateTo: a severity above the rule's")


async def _check_contact_points(
    session: AsyncSession,
    subject: Subject,
    runtime: NodeRuntime,
    ids: Sequence[uuid.UUID],
    factory_id: uuid.UUID | None,
) -> None:
    """A rule sends to contact points of its own factory or the node's; one the caller may
    not see is CONTACT_POINT_NOT_FOUND, as for an id not on the node."""
    if len(set(ids)) > MAX_RULE_CONTACT_POINTS:
        raise InvalidInput(f"contactPointIds: at most {MAX_RULE_CONTACT_POINTS}")
    for point_id in set(ids):
        point = await AlertRepository(session).contact_point(point_id)
        missing = ContactPointNotFound(f"no contact point {point_id} on this node")
        if point is None:
            raise missing
        if point.factory_id is None:
            if not await runtime.authorizer.allows(subject, "node.contact_point.read"):
                raise missing
            continue
        factory = await get_factory(session, point.factory_id)
        await check_at_factory(runtime, subject, "node.contact_point.read", factory, missing)
        if point.factory_id != factory_id:
            raise InvalidInput(
                f"contactPointIds: {point_id} belongs to another factory than the rule"
            )


async def _check_rule(
    session: AsyncSession, subject: Subject, runtime: NodeRuntime, input: NewRule
) -> uuid.UUID | None:
    """May the subject have this rule, and would it ever fire; its factory (None: node-wide)."""
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
    _check_timing(input)
    await _check_declared(session, input, factory_id)
    await _check_contact_points(session, subject, runtime, input.contact_point_ids, factory_id)
    return factory_id


def _apply(rule: AlertRule, input: NewRule, factory_id: uuid.UUID | None) -> None:
    escalates = (input.escalate_above, input.escalate_below, input.escalate_after_s) != (None,) * 3
    rule.name = input.name.strip()
    rule.kind = input.kind
    rule.severity = input.severity
    rule.metric = input.metric
    rule.device_id = input.device_id
    rule.device_type = input.device_type
    rule.factory_id = factory_id
    rule.above = input.above if input.kind is RuleKind.THRESHOLD else None
    rule.below = input.below if input.kind is RuleKind.THRESHOLD else None
    rule.rate_per_min = input.rate_per_min if input.kind is RuleKind.RATE_OF_CHANGE else None
    rule.stale_after_s = input.stale_after_s if input.kind is RuleKind.STALE else None
    rule.for_s = input.for_s
    rule.clear_above = input.clear_above
    rule.clear_below = input.clear_below
    rule.clear_for_s = input.clear_for_s
    rule.escalate_above = input.escalate_above
    rule.escalate_below = input.escalate_below
    rule.escalate_after_s = input.escalate_after_s
    rule.escalate_to = (input.escalate_to or Severity.CRITICAL) if escalates else None


async def _send_to(session: AsyncSession, rule: AlertRule, input: NewRule) -> None:
    if input.contact_point_ids:
        await AlertRepository(session).link_contact_points(rule.id, set(input.contact_point_ids))


async def create_rule(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, input: NewRule
) -> AlertRule:
    factory_id = await _check_rule(session, subject, runtime, input)
    rule = AlertRule()
    _apply(rule, input, factory_id)
    session.add(rule)
    await session.flush()
    await _send_to(session, rule, input)
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


async def update_rule(
    session: AsyncSession,
    subject: Subject,
    *,
    runtime: NodeRuntime,
    rule_id: uuid.UUID,
    input: NewRule,
) -> AlertRule:
    """Replace a rule with what `input` says, checked as a new rule is (the caller must manage
    both the rule as it is and as it becomes). Its alerts stay; they close by the new levels."""
    rule = await _managed_rule(session, subject, runtime, rule_id)
    factory_id = await _check_rule(session, subject, runtime, input)
    _apply(rule, input, factory_id)
    await AlertRepository(session).unlink_contact_points(rule.id)
    await _send_to(session, rule, input)
    await session.flush()
    await append_entry(
        session,
        actor=subject,
        action="node.alert.rule.update",
        resource=f"alert-rule:{rule.id}",
        outcome="ok",
        detail={"name": rule.name, "kind": rule.kind.value, "metric": rule.metric},
    )
    after_commit(session, runtime.alerts.rules_changed)
    return rule


async def rule_silences(session: AsyncSession, rule: AlertRule) -> list[AlertSilence]:
    """The rule's silences (a changed rule's answer lists them)."""
    return list(await AlertRepository(session).silences(rule.id))


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
    alert = await _visible_alert(session, subject, runtime, alert_id, "node.alert.respond")
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
        alert.acknowledge_note = note.strip()[:500] if note else None
    await session.flush()
    if close and await enqueue(session, alert, NotificationEvent.CLOSED, zone=runtime.alerts.zone):
        after_commit(session, runtime.alerts.outbox_changed)
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
    return await AlertRepository(session).alert_page(conditions, page)


async def _visible_alert(
    session: AsyncSession,
    subject: Subject,
    runtime: NodeRuntime,
    alert_id: uuid.UUID,
    action: str,
) -> Alert:
    """The alert, locked when it is to change; ALERT_NOT_FOUND for one the caller may not see."""
    missing = AlertNotFound(f"no alert {alert_id} on this node")
    alert = await AlertRepository(session).alert(alert_id, lock=action != "node.alert.read")
    if alert is None:
        raise missing
    factory = await get_factory(session, alert.factory_id)
    await check_at_factory(runtime, subject, action, factory, missing)
    return alert


async def get_alert(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, alert_id: uuid.UUID
) -> Alert:
    return await _visible_alert(session, subject, runtime, alert_id, "node.alert.read")


async def changed_alert(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, alert_id: uuid.UUID
) -> Alert | None:
    """The alert an event is about, if the subject may read it now (decided afresh, not from
    an earlier decision); None otherwise, so a node-wide feed passes over it in silence."""
    alert = await AlertRepository(session).alert(alert_id)
    if alert is None:
        return None
    factory = await get_factory(session, alert.factory_id)
    allowed = await runtime.authorizer.allows(subject, "node.alert.read", factory_resource(factory))
    return alert if allowed else None


async def readable_factory_ids(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, action: str
) -> list[uuid.UUID]:
    """The factories whose alerts (or contact points) the caller may read, decided in one policy
    call: all of them for the node operator, their own for factory people."""
    factories = await AlertRepository(session).factories()
    allowed = await runtime.authorizer.filter(subject, action, factories, factory_resource)
    return [factory.id for factory in allowed]


@dataclass(frozen=True)
class AlertFilter:
    status: list[AlertStatus] = field(default_factory=list)
    severity: list[Severity] = field(default_factory=list)
    factory_id: uuid.UUID | None = None
    device_id: uuid.UUID | None = None
    rule_id: uuid.UUID | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


async def search_alerts(
    session: AsyncSession,
    subject: Subject,
    *,
    runtime: NodeRuntime,
    filter: AlertFilter,
    page: PageRequest,
) -> Page[Alert]:
    """The node's alerts the caller may see, newest first (by when they opened)."""
    await runtime.authorizer.check(subject, "node.alert.list")
    visible = await readable_factory_ids(
        session, subject, runtime=runtime, action="node.alert.read"
    )
    conditions: list[ColumnElement[bool]] = [Alert.factory_id.in_(visible)]
    if filter.status:
        conditions.append(Alert.status.in_(filter.status))
    if filter.severity:
        conditions.append(Alert.severity.in_(filter.severity))
    for column, value in (
        (Alert.factory_id, filter.factory_id),
        (Alert.device_id, filter.device_id),
        (Alert.rule_id, filter.rule_id),
    ):
        if value is not None:
            conditions.append(column == value)
    if filter.since is not None:
        conditions.append(Alert.opened_at >= filter.since)
    if filter.until is not None:
        conditions.append(Alert.opened_at < filter.until)
    return await AlertRepository(session).alert_page(conditions, page)


@dataclass(frozen=True)
class NewSilence:
    rule_id: uuid.UUID
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    daily_from: str | None = None
    daily_to: str | None = None
    comment: str | None = None


MAX_SILENCES_PER_RULE = 50


async def _managed_rule(
    session: AsyncSession, subject: Subject, runtime: NodeRuntime, rule_id: uuid.UUID
) -> AlertRule:
    """A rule the caller may manage; ALERT_RULE_NOT_FOUND for one they may not see."""
    rule = await AlertRepository(session).rule(rule_id)
    missing = AlertRuleNotFound(f"no alert rule {rule_id} on this node")
    if rule is None:
        raise missing
    if rule.factory_id is None:
        if not await runtime.authorizer.allows(subject, "node.alert.manage"):
            raise missing
        return rule
    factory = await get_factory(session, rule.factory_id)
    await check_at_factory(runtime, subject, "node.alert.manage", factory, missing)
    return rule


async def add_silence(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, input: NewSilence
) -> AlertSilence:
    rule = await _managed_rule(session, subject, runtime, input.rule_id)
    daily = (input.daily_from, input.daily_to)
    if (daily[0] is None) != (daily[1] is None):
        raise InvalidInput("dailyFrom and dailyTo: give both, or neither")
    for name, value in (("dailyFrom", daily[0]), ("dailyTo", daily[1])):
        if value is not None and not HHMM.match(value):
            raise InvalidInput(f"{name}: a time of day as HH:MM (00:00 to 23:59)")
    if daily[0] is not None and daily[0] == daily[1]:
        raise InvalidInput("dailyTo: a different time than dailyFrom")
    for name, when in (("startsAt", input.starts_at), ("endsAt", input.ends_at)):
        if when is not None and when.tzinfo is None:
            raise InvalidInput(f"{name}: a time with its offset (e.g. 2026-12-06T08:00:00+08:00)")
    if daily[0] is None and input.ends_at is None:
        raise InvalidInput("give endsAt (a one-off silence) or dailyFrom/dailyTo (a daily one)")
    if input.starts_at and input.ends_at and input.ends_at <= input.starts_at:
        raise InvalidInput("endsAt: after startsAt")
    if await AlertRepository(session).silence_count(rule.id) >= MAX_SILENCES_PER_RULE:
        raise InvalidInput(f"a rule has at most {MAX_SILENCES_PER_RULE} silences")
    silence = AlertSilence(
        rule_id=rule.id,
        starts_at=input.starts_at,
        ends_at=input.ends_at,
        daily_from=daily[0],
        daily_to=daily[1],
        comment=(input.comment or "").strip()[:500] or None,
        created_by=subject.label,
    )
    session.add(silence)
    await session.flush()
    await append_entry(
        session,
        actor=subject,
        action="node.alert.silence.add",
        resource=f"alert-rule:{rule.id}",
        outcome="ok",
        detail={"silence": str(silence.id)},
    )
    return silence


async def remove_silence(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, silence_id: uuid.UUID
) -> None:
    alerts = AlertRepository(session)
    silence = await alerts.silence(silence_id)
    if silence is None:
        raise SilenceNotFound(f"no alert silence {silence_id} on this node")
    try:
        await _managed_rule(session, subject, runtime, silence.rule_id)
    except AlertRuleNotFound as exc:
        raise SilenceNotFound(f"no alert silence {silence_id} on this node") from exc
    await alerts.delete_silence(silence)
    await append_entry(
        session,
        actor=subject,
        action="node.alert.silence.remove",
        resource=f"alert-rule:{silence.rule_id}",
        outcome="ok",
        detail={"silence": str(silence_id)},
    )


@dataclass(frozen=True)
class RulePage:
    page: Page[AlertRule]
    silences: dict[uuid.UUID, list[AlertSilence]]
    contact_points: dict[uuid.UUID, list[uuid.UUID]]


async def list_rules(
    session: AsyncSession,
    subject: Subject,
    *,
    runtime: NodeRuntime,
    factory_id: uuid.UUID | None,
    page: PageRequest,
) -> RulePage:
    """A factory's rules, or (no factory) the node-wide type rules; newest first, each with its
    silences and contact points (two queries for the page)."""
    if factory_id is None:
        await runtime.authorizer.check(subject, "node.alert.manage")
        condition: ColumnElement[bool] = AlertRule.factory_id.is_(None)
    else:
        await factory_for(
            session, subject, runtime=runtime, factory_id=factory_id, action="node.alert.read"
        )
        condition = AlertRule.factory_id == factory_id
    alerts = AlertRepository(session)
    result = await alerts.rule_page(condition, page)
    ids = [rule.id for rule in result.rows]
    silences: dict[uuid.UUID, list[AlertSilence]] = {rule_id: [] for rule_id in ids}
    points: dict[uuid.UUID, list[uuid.UUID]] = {rule_id: [] for rule_id in ids}
    if ids:
        for silence in await alerts.silences_of(ids):
            silences[silence.rule_id].append(silence)
        for rule_id, point_id in await alerts.contact_point_links(ids):
            points[rule_id].append(point_id)
    return RulePage(result, silences, points)
