from __future__ import annotations

import datetime as dt
import uuid

import strawberry

from regional_node.alerts.models import Alert, AlertRule, AlertStatus, RuleKind, Severity

AlertStatusEnum = strawberry.enum(AlertStatus, name="AlertStatus")
RuleKindEnum = strawberry.enum(RuleKind, name="AlertRuleKind")
SeverityEnum = strawberry.enum(Severity, name="AlertSeverity")


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

    @classmethod
    def from_model(cls, rule: AlertRule) -> AlertRuleType:
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
        )
