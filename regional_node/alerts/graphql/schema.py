from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from regional_node.alerts import service
from regional_node.alerts.graphql.types import (
    AlertRuleType,
    AlertType,
    RuleKindEnum,
    SeverityEnum,
)
from regional_node.alerts.models import Alert, Severity
from regional_node.graphql.context import NodeContext
from yunfab.db import session_scope


@strawberry.input
class AlertRuleInput:
    name: str
    kind: RuleKindEnum  # type: ignore[valid-type]
    metric: str
    severity: SeverityEnum = Severity.WARNING  # type: ignore[valid-type]
    device_id: uuid.UUID | None = strawberry.field(default=None, description="One device, or:")
    device_type: str | None = strawberry.field(default=None, description="every device of a type")
    factory_id: uuid.UUID | None = strawberry.field(
        default=None, description="(with deviceType) only in this factory"
    )
    above: float | None = None
    below: float | None = None
    rate_per_min: float | None = None
    stale_after_s: int | None = None


@strawberry.type
class AlertMutation:
    @strawberry.mutation(description="A threshold, rate-of-change or stale-data rule.")
    async def create_alert_rule(
        self, info: Info[NodeContext, None], input: AlertRuleInput
    ) -> AlertRuleType:
        context = info.context
        async with session_scope(context.sessionmaker) as session:
            rule = await service.create_rule(
                session,
                context.subject,
                runtime=context.runtime,
                input=service.NewRule(
                    name=input.name,
                    kind=input.kind,
                    metric=input.metric,
                    severity=input.severity,
                    device_id=input.device_id,
                    device_type=input.device_type,
                    factory_id=input.factory_id,
                    above=input.above,
                    below=input.below,
                    rate_per_min=input.rate_per_min,
                    stale_after_s=input.stale_after_s,
                ),
            )
        return AlertRuleType.from_model(rule)

    @strawberry.mutation(description="Someone is on it.")
    async def acknowledge_alert(self, info: Info[NodeContext, None], id: uuid.UUID) -> AlertType:
        return await _respond(info, id, close=False, note=None)

    @strawberry.mutation(description="Handled: close the alert.")
    async def close_alert(
        self, info: Info[NodeContext, None], id: uuid.UUID, note: str | None = None
    ) -> AlertType:
        return await _respond(info, id, close=True, note=note)


async def _respond(
    info: Info[NodeContext, None], alert_id: uuid.UUID, *, close: bool, note: str | None
) -> AlertType:
    context = info.context
    async with session_scope(context.sessionmaker) as session:
        alert = await service.respond(
            session,
            context.subject,
            runtime=context.runtime,
            alert_id=alert_id,
            close=close,
            note=note,
        )
    return AlertType.from_model(alert)


@strawberry.type
class AlertSubscription:
    @strawberry.subscription(
        description="A factory's alerts as they open, are acknowledged, close."
    )
    async def factory_alerts(
        self, info: Info[NodeContext, None], factory_id: uuid.UUID
    ) -> AsyncGenerator[AlertType, None]:
        context = info.context
        async with context.sessionmaker() as session:
            await service.check_alert_reader(
                session, context.subject, runtime=context.runtime, factory_id=factory_id
            )
        async for event in context.runtime.alert_events.subscribe():
            if event.factory_id != factory_id:
                continue
            context.ensure_current()
            async with context.sessionmaker() as session:
                alert = await session.get(Alert, event.alert_id)
            if alert is not None:
                yield AlertType.from_model(alert)
