from __future__ import annotations

import datetime as dt
import uuid

import strawberry

from regional_node.alerts.channels import Outcome
from regional_node.alerts.models import (
    Alert,
    AlertNotification,
    AlertRule,
    AlertSilence,
    AlertStatus,
    ContactKind,
    ContactPoint,
    DeliveryAttempt,
    NotificationEvent,
    NotificationStatus,
    RuleKind,
    Severity,
)

AlertStatusEnum = strawberry.enum(AlertStatus, name="AlertStatus")
RuleKindEnum = strawberry.enum(RuleKind, name="AlertRuleKind")
SeverityEnum = strawberry.enum(Severity, name="AlertSeverity")
ContactKindEnum = strawberry.enum(
    ContactKind,
    name="ContactPointKind",
    description="WEBHOOK (generic, signed JSON), WECOM (企业微信), DINGTALK (钉钉), FEISHU (飞书), "
    "EMAIL.",
)
NotificationEventEnum = strawberry.enum(NotificationEvent, name="AlertNotificationEvent")
NotificationStatusEnum = strawberry.enum(NotificationStatus, name="AlertNotificationStatus")


@strawberry.type(name="Alert")
class AlertType:
    id: uuid.UUID
    rule_id: uuid.UUID
    device_id: uuid.UUID
    factory_id: uuid.UUID
    metric: str
    severity: SeverityEnum  # type: ignore[valid-type]
    status: AlertStatusEnum  # type: ignore[valid-type]
    message: str
    value: float | None
    opened_at: dt.datetime
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None
    closed_at: dt.datetime | None
    closed_by: str | None
    close_reason: str | None
    acknowledge_note: str | None = None
    escalated_at: dt.datetime | None = None

    @classmethod
    def from_model(cls, alert: Alert) -> AlertType:
        return cls(
            id=alert.id,
            rule_id=alert.rule_id,
            device_id=alert.device_id,
            factory_id=alert.factory_id,
            metric=alert.metric,
            severity=alert.severity,
            status=alert.status,
            message=alert.message,
            value=alert.value,
            opened_at=alert.opened_at,
            acknowledged_at=alert.acknowledged_at,
            acknowledged_by=alert.acknowledged_by,
            closed_at=alert.closed_at,
            closed_by=alert.closed_by,
            close_reason=alert.close_reason,
            acknowledge_note=alert.acknowledge_note,
            escalated_at=alert.escalated_at,
        )


@strawberry.type(name="AlertRule")
class AlertRuleType:
    id: uuid.UUID
    name: str
    kind: RuleKindEnum  # type: ignore[valid-type]
    severity: SeverityEnum  # type: ignore[valid-type]
    metric: str
    device_id: uuid.UUID | None
    device_type: str | None
    factory_id: uuid.UUID | None
    above: float | None
    below: float | None
    rate_per_min: float | None
    stale_after_s: int | None
    for_s: int
    clear_above: float | None
    clear_below: float | None
    clear_for_s: int
    escalate_above: float | None
    escalate_below: float | None
    escalate_after_s: int | None
    escalate_to: SeverityEnum | None  # type: ignore[valid-type]
    contact_point_ids: list[uuid.UUID] = strawberry.field(
        description="Where its notifications go; empty: the factory's default contact points."
    )
    silences: list[AlertSilenceType]

    @classmethod
    def from_model(
        cls,
        rule: AlertRule,
        silences: list[AlertSilence] | None = None,
        contact_point_ids: list[uuid.UUID] | None = None,
    ) -> AlertRuleType:
        return cls(
            id=rule.id,
            name=rule.name,
            kind=rule.kind,
            severity=rule.severity,
            metric=rule.metric,
            device_id=rule.device_id,
            device_type=rule.device_type,
            factory_id=rule.factory_id,
            above=rule.above,
            below=rule.below,
            rate_per_min=rule.rate_per_min,
            stale_after_s=rule.stale_after_s,
            for_s=rule.for_s,
            clear_above=rule.clear_above,
            clear_below=rule.clear_below,
            clear_for_s=rule.clear_for_s,
            escalate_above=rule.escalate_above,
            escalate_below=rule.escalate_below,
            escalate_after_s=rule.escalate_after_s,
            escalate_to=rule.escalate_to,
            contact_point_ids=list(contact_point_ids or []),
            silences=[AlertSilenceType.from_model(silence) for silence in silences or []],
        )


@strawberry.type(name="AlertSilence")
class AlertSilenceType:
    id: uuid.UUID
    rule_id: uuid.UUID
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    daily_from: str | None
    daily_to: str | None
    comment: str | None
    created_by: str
    created_at: dt.datetime

    @classmethod
    def from_model(cls, silence: AlertSilence) -> AlertSilenceType:
        return cls(
            id=silence.id,
            rule_id=silence.rule_id,
            starts_at=silence.starts_at,
            ends_at=silence.ends_at,
            daily_from=silence.daily_from,
            daily_to=silence.daily_to,
            comment=silence.comment,
            created_by=silence.created_by,
            created_at=silence.created_at,
        )


@strawberry.type(name="ContactPoint")
class ContactPointType:
    id: uuid.UUID
    factory_id: uuid.UUID | None = strawberry.field(description="Null: a node-wide contact point.")
    name: str
    kind: ContactKindEnum  # type: ignore[valid-type]
    target: str = strawberry.field(
        description="The URL's scheme and host, or the recipients; the URL itself (a robot's "
        "token) and the secret are never returned."
    )
    has_secret: bool
    is_default: bool
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_model(cls, point: ContactPoint) -> ContactPointType:
        return cls(
            id=point.id,
            factory_id=point.factory_id,
            name=point.name,
            kind=point.kind,
            target=point.target,
            has_secret=point.secret_sealed is not None,
            is_default=point.is_default,
            created_by=point.created_by,
            created_at=point.created_at,
            updated_at=point.updated_at,
        )


@strawberry.type
class ContactPointSaved:
    contact_point: ContactPointType
    secret: str | None = strawberry.field(
        description="A generic webhook's generated signing secret: shown this once."
    )


@strawberry.type(name="AlertDeliveryAttempt")
class DeliveryAttemptType:
    number: int
    at: dt.datetime
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: int

    @classmethod
    def from_model(cls, attempt: DeliveryAttempt) -> DeliveryAttemptType:
        return cls(
            number=attempt.number,
            at=attempt.at,
            ok=attempt.ok,
            status_code=attempt.status_code,
            error=attempt.error,
            duration_ms=attempt.duration_ms,
        )


@strawberry.type(name="AlertNotification")
class AlertNotificationType:
    id: uuid.UUID
    alert_id: uuid.UUID | None
    contact_point_id: uuid.UUID
    event: NotificationEventEnum  # type: ignore[valid-type]
    status: NotificationStatusEnum  # type: ignore[valid-type]
    attempts: int
    next_attempt_at: dt.datetime | None
    last_error: str | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    deliveries: list[DeliveryAttemptType]

    @classmethod
    def from_model(
        cls, row: AlertNotification, attempts: list[DeliveryAttempt]
    ) -> AlertNotificationType:
        return cls(
            id=row.id,
            alert_id=row.alert_id,
            contact_point_id=row.contact_point_id,
            event=row.event,
            status=row.status,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at
            if row.status is NotificationStatus.PENDING
            else None,
            last_error=row.last_error,
            created_at=row.created_at,
            delivered_at=row.delivered_at,
            deliveries=[DeliveryAttemptType.from_model(attempt) for attempt in attempts],
        )


@strawberry.type
class DeliveryOutcome:
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: int

    @classmethod
    def of(cls, outcome: Outcome) -> DeliveryOutcome:
        return cls(
            ok=outcome.ok,
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
        )
