"""SQL of factory vision: the model registry, stations, quality records."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.vision.models import InspectionModel, QualityRecord, Station
from yunfab.graphql.pagination import Page, PageRequest, newest_first


class VisionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def model(self, model_id: uuid.UUID, *, refresh: bool = False) -> InspectionModel | None:
        """`refresh` reads the row again over what the session holds."""
        return await self.session.get(InspectionModel, model_id, populate_existing=refresh)

    async def last_model_number(self, factory_id: uuid.UUID, sku: str) -> int:
        """The highest version number of the factory's models of the SKU; 0 when none."""
        return (
            await self.session.scalar(
                select(func.max(InspectionModel.number)).where(
                    InspectionModel.factory_id == factory_id, InspectionModel.sku == sku
                )
            )
            or 0
        )

    async def models(self, factory_id: uuid.UUID, sku: str | None) -> Sequence[InspectionModel]:
        """The factory's models (of the SKU, when given), by SKU, newest version first."""
        query = select(InspectionModel).where(InspectionModel.factory_id == factory_id)
        if sku is not None:
            query = query.where(InspectionModel.sku == sku)
        return (
            await self.session.scalars(
                query.order_by(InspectionModel.sku, InspectionModel.number.desc())
            )
        ).all()

    async def station(self, station_id: uuid.UUID, *, lock: bool = False) -> Station | None:
        """Locked, it is read afresh: the caller may have read it unlocked earlier."""
        return await self.session.get(
            Station, station_id, with_for_update=lock, populate_existing=lock
        )

    async def station_slug_taken(self, factory_id: uuid.UUID, slug: str) -> bool:
        taken = await self.session.scalar(
            select(Station.id).where(Station.factory_id == factory_id, Station.slug == slug)
        )
        return taken is not None

    async def stations(self, factory_id: uuid.UUID) -> Sequence[Station]:
        query = select(Station).where(Station.factory_id == factory_id).order_by(Station.slug)
        return (await self.session.scalars(query)).all()

    async def record(self, record_id: uuid.UUID) -> QualityRecord | None:
        return await self.session.get(QualityRecord, record_id)

    async def record_page(
        self, conditions: Sequence[ColumnElement[bool]], page: PageRequest
    ) -> Page[QualityRecord]:
        """Newest first, by (inspected_at, id)."""
        query = newest_first(
            select(QualityRecord).where(*conditions),
            QualityRecord.inspected_at,
            QualityRecord.id,
            page.after,
        )
        rows = (await self.session.scalars(query.limit(page.limit + 1))).all()

        async def count() -> int:
            total = select(func.count()).select_from(QualityRecord).where(*conditions)
            return await self.session.scalar(total) or 0

        return Page.from_rows(rows, page.limit, count)

    async def calibrated_records(
        self,
        station_id: uuid.UUID,
        since: dt.datetime,
        until: dt.datetime,
        *,
        batch: str | None,
        limit: int,
    ) -> Sequence[QualityRecord]:
        """The station's records inspected in [since, until] by a calibrated model (of the
        batch, when given), oldest first, at most `limit`."""
        query = select(QualityRecord).where(
            QualityRecord.station_id == station_id,
            QualityRecord.inspected_at >= since,
            QualityRecord.inspected_at <= until,
            QualityRecord.verdict != "uncalibrated",
        )
        if batch is not None:
            query = query.where(QualityRecord.batch == batch)
        return (
            await self.session.scalars(query.order_by(QualityRecord.inspected_at).limit(limit))
        ).all()
