"""What a transition owes its contact points: outbox rows, written in the transition's own
transaction (so a crash between the two cannot lose a notification), and silences.

A rule sends to its own contact points, or, with none, to its factory's default ones and the
node's. While one of the rule's silences holds, the rows are written as `silenced`: the record
shows what would have gone out, and the worker never sends them.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.alerts.channels import ChannelOptions, SmtpOptions
from regional_node.alerts.models import (
    Alert,
    AlertNotification,
    AlertSilence,
    NotificationEvent,
    NotificationStatus,
)
from regional_node.alerts.repository import AlertRepository
from regional_node.alerts.sealing import Sealer
from regional_node.settings import NodeSettings
from yunfab.db import utcnow

DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class NotificationConfig:
    """The node's settings as the outbox, the worker and the contact points need them."""

    channel: ChannelOptions
    key_file: Path
    create_key: bool
    concurrency: int
    max_attempts: int
    retry_initial_s: float
    retry_max_s: float

    @classmethod
    def of(cls, settings: NodeSettings) -> NotificationConfig:
        smtp = None
        if settings.alert_smtp_host is not None and settings.alert_smtp_from is not None:
            smtp = SmtpOptions(
                host=settings.alert_smtp_host,
                port=settings.alert_smtp_port,
                starttls=settings.alert_smtp_starttls,
                username=settings.alert_smtp_username,
                password_file=settings.alert_smtp_password_file,
                sender=settings.alert_smtp_from,
            )
        public_url = settings.public_url or f"http://{settings.host}:{settings.port}"
        return cls(
            channel=ChannelOptions(
                node_url=public_url,
                zone=ZoneInfo(settings.alert_time_zone),
                timeout_s=settings.alert_delivery_timeout_s,
                development=settings.development,
                smtp=smtp,
            ),
            key_file=settings.alert_secrets_key_file or settings.data_dir / "alert-secrets.key",
            create_key=settings.alert_secrets_key_file is None,
            concurrency=settings.alert_delivery_concurrency,
            max_attempts=settings.alert_delivery_max_attempts,
            retry_initial_s=settings.alert_retry_initial_s,
            retry_max_s=settings.alert_retry_max_s,
        )

    def sealer(self) -> Sealer:
        return _sealer(self.key_file, self.create_key)


@functools.cache
def _sealer(path: Path, create: bool) -> Sealer:
    return Sealer.from_file(path, create=create)


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def silence_holds(silence: AlertSilence, now: dt.datetime, zone: ZoneInfo) -> bool:
    """Within the one-off window (either end open), and within the daily window if there is
    one; a daily window whose end is before its start runs over midnight."""
    if silence.starts_at is not None and now < silence.starts_at:
        return False
    if silence.ends_at is not None and now >= silence.ends_at:
        return False
    if silence.daily_from is None or silence.daily_to is None:
        return True
    local = now.astimezone(zone)
    minute = local.hour * 60 + local.minute
    start, end = _minutes(silence.daily_from), _minutes(silence.daily_to)
    if start <= end:
        return start <= minute < end
    return minute >= start or minute < end


async def facts(
    session: AsyncSession, alert: Alert, event: NotificationEvent, at: dt.datetime
) -> dict[str, Any]:
    """What a message says, fixed at the transition (the worker may send it much later)."""
    rule, device, factory = await AlertRepository(session).names_for(alert)
    return {
        "event": event.value,
        "alert_id": str(alert.id),
        "rule": rule or "",
        "device": device or str(alert.device_id),
        "device_id": str(alert.device_id),
        "factory": factory or str(alert.factory_id),
        "factory_id": str(alert.factory_id),
        "metric": alert.metric,
        "value": alert.value,
        "severity": alert.severity.value,
        "status": alert.status.value,
        "message": alert.message,
        "at": at.isoformat(),
    }


async def contact_points_for(
    session: AsyncSession, rule_id: uuid.UUID, factory_id: uuid.UUID
) -> Sequence[uuid.UUID]:
    alerts = AlertRepository(session)
    chosen = await alerts.rule_contact_point_ids(rule_id)
    if chosen:
        return chosen
    return await alerts.default_contact_point_ids(factory_id)


async def enqueue(
    session: AsyncSession, alert: Alert, event: NotificationEvent, *, zone: ZoneInfo
) -> int:
    """Outbox rows for `event` of `alert`, in the caller's transaction; how many are to be sent."""
    now = utcnow()
    targets = await contact_points_for(session, alert.rule_id, alert.factory_id)
    if not targets:
        return 0
    silences = await AlertRepository(session).silences(alert.rule_id)
    silenced = any(silence_holds(silence, now, zone) for silence in silences)
    body = await facts(session, alert, event, now)
    status = NotificationStatus.SILENCED if silenced else NotificationStatus.PENDING
    session.add_all(
        AlertNotification(
            alert_id=alert.id,
            contact_point_id=target,
            event=event,
            status=status,
            body=body,
            next_attempt_at=now,
            created_at=now,
        )
        for target in targets
    )
    await session.flush()
    return 0 if silenced else len(targets)
