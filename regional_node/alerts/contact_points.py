"""Contact points: where a factory's (or the node's) alert notifications go.

Factory people with devices:write manage their factory's; the node operator manages every
factory's and the node-wide ones. The URL and signing secret are sealed at rest and never
returned: a generic webhook's secret is generated here and shown once, in the answer to its
creation (or to a rotation). One the caller may not see answers CONTACT_POINT_NOT_FOUND, as for
an id not on the node.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field

import httpx
from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from regional_node.alerts.channels import Outcome, check_recipients, check_url, send
from regional_node.alerts.delivery import destination
from regional_node.alerts.errors import ContactPointNotFound
from regional_node.alerts.models import (
    AlertNotification,
    ContactKind,
    ContactPoint,
    DeliveryAttempt,
    NotificationEvent,
    NotificationStatus,
)
from regional_node.alerts.notifications import NotificationConfig
from regional_node.alerts.repository import AlertRepository
from regional_node.alerts.service import get_alert
from regional_node.audit.service import append_entry
from regional_node.factories.service import factory_for, factory_resource, get_factory
from regional_node.runtime import NodeRuntime
from yunfab.db import session_scope, utcnow
from yunfab.errors import InvalidInput
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.subject import Subject

MAX_SECRET = 200
MAX_CONTACT_POINTS_PER_FACTORY = 50


@dataclass(frozen=True)
class ContactPointInput:
    name: str | None = None
    url: str | None = None
    secret: str | None = None
    """DingTalk's or Feishu's signing secret, as the messenger shows it."""
    recipients: list[str] | None = None
    is_default: bool | None = None
    rotate_secret: bool = False
    """A generic webhook: a new generated secret (shown once)."""


@dataclass(frozen=True)
class NewContactPoint:
    kind: ContactKind
    name: str
    factory_id: uuid.UUID | None
    url: str | None = None
    secret: str | None = None
    recipients: list[str] = field(default_factory=list)
    is_default: bool = False


@dataclass(frozen=True)
class Saved:
    point: ContactPoint
    secret: str | None
    """The generated webhook secret, this once."""


async def _authorized(
    session: AsyncSession,
    subject: Subject,
    runtime: NodeRuntime,
    factory_id: uuid.UUID | None,
    action: str,
) -> None:
    if factory_id is None:
        await runtime.authorizer.check(subject, action)
    else:
        await factory_for(session, subject, runtime=runtime, factory_id=factory_id, action=action)


async def visible_point(
    session: AsyncSession,
    subject: Subject,
    runtime: NodeRuntime,
    point_id: uuid.UUID,
    action: str,
) -> ContactPoint:
    missing = ContactPointNotFound(f"no contact point {point_id} on this node")
    point = await AlertRepository(session).contact_point(point_id)
    if point is None:
        raise missing
    if point.factory_id is None:
        if not await runtime.authorizer.allows(subject, action):
            raise missing
        return point
    factory = await get_factory(session, point.factory_id)
    await runtime.authorizer.check_found(
        subject, action, factory_resource(factory), read="node.contact_point.read", missing=missing
    )
    return point


def _target(kind: ContactKind, url: httpx.URL | None, recipients: list[str]) -> str:
    """What the API shows of the destination: never the path or query (a robot's token)."""
    if kind is ContactKind.EMAIL:
        return ", ".join(recipients)[:300]
    assert url is not None
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.host}{port}"[:300]


async def _apply(
    point: ContactPoint,
    config: NotificationConfig,
    *,
    url: str | None,
    secret: str | None,
    recipients: list[str] | None,
) -> None:
    """Check and seal what changes; the URL is checked (and its host resolved) here as well as
    before each send."""
    sealer = config.sealer()
    if point.kind is ContactKind.EMAIL and url is not None:
        raise InvalidInput("url: an email contact point has recipients, not a URL")
    if point.kind is not ContactKind.EMAIL and recipients is not None:
        raise InvalidInput(f"recipients: a {point.kind.value} contact point posts to its URL")
    if point.kind is ContactKind.EMAIL:
        if recipients is not None:
            if config.channel.smtp is None:
                raise InvalidInput("kind: email needs the node's SMTP server (alert_smtp_host)")
            point.recipients = check_recipients(recipients)
            point.target = _target(point.kind, None, point.recipients)
        return
    if url is not None:
        parsed = await check_url(url.strip(), point.kind, development=config.channel.development)
        point.url_sealed = sealer.seal(str(parsed), purpose=f"{point.id}:url")
        point.target = _target(point.kind, parsed, [])
    if secret is not None:
        if point.kind not in (ContactKind.DINGTALK, ContactKind.FEISHU, ContactKind.WEBHOOK):
            raise InvalidInput(f"secret: a {point.kind.value} robot is not signed")
        if not 8 <= len(secret) <= MAX_SECRET:
            raise InvalidInput(f"secret: 8 to {MAX_SECRET} characters")
        point.secret_sealed = sealer.seal(secret, purpose=f"{point.id}:secret")


def _name(name: str) -> str:
    if not 1 <= len(name.strip()) <= 200:
        raise InvalidInput("name: 1 to 200 characters")
    return name.strip()


async def create_contact_point(
    session: AsyncSession,
    subject: Subject,
    *,
    runtime: NodeRuntime,
    config: NotificationConfig,
    input: NewContactPoint,
) -> Saved:
    await _authorized(session, subject, runtime, input.factory_id, "node.contact_point.manage")
    count = await AlertRepository(session).contact_point_count(input.factory_id)
    if count >= MAX_CONTACT_POINTS_PER_FACTORY:
        raise InvalidInput(f"at most {MAX_CONTACT_POINTS_PER_FACTORY} contact points each")
    if input.kind is ContactKind.EMAIL and input.url is not None:
        raise InvalidInput("url: an email contact point has recipients, not a URL")
    if input.kind is not ContactKind.EMAIL and not input.url:
        raise InvalidInput(f"url: a {input.kind.value} contact point needs its webhook URL")
    point = ContactPoint(
        id=uuid.uuid4(),
        factory_id=input.factory_id,
        name=_name(input.name),
        kind=input.kind,
        target="",
        recipients=[],
        is_default=input.is_default,
        created_by=subject.label,
    )
    generated = None
    secret = input.secret
    if input.kind is ContactKind.WEBHOOK and secret is None:
        generated = secret = secrets.token_urlsafe(32)
    await _apply(
        point,
        config,
        url=input.url,
        secret=secret,
        recipients=input.recipients
        if input.kind is ContactKind.EMAIL or input.recipients
        else None,
    )
    session.add(point)
    await session.flush()
    await _audit(session, subject, "create", point)
    return Saved(point, generated)


async def _audit(session: AsyncSession, subject: Subject, change: str, point: ContactPoint) -> None:
    await append_entry(
        session,
        actor=subject,
        action=f"node.alert.contact_point.{change}",
        resource=f"contact-point:{point.id}",
        outcome="ok",
        detail={"kind": point.kind.value, "factory": str(point.factory_id), "name": point.name},
    )


async def update_contact_point(
    session: AsyncSession,
    subject: Subject,
    *,
    runtime: NodeRuntime,
    config: NotificationConfig,
    point_id: uuid.UUID,
    input: ContactPointInput,
) -> Saved:
    point = await visible_point(session, subject, runtime, point_id, "node.contact_point.manage")
    if input.name is not None:
        point.name = _name(input.name)
    if input.is_default is not None:
        point.is_default = input.is_default
    generated = None
    secret = input.secret
    if input.rotate_secret:
        if point.kind is not ContactKind.WEBHOOK or secret is not None:
            raise InvalidInput("rotateSecret: for a generic webhook, without a secret")
        generated = secret = secrets.token_urlsafe(32)
    await _apply(point, config, url=input.url, secret=secret, recipients=input.recipients)
    point.updated_at = utcnow()
    await session.flush()
    await _audit(session, subject, "update", point)
    return Saved(point, generated)


async def delete_contact_point(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, point_id: uuid.UUID
) -> None:
    """Its pending notifications and delivery log go with it; rules that named only it fall
    back to their factory's defaults."""
    point = await visible_point(session, subject, runtime, point_id, "node.contact_point.manage")
    await _audit(session, subject, "delete", point)
    await AlertRepository(session).delete_contact_point(point)
    await session.flush()


async def list_contact_points(
    session: AsyncSession,
    subject: Subject,
    *,
    runtime: NodeRuntime,
    factory_id: uuid.UUID | None,
    page: PageRequest,
) -> Page[ContactPoint]:
    """A factory's contact points (`factory_id`), or the node-wide ones; newest first."""
    await _authorized(session, subject, runtime, factory_id, "node.contact_point.read")
    return await AlertRepository(session).contact_point_page(factory_id, page)


async def send_test(
    sessionmaker: async_sessionmaker[AsyncSession],
    subject: Subject,
    *,
    runtime: NodeRuntime,
    config: NotificationConfig,
    point_id: uuid.UUID,
) -> Outcome:
    """Send a test message now (no retries) and log it like any notification; the database
    transaction is not held while the receiver answers."""
    now = utcnow()
    async with session_scope(sessionmaker) as session:
        point = await visible_point(
            session, subject, runtime, point_id, "node.contact_point.manage"
        )
        target = destination(point, config)
        facts = {
            "event": NotificationEvent.TEST.value,
            "rule": point.name,
            "severity": "info",
            "message": "测试消息，无需处理 A test of this contact point; no action needed.",
            "at": now.isoformat(),
        }
        notification = AlertNotification(
            contact_point_id=point.id,
            event=NotificationEvent.TEST,
            status=NotificationStatus.PENDING,
            body=facts,
            next_attempt_at=now,
            created_at=now,
        )
        session.add(notification)
        await _audit(session, subject, "test", point)
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as http:
        outcome = await send(target, {**facts, "notification_id": str(notification.id)},
                             config.channel, http)  # fmt: skip
    async with session_scope(sessionmaker) as session:
        row = await AlertRepository(session).notification(notification.id)
        if row is not None:
            session.add(
                DeliveryAttempt(
                    notification_id=row.id, number=1, at=utcnow(), ok=outcome.ok,
                    status_code=outcome.status_code, error=outcome.error,
                    duration_ms=outcome.duration_ms,
                )
            )  # fmt: skip
            row.attempts = 1
            row.status = NotificationStatus.DELIVERED if outcome.ok else NotificationStatus.FAILED
            row.delivered_at = utcnow() if outcome.ok else None
            row.last_error = outcome.error
    return outcome


@dataclass(frozen=True)
class NotificationPage:
    page: Page[AlertNotification]
    attempts: dict[uuid.UUID, list[DeliveryAttempt]]


async def list_notifications(
    session: AsyncSession,
    subject: Subject,
    *,
    runtime: NodeRuntime,
    alert_id: uuid.UUID | None,
    contact_point_id: uuid.UUID | None,
    status: NotificationStatus | None,
    page: PageRequest,
) -> NotificationPage:
    """An alert's notifications (readable by whoever may read the alert) or a contact point's
    (by whoever may read the contact point), newest first, each with its attempts."""
    if (alert_id is None) == (contact_point_id is None):
        raise InvalidInput("give alertId or contactPointId")
    conditions: list[ColumnElement[bool]] = []
    if alert_id is not None:
        await get_alert(session, subject, runtime=runtime, alert_id=alert_id)
        conditions.append(AlertNotification.alert_id == alert_id)
    else:
        assert contact_point_id is not None
        await visible_point(session, subject, runtime, contact_point_id, "node.contact_point.read")
        conditions.append(AlertNotification.contact_point_id == contact_point_id)
    if status is not None:
        conditions.append(AlertNotification.status == status)
    alerts = AlertRepository(session)
    result = await alerts.notification_page(conditions, page)
    attempts: dict[uuid.UUID, list[DeliveryAttempt]] = {row.id: [] for row in result.rows}
    if attempts:
        for attempt in await alerts.attempts_of(list(attempts)):
            attempts[attempt.notification_id].append(attempt)
    return NotificationPage(result, attempts)
