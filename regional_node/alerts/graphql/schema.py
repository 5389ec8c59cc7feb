from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncGenerator

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from regional_node.alerts import contact_points, service
from regional_node.alerts.graphql.types import (
    AlertNotificationType,
    AlertRuleType,
    AlertSilenceType,
    AlertStatusEnum,
    AlertType,
    ContactKindEnum,
    ContactPointSaved,
    ContactPointType,
    DeliveryOutcome,
    NotificationStatusEnum,
    RuleKindEnum,
    SeverityEnum,
)
from regional_node.alerts.models import (
    Alert,
    AlertNotification,
    AlertRule,
    ContactPoint,
    Severity,
)
from regional_node.alerts.notifications import NotificationConfig
from regional_node.graphql.context import NodeContext
from yunfab.errors import InvalidInput
from yunfab.graphql.pagination import Connection, PageRequest
from yunfab.graphql.permissions import allowed
from yunfab.graphql.resolvers import (
    mutate,
    mutate_then,
    page_request,
    query,
    read,
    service_input,
)
from yunfab.graphql.subscriptions import gated_events

MAX_FILTER_VALUES = 10
MAX_CONTACT_POINT_IDS = 10


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
    for_s: int = strawberry.field(
        default=0, description="The condition must hold this long (device time) to open."
    )
    clear_above: float | None = strawberry.field(
        default=None, description="Hysteresis: an alert over `above` closes at or below this."
    )
    clear_below: float | None = strawberry.field(
        default=None, description="Hysteresis: an alert under `below` closes at or above this."
    )
    clear_for_s: int = strawberry.field(
        default=0, description="The clear condition must hold this long to close."
    )
    escalate_above: float | None = None
    escalate_below: float | None = None
    escalate_after_s: int | None = strawberry.field(
        default=None, description="Escalate an alert still open this long."
    )
    escalate_to: SeverityEnum | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Defaults to CRITICAL when an escalation is given."
    )
    contact_point_ids: list[uuid.UUID] | None = strawberry.field(
        default=None, description="Where notifications go; none: the factory's defaults."
    )


@strawberry.input
class AlertSilenceInput:
    rule_id: uuid.UUID
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    daily_from: str | None = strawberry.field(
        default=None, description="HH:MM in the node's time zone (alert_time_zone)."
    )
    daily_to: str | None = strawberry.field(
        default=None, description="HH:MM; before dailyFrom: the window runs over midnight."
    )
    comment: str | None = None


@strawberry.input
class AlertFilter:
    status: list[AlertStatusEnum] | None = None  # type: ignore[valid-type]
    severity: list[SeverityEnum] | None = None  # type: ignore[valid-type]
    factory_id: uuid.UUID | None = None
    device_id: uuid.UUID | None = None
    rule_id: uuid.UUID | None = None
    since: dt.datetime | None = strawberry.field(default=None, description="Opened at or after.")
    until: dt.datetime | None = strawberry.field(default=None, description="Opened before.")


@strawberry.input
class NewContactPointInput:
    kind: ContactKindEnum  # type: ignore[valid-type]
    name: str
    factory_id: uuid.UUID | None = strawberry.field(
        default=None, description="Null: a node-wide contact point (the node operator's)."
    )
    url: str | None = strawberry.field(default=None, description="The webhook or robot URL.")
    secret: str | None = strawberry.field(
        default=None,
        description="DingTalk's 加签 or Feishu's signature secret; a generic webhook's is "
        "generated and returned once.",
    )
    recipients: list[str] | None = strawberry.field(default=None, description="EMAIL: 1 to 20.")
    is_default: bool = strawberry.field(
        default=False, description="Used by the factory's rules that name no contact point."
    )


@strawberry.input
class ContactPointUpdateInput:
    name: str | None = None
    url: str | None = None
    secret: str | None = None
    recipients: list[str] | None = None
    is_default: bool | None = None
    rotate_secret: bool = strawberry.field(
        default=False, description="A generic webhook: generate a new secret (returned once)."
    )


def _config(info: Info[NodeContext, None]) -> NotificationConfig:
    return NotificationConfig.of(info.context.settings)


def _page(info: Info[NodeContext, None], first: int, after: str | None) -> PageRequest:
    return page_request(info.context, first, after, arity=2)


def _capped(name: str, values: list[uuid.UUID] | list[str] | None, cap: int) -> None:
    if values is not None and len(values) > cap:
        raise InvalidInput(f"{name}: at most {cap}")


@strawberry.type
class AlertQuery:
    @strawberry.field(
        description="The node's alerts you may see (the operator: all; factory people: their "
        "factories'), newest first."
    )
    async def alerts(
        self,
        info: Info[NodeContext, None],
        filter: AlertFilter | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[AlertType]:
        context = info.context
        given = filter or AlertFilter()
        _capped("filter.status", given.status, MAX_FILTER_VALUES)
        _capped("filter.severity", given.severity, MAX_FILTER_VALUES)
        page = await query(
            context,
            service.search_alerts,
            runtime=context.runtime,
            filter=service_input(
                service.AlertFilter,
                given,
                status=list(given.status or []),
                severity=list(given.severity or []),
            ),
            page=_page(info, first, after),
        )
        return Connection[AlertType].from_page(
            page, key=_alert_key, node=AlertType.from_model, after=after
        )

    @strawberry.field(
        description="A factory's alert rules, or (no factoryId) the node-wide ones; newest first."
    )
    async def alert_rules(
        self,
        info: Info[NodeContext, None],
        factory_id: uuid.UUID | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[AlertRuleType]:
        context = info.context
        found = await query(
            context,
            service.list_rules,
            runtime=context.runtime,
            factory_id=factory_id,
            page=_page(info, first, after),
        )

        def node(rule: AlertRule) -> AlertRuleType:
            return AlertRuleType.from_model(
                rule, found.silences.get(rule.id), found.contact_points.get(rule.id)
            )

        return Connection[AlertRuleType].from_page(
            found.page, key=_rule_key, node=node, after=after
        )

    @strawberry.field(description="One alert; ALERT_NOT_FOUND for one you may not see.")
    async def alert(self, info: Info[NodeContext, None], id: uuid.UUID) -> AlertType:
        context = info.context
        alert = await query(context, service.get_alert, runtime=context.runtime, alert_id=id)
        return AlertType.from_model(alert)

    @strawberry.field(
        description="A factory's contact points, or (no factoryId) the node-wide ones; newest "
        "first."
    )
    async def contact_points(
        self,
        info: Info[NodeContext, None],
        factory_id: uuid.UUID | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[ContactPointType]:
        context = info.context
        page = await query(
            context,
            contact_points.list_contact_points,
            runtime=context.runtime,
            factory_id=factory_id,
            page=_page(info, first, after),
        )
        return Connection[ContactPointType].from_page(
            page, key=_point_key, node=ContactPointType.from_model, after=after
        )

    @strawberry.field(
        description="Notifications of an alert or of a contact point (exactly one), newest "
        "first, with every delivery attempt."
    )
    async def alert_notifications(
        self,
        info: Info[NodeContext, None],
        alert_id: uuid.UUID | None = None,
        contact_point_id: uuid.UUID | None = None,
        status: NotificationStatusEnum | None = None,  # type: ignore[valid-type]
        first: int = 50,
        after: str | None = None,
    ) -> Connection[AlertNotificationType]:
        context = info.context
        found = await query(
            context,
            contact_points.list_notifications,
            runtime=context.runtime,
            alert_id=alert_id,
            contact_point_id=contact_point_id,
            status=status,
            page=_page(info, first, after),
        )

        def node(row: AlertNotification) -> AlertNotificationType:
            return AlertNotificationType.from_model(row, found.attempts.get(row.id, []))

        return Connection[AlertNotificationType].from_page(
            found.page, key=_notification_key, node=node, after=after
        )


def _alert_key(alert: Alert) -> tuple[str, str]:
    return alert.opened_at.isoformat(), str(alert.id)


def _rule_key(rule: AlertRule) -> tuple[str, str]:
    return rule.created_at.isoformat(), str(rule.id)


def _point_key(point: ContactPoint) -> tuple[str, str]:
    return point.created_at.isoformat(), str(point.id)


def _notification_key(row: AlertNotification) -> tuple[str, str]:
    return row.created_at.isoformat(), str(row.id)


def _new_rule(input: AlertRuleInput) -> service.NewRule:
    return service_input(
        service.NewRule, input, contact_point_ids=list(input.contact_point_ids or [])
    )


@strawberry.type
class AlertMutation:
    @strawberry.mutation(description="A threshold, rate-of-change or stale-data rule.")
    async def create_alert_rule(
        self, info: Info[NodeContext, None], input: AlertRuleInput
    ) -> AlertRuleType:
        context = info.context
        _capped("contactPointIds", input.contact_point_ids, MAX_CONTACT_POINT_IDS)
        rule = await mutate(
            context, service.create_rule, runtime=context.runtime, input=_new_rule(input)
        )
        return AlertRuleType.from_model(
            rule, [], list(dict.fromkeys(input.contact_point_ids or []))
        )

    @strawberry.mutation(
        description="Change a rule: the whole rule as `input` gives it, checked as a new rule is. "
        "Its alerts stay and close by the new levels; ALERT_RULE_NOT_FOUND for a rule you may "
        "not manage."
    )
    async def update_alert_rule(
        self, info: Info[NodeContext, None], id: uuid.UUID, input: AlertRuleInput
    ) -> AlertRuleType:
        context = info.context
        _capped("contactPointIds", input.contact_point_ids, MAX_CONTACT_POINT_IDS)
        rule, silences = await mutate_then(
            context, service.update_rule, service.rule_silences, runtime=context.runtime,
            rule_id=id, input=_new_rule(input),
        )  # fmt: skip
        return AlertRuleType.from_model(
            rule, silences, list(dict.fromkeys(input.contact_point_ids or []))
        )

    @strawberry.mutation(
        description="Silence a rule's notifications for a while or daily (alerts still open "
        "and close, and their notifications are recorded as SILENCED)."
    )
    async def add_alert_silence(
        self, info: Info[NodeContext, None], input: AlertSilenceInput
    ) -> AlertSilenceType:
        context = info.context
        silence = await mutate(
            context,
            service.add_silence,
            runtime=context.runtime,
            input=service_input(service.NewSilence, input),
        )
        return AlertSilenceType.from_model(silence)

    @strawberry.mutation(description="End a silence; its id.")
    async def remove_alert_silence(self, info: Info[NodeContext, None], id: uuid.UUID) -> uuid.UUID:
        context = info.context
        await mutate(context, service.remove_silence, runtime=context.runtime, silence_id=id)
        return id

    @strawberry.mutation(description="Someone is on it.")
    async def acknowledge_alert(
        self, info: Info[NodeContext, None], id: uuid.UUID, note: str | None = None
    ) -> AlertType:
        return await _respond(info, id, close=False, note=note)

    @strawberry.mutation(description="Handled: close the alert.")
    async def close_alert(
        self, info: Info[NodeContext, None], id: uuid.UUID, note: str | None = None
    ) -> AlertType:
        return await _respond(info, id, close=True, note=note)

    @strawberry.mutation(
        description="A contact point of a factory (factory people with devices:write, the "
        "operator) or of the node (the operator)."
    )
    async def create_contact_point(
        self, info: Info[NodeContext, None], input: NewContactPointInput
    ) -> ContactPointSaved:
        context = info.context
        _capped("recipients", input.recipients, 20)
        saved = await mutate(
            context,
            contact_points.create_contact_point,
            runtime=context.runtime,
            config=_config(info),
            input=service_input(
                contact_points.NewContactPoint, input, recipients=list(input.recipients or [])
            ),
        )
        return ContactPointSaved(
            contact_point=ContactPointType.from_model(saved.point), secret=saved.secret
        )

    @strawberry.mutation(description="Change a contact point; what is not given stays.")
    async def update_contact_point(
        self, info: Info[NodeContext, None], id: uuid.UUID, input: ContactPointUpdateInput
    ) -> ContactPointSaved:
        context = info.context
        _capped("recipients", input.recipients, 20)
        saved = await mutate(
            context,
            contact_points.update_contact_point,
            runtime=context.runtime,
            config=_config(info),
            point_id=id,
            input=service_input(contact_points.ContactPointInput, input),
        )
        return ContactPointSaved(
            contact_point=ContactPointType.from_model(saved.point), secret=saved.secret
        )

    @strawberry.mutation(description="Delete a contact point with its delivery log; its id.")
    async def delete_contact_point(self, info: Info[NodeContext, None], id: uuid.UUID) -> uuid.UUID:
        context = info.context
        await mutate(
            context, contact_points.delete_contact_point, runtime=context.runtime, point_id=id
        )
        return id

    @strawberry.mutation(
        description="Send a test message to the contact point now and say how it went (logged "
        "with its notifications)."
    )
    async def test_contact_point(
        self, info: Info[NodeContext, None], id: uuid.UUID
    ) -> DeliveryOutcome:
        context = info.context
        outcome = await contact_points.send_test(
            context.sessionmaker,
            context.subject,
            runtime=context.runtime,
            config=_config(info),
            point_id=id,
        )
        return DeliveryOutcome.of(outcome)


async def _respond(
    info: Info[NodeContext, None], alert_id: uuid.UUID, *, close: bool, note: str | None
) -> AlertType:
    context = info.context
    alert = await mutate(
        context, service.respond, runtime=context.runtime, alert_id=alert_id, close=close, note=note
    )
    return AlertType.from_model(alert)


@strawberry.type
class AlertSubscription:
    @strawberry.subscription(
        description="Every alert you may see as it opens, is acknowledged, escalates or "
        "closes: the operator's node-wide inbox (a factory's people: their factories'). "
        "Optionally one factory's, or some severities. Who may see each alert is decided "
        "again for every event.",
        permission_classes=[allowed("node.alert.list")],
    )
    async def alert_changes(
        self,
        info: Info[NodeContext, None],
        factory_id: uuid.UUID | None = None,
        severity: list[SeverityEnum] | None = None,  # type: ignore[valid-type]
    ) -> AsyncGenerator[AlertType, None]:
        context = info.context
        _capped("severity", severity, MAX_FILTER_VALUES)
        wanted = set(severity or [])

        async def may_read(session: AsyncSession) -> object:
            if factory_id is not None:
                await service.check_alert_reader(
                    session, context.subject, runtime=context.runtime, factory_id=factory_id
                )
            return None

        async for event in gated_events(
            context,
            context.runtime.alert_events.subscribe(),
            wanted=lambda event: factory_id is None or event.factory_id == factory_id,
            action="node.alert.list",
            check=may_read,
        ):
            alert = await read(
                context, service.changed_alert, context.subject, runtime=context.runtime,
                alert_id=event.alert_id,
            )  # fmt: skip
            if alert is not None and (not wanted or alert.severity in wanted):
                yield AlertType.from_model(alert)

    @strawberry.subscription(
        description="A factory's alerts as they open, are acknowledged, close."
    )
    async def factory_alerts(
        self, info: Info[NodeContext, None], factory_id: uuid.UUID
    ) -> AsyncGenerator[AlertType, None]:
        context = info.context

        async def may_read(session: AsyncSession) -> object:
            await service.check_alert_reader(
                session, context.subject, runtime=context.runtime, factory_id=factory_id
            )
            return None

        async for event in gated_events(
            context,
            context.runtime.alert_events.subscribe(),
            wanted=lambda event: event.factory_id == factory_id,
            check=may_read,
        ):
            alert = await read(context, AsyncSession.get, Alert, event.alert_id)
            if alert is not None:
                yield AlertType.from_model(alert)
