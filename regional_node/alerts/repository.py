"""SQL of the node's alerts: alerts, alert rules with their silences and contact points, the
notification outbox with its delivery log, and what the rule engine loads."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.alerts.models import (
    Alert,
    AlertNotification,
    AlertRule,
    AlertSilence,
    AlertStatus,
    ContactPoint,
    DeliveryAttempt,
    NotificationStatus,
    rule_contact_points,
)
from regional_node.devices.models import Device
from regional_node.factories.models import Factory
from yunfab.graphql.pagination import Page, PageRequest, newest_first


class AlertRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def alert(self, alert_id: uuid.UUID, *, lock: bool = False) -> Alert | None:
        return await self.session.get(Alert, alert_id, with_for_update=lock)

    async def alert_page(
        self, conditions: Sequence[ColumnElement[bool]], page: PageRequest
    ) -> Page[Alert]:
        """Newest first, by (opened_at, id)."""
        query = newest_first(
            select(Alert).where(*conditions), Alert.opened_at, Alert.id, page.after
        )
        rows = (await self.session.scalars(query.limit(page.limit + 1))).all()

        async def count() -> int:
            counting = select(func.count()).select_from(Alert).where(*conditions)
            return await self.session.scalar(counting) or 0

        return Page.from_rows(rows, page.limit, count)

    async def factories(self) -> Sequence[Factory]:
        """Every factory of the node, for deciding which of their alerts a caller reads."""
        return (await self.session.scalars(select(Factory))).all()

    async def rule(self, rule_id: uuid.UUID) -> AlertRule | None:
        return await self.session.get(AlertRule, rule_id)

    async def rule_page(self, condition: ColumnElement[bool], page: PageRequest) -> Page[AlertRule]:
        """Newest first, by (created_at, id)."""
        query = newest_first(
            select(AlertRule).where(condition), AlertRule.created_at, AlertRule.id, page.after
        )
        rows = (await self.session.scalars(query.limit(page.limit + 1))).all()

        async def count() -> int:
            counting = select(func.count()).select_from(AlertRule).where(condition)
            return await self.session.scalar(counting) or 0

        return Page.from_rows(rows, page.limit, count)

    async def contact_point(self, point_id: uuid.UUID) -> ContactPoint | None:
        return await self.session.get(ContactPoint, point_id)

    async def link_contact_points(
        self, rule_id: uuid.UUID, point_ids: Collection[uuid.UUID]
    ) -> None:
        """The rule sends to these contact points too (each named once)."""
        await self.session.execute(
            insert(rule_contact_points),
            [{"rule_id": rule_id, "contact_point_id": point_id} for point_id in point_ids],
        )

    async def unlink_contact_points(self, rule_id: uuid.UUID) -> None:
        """The rule sends to no contact point any more."""
        await self.session.execute(
            delete(rule_contact_points).where(rule_contact_points.c.rule_id == rule_id)
        )

    async def contact_point_links(self, rule_ids: Collection[uuid.UUID]) -> Sequence[Row[Any, Any]]:
        """(rule, contact point) of each contact point these rules send to."""
        return (
            await self.session.execute(
                select(rule_contact_points.c.rule_id, rule_contact_points.c.contact_point_id).where(
                    rule_contact_points.c.rule_id.in_(rule_ids)
                )
            )
        ).all()

    async def silence(self, silence_id: uuid.UUID) -> AlertSilence | None:
        return await self.session.get(AlertSilence, silence_id)

    async def silences(self, rule_id: uuid.UUID) -> Sequence[AlertSilence]:
        return (
            await self.session.scalars(select(AlertSilence).where(AlertSilence.rule_id == rule_id))
        ).all()

    async def silences_of(self, rule_ids: Collection[uuid.UUID]) -> Sequence[AlertSilence]:
        """These rules' silences, oldest first."""
        return (
            await self.session.scalars(
                select(AlertSilence)
                .where(AlertSilence.rule_id.in_(rule_ids))
                .order_by(AlertSilence.created_at)
            )
        ).all()

    async def silence_count(self, rule_id: uuid.UUID) -> int:
        count = await self.session.scalar(
            select(func.count()).select_from(AlertSilence).where(AlertSilence.rule_id == rule_id)
        )
        return count or 0

    async def delete_silence(self, silence: AlertSilence) -> None:
        await self.session.delete(silence)

    async def enabled_rules(self) -> Sequence[AlertRule]:
        """The rules the engine evaluates."""
        return (await self.session.scalars(select(AlertRule).where(AlertRule.enabled))).all()

    async def live_alerts(
        self,
    ) -> Sequence[Row[uuid.UUID, uuid.UUID, uuid.UUID, dt.datetime, dt.datetime | None]]:
        """(rule, device, alert, opened at, escalated at) of every alert not closed."""
        return (
            await self.session.execute(
                select(
                    Alert.rule_id,
                    Alert.device_id,
                    Alert.id,
                    Alert.opened_at,
                    Alert.escalated_at,
                ).where(Alert.status != AlertStatus.CLOSED)
            )
        ).all()

    async def names_for(self, alert: Alert) -> tuple[str | None, str | None, str | None]:
        """The alert's rule name, device key and factory name (None for one that is gone)."""
        rule = await self.session.scalar(
            select(AlertRule.name).where(AlertRule.id == alert.rule_id)
        )
        device = await self.session.scalar(select(Device.key).where(Device.id == alert.device_id))
        factory = await self.session.scalar(
            select(Factory.name).where(Factory.id == alert.factory_id)
        )
        return rule, device, factory

    async def rule_contact_point_ids(self, rule_id: uuid.UUID) -> Sequence[uuid.UUID]:
        """The contact points the rule names itself."""
        return (
            await self.session.scalars(
                select(rule_contact_points.c.contact_point_id).where(
                    rule_contact_points.c.rule_id == rule_id
                )
            )
        ).all()

    async def default_contact_point_ids(self, factory_id: uuid.UUID) -> Sequence[uuid.UUID]:
        """The factory's default contact points and the node-wide default ones."""
        return (
            await self.session.scalars(
                select(ContactPoint.id).where(
                    ContactPoint.is_default,
                    or_(ContactPoint.factory_id == factory_id, ContactPoint.factory_id.is_(None)),
                )
            )
        ).all()

    async def contact_point_count(self, factory_id: uuid.UUID | None) -> int:
        """A factory's contact points (`factory_id`), or the node-wide ones."""
        count = await self.session.scalar(
            select(func.count()).select_from(ContactPoint).where(_of_factory(factory_id))
        )
        return count or 0

    async def contact_point_page(
        self, factory_id: uuid.UUID | None, page: PageRequest
    ) -> Page[ContactPoint]:
        """A factory's contact points (`factory_id`), or the node-wide ones; newest first, by
        (created_at, id)."""
        condition = _of_factory(factory_id)
        query = newest_first(
            select(ContactPoint).where(condition),
            ContactPoint.created_at,
            ContactPoint.id,
            page.after,
        )
        rows = (await self.session.scalars(query.limit(page.limit + 1))).all()

        async def count() -> int:
            return (
                await self.session.scalar(
                    select(func.count()).select_from(ContactPoint).where(condition)
                )
                or 0
            )

        return Page.from_rows(rows, page.limit, count)

    async def delete_contact_point(self, point: ContactPoint) -> None:
        await self.session.delete(point)

    async def notification(
        self, notification_id: uuid.UUID, *, lock: bool = False
    ) -> AlertNotification | None:
        return await self.session.get(AlertNotification, notification_id, with_for_update=lock)

    async def notification_page(
        self, conditions: Sequence[ColumnElement[bool]], page: PageRequest
    ) -> Page[AlertNotification]:
        """Newest first, by (created_at, id)."""
        query = newest_first(
            select(AlertNotification).where(*conditions),
            AlertNotification.created_at,
            AlertNotification.id,
            page.after,
        )
        rows = (await self.session.scalars(query.limit(page.limit + 1))).all()

        async def count() -> int:
            total = select(func.count()).select_from(AlertNotification).where(*conditions)
            return await self.session.scalar(total) or 0

        return Page.from_rows(rows, page.limit, count)

    async def attempts_of(
        self, notification_ids: Collection[uuid.UUID]
    ) -> Sequence[DeliveryAttempt]:
        """These notifications' delivery attempts, in attempt order."""
        return (
            await self.session.scalars(
                select(DeliveryAttempt)
                .where(DeliveryAttempt.notification_id.in_(list(notification_ids)))
                .order_by(DeliveryAttempt.number)
            )
        ).all()

    async def next_pending_at(self) -> dt.datetime | None:
        """When the soonest pending notification is due."""
        return await self.session.scalar(
            select(func.min(AlertNotification.next_attempt_at)).where(
                AlertNotification.status == NotificationStatus.PENDING
            )
        )

    async def due_notifications(
        self, now: dt.datetime, limit: int
    ) -> Sequence[Row[uuid.UUID, dt.datetime]]:
        """(id, due at) of the pending notifications due by `now`, soonest first."""
        return (
            await self.session.execute(
                select(AlertNotification.id, AlertNotification.next_attempt_at)
                .where(
                    AlertNotification.status == NotificationStatus.PENDING,
                    AlertNotification.next_attempt_at <= now,
                )
                .order_by(AlertNotification.next_attempt_at)
                .limit(limit)
            )
        ).all()

    async def claim_notification(
        self, notification_id: uuid.UUID, due_at: dt.datetime, lease: dt.datetime
    ) -> bool:
        """Compare-and-set: moves the row's `next_attempt_at` to `lease` if it is still pending
        and still due at `due_at`; whether this caller claimed it."""
        moved = await self.session.execute(
            update(AlertNotification)
            .where(
                AlertNotification.id == notification_id,
                AlertNotification.next_attempt_at == due_at,
                AlertNotification.status == NotificationStatus.PENDING,
            )
            .values(next_attempt_at=lease)
        )
        return bool(moved.rowcount)  # type: ignore[attr-defined]

    async def notification_with_point(
        self, notification_id: uuid.UUID
    ) -> Row[AlertNotification, ContactPoint] | None:
        return (
            await self.session.execute(
                select(AlertNotification, ContactPoint)
                .join(ContactPoint, ContactPoint.id == AlertNotification.contact_point_id)
                .where(AlertNotification.id == notification_id)
            )
        ).first()


def _of_factory(factory_id: uuid.UUID | None) -> ColumnElement[bool]:
    if factory_id is None:
        return ContactPoint.factory_id.is_(None)
    return ContactPoint.factory_id == factory_id
