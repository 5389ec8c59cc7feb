"""SQL of the node's alerts: alerts, alert rules with their silences and contact points."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.alerts.models import (
    Alert,
    AlertRule,
    AlertSilence,
    ContactPoint,
    rule_contact_points,
)
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
