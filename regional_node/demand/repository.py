"""SQL of the demand domain: products and SKUs, sales and their imports, forecast runs and
their points, plans and production proposals."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Iterable, Sequence

from sqlalchemy import ColumnElement, Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.demand.models import (
    DemandPlan,
    DemandProduct,
    DemandSku,
    FeedStatus,
    ForecastLevel,
    ForecastPoint,
    ForecastRun,
    ProductionProposal,
    ProposalStatus,
    SalesFeed,
    SalesImport,
    SalesRecord,
)
from regional_node.factories.models import Factory
from regional_node.orders.models import Order, OrderPlan, OrderStatus, PlanAllocation
from yunfab.graphql.pagination import Page, PageRequest, newest_first


class ProductRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, product_id: uuid.UUID, *, lock: bool = False) -> DemandProduct | None:
        return await self.session.get(DemandProduct, product_id, with_for_update=lock)

    async def by_slug(self, slug: str) -> DemandProduct | None:
        return await self.session.scalar(select(DemandProduct).where(DemandProduct.slug == slug))

    async def of_brand(self, brand: str, *, lock: bool = False) -> Sequence[DemandProduct]:
        """`lock`: the brand's products locked, so that its plans are made one at a time."""
        query = (
            select(DemandProduct)
            .where(DemandProduct.brand_org == brand)
            .order_by(DemandProduct.slug)
        )
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).all()

    async def many(self, ids: Collection[uuid.UUID]) -> Sequence[DemandProduct]:
        return (
            await self.session.scalars(select(DemandProduct).where(DemandProduct.id.in_(ids)))
        ).all()

    async def page(
        self, conditions: Sequence[ColumnElement[bool]], page: PageRequest
    ) -> Page[DemandProduct]:
        """By slug."""
        query = select(DemandProduct).where(*conditions).order_by(DemandProduct.slug)
        if page.after is not None:
            query = query.where(DemandProduct.slug > str(page.after[0]))
        rows = (await self.session.scalars(query.limit(page.limit + 1))).all()

        async def count() -> int:
            counting = select(func.count()).select_from(DemandProduct).where(*conditions)
            return await self.session.scalar(counting) or 0

        return Page.from_rows(rows, page.limit, count)

    async def delete(self, product: DemandProduct) -> None:
        await self.session.delete(product)
        await self.session.flush()


class SkuRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, sku_id: uuid.UUID, *, lock: bool = False) -> DemandSku | None:
        return await self.session.get(DemandSku, sku_id, with_for_update=lock)

    async def by_code(self, brand: str, code: str) -> DemandSku | None:
        return await self.session.scalar(
            select(DemandSku).where(DemandSku.brand_org == brand, DemandSku.code == code)
        )

    async def of_brand(self, brand: str) -> Sequence[DemandSku]:
        return (
            await self.session.scalars(
                select(DemandSku).where(DemandSku.brand_org == brand).order_by(DemandSku.code)
            )
        ).all()

    async def of_product(self, product_id: uuid.UUID) -> Sequence[DemandSku]:
        return (
            await self.session.scalars(
                select(DemandSku).where(DemandSku.product_id == product_id).order_by(DemandSku.code)
            )
        ).all()

    async def many(self, ids: Collection[uuid.UUID]) -> Sequence[DemandSku]:
        return (await self.session.scalars(select(DemandSku).where(DemandSku.id.in_(ids)))).all()

    async def page(
        self, conditions: Sequence[ColumnElement[bool]], page: PageRequest
    ) -> Page[DemandSku]:
        """By (brand, code)."""
        query = select(DemandSku).where(*conditions).order_by(DemandSku.brand_org, DemandSku.code)
        if page.after is not None:
            brand, code = str(page.after[0]), str(page.after[1])
            query = query.where(
                (DemandSku.brand_org > brand)
                | ((DemandSku.brand_org == brand) & (DemandSku.code > code))
            )
        rows = (await self.session.scalars(query.limit(page.limit + 1))).all()

        async def count() -> int:
            counting = select(func.count()).select_from(DemandSku).where(*conditions)
            return await self.session.scalar(counting) or 0

        return Page.from_rows(rows, page.limit, count)

    async def in_use(self, sku_ids: Collection[uuid.UUID]) -> bool:
        """Whether sales or proposals point at any of them."""
        if not sku_ids:
            return False
        sold = await self.session.scalar(
            select(SalesRecord.id).where(SalesRecord.sku_id.in_(sku_ids)).limit(1)
        )
        proposed = await self.session.scalar(
            select(ProductionProposal.id).where(ProductionProposal.sku_id.in_(sku_ids)).limit(1)
        )
        return sold is not None or proposed is not None

    async def delete(self, skus: Iterable[DemandSku]) -> None:
        for sku in skus:
            await self.session.delete(sku)
        await self.session.flush()


class SalesRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def existing_keys(
        self, sku_ids: Collection[uuid.UUID], first: dt.date, last: dt.date
    ) -> set[tuple[uuid.UUID, dt.date, str, str]]:
        """(sku, day, channel, region) already stored for these SKUs between the two days."""
        found: set[tuple[uuid.UUID, dt.date, str, str]] = set()
        ids = list(sku_ids)
        for start in range(0, len(ids), 500):
            rows = await self.session.execute(
                select(
                    SalesRecord.sku_id, SalesRecord.day, SalesRecord.channel, SalesRecord.region
                ).where(
                    SalesRecord.sku_id.in_(ids[start : start + 500]),
                    SalesRecord.day >= first,
                    SalesRecord.day <= last,
                )
            )
            found.update((s, d, c, r) for s, d, c, r in rows)
        return found

    async def days(self, sku_ids: Collection[uuid.UUID]) -> Sequence[Row[uuid.UUID, dt.date]]:
        """Every (sku, day) with a record: what gaps are looked for in."""
        return (
            await self.session.execute(
                select(SalesRecord.sku_id, SalesRecord.day)
                .where(SalesRecord.sku_id.in_(list(sku_ids)))
                .distinct()
            )
        ).all()

    async def add(self, record: SalesImport, rows: Sequence[SalesRecord]) -> None:
        self.session.add(record)
        await self.session.flush()
        for start in range(0, len(rows), 5000):
            self.session.add_all(rows[start : start + 5000])
            await self.session.flush()

    async def daily_totals(
        self, brand: str, *, until: dt.date | None = None
    ) -> Sequence[Row[uuid.UUID, dt.date, float]]:
        """(sku, day, units) of the brand, every channel and region summed."""
        query = (
            select(SalesRecord.sku_id, SalesRecord.day, func.sum(SalesRecord.quantity))
            .join(DemandSku, DemandSku.id == SalesRecord.sku_id)
            .where(DemandSku.brand_org == brand)
            .group_by(SalesRecord.sku_id, SalesRecord.day)
        )
        if until is not None:
            query = query.where(SalesRecord.day <= until)
        return (await self.session.execute(query)).all()

    async def daily_region_totals(
        self, brand: str
    ) -> Sequence[Row[uuid.UUID, dt.date, float, str]]:
        """(sku, day, units, region) of the brand, every channel summed ("" for no region)."""
        query = (
            select(
                SalesRecord.sku_id, SalesRecord.day, func.sum(SalesRecord.quantity),
                SalesRecord.region,
            )
            .join(DemandSku, DemandSku.id == SalesRecord.sku_id)
            .where(DemandSku.brand_org == brand)
            .group_by(SalesRecord.sku_id, SalesRecord.day, SalesRecord.region)
        )  # fmt: skip
        return (await self.session.execute(query)).all()

    async def daily_channel_totals(
        self, brand: str
    ) -> Sequence[Row[uuid.UUID, dt.date, float, str]]:
        """(sku, day, units, channel) of the brand, every region summed ("" for no channel)."""
        query = (
            select(
                SalesRecord.sku_id, SalesRecord.day, func.sum(SalesRecord.quantity),
                SalesRecord.channel,
            )
            .join(DemandSku, DemandSku.id == SalesRecord.sku_id)
            .where(DemandSku.brand_org == brand)
            .group_by(SalesRecord.sku_id, SalesRecord.day, SalesRecord.channel)
        )  # fmt: skip
        return (await self.session.execute(query)).all()

    async def page(
        self, conditions: Sequence[ColumnElement[bool]], page: PageRequest
    ) -> Page[SalesRecord]:
        """Newest day first, by (day, id)."""
        query = (
            select(SalesRecord)
            .join(DemandSku, DemandSku.id == SalesRecord.sku_id)
            .where(*conditions)
            .order_by(SalesRecord.day.desc(), SalesRecord.id.desc())
        )
        if page.after is not None:
            day, ident = dt.date.fromisoformat(str(page.after[0])), uuid.UUID(str(page.after[1]))
            query = query.where(
                (SalesRecord.day < day) | ((SalesRecord.day == day) & (SalesRecord.id < ident))
            )
        rows = (await self.session.scalars(query.limit(page.limit + 1))).all()

        async def count() -> int:
            counting = (
                select(func.count())
                .select_from(SalesRecord)
                .join(DemandSku, DemandSku.id == SalesRecord.sku_id)
                .where(*conditions)
            )
            return await self.session.scalar(counting) or 0

        return Page.from_rows(rows, page.limit, count)

    async def imports_page(
        self, conditions: Sequence[ColumnElement[bool]], page: PageRequest
    ) -> Page[SalesImport]:
        query = newest_first(
            select(SalesImport).where(*conditions),
            SalesImport.created_at,
            SalesImport.id,
            page.after,
        )
        rows = (await self.session.scalars(query.limit(page.limit + 1))).all()

        async def count() -> int:
            counting = select(func.count()).select_from(SalesImport).where(*conditions)
            return await self.session.scalar(counting) or 0

        return Page.from_rows(rows, page.limit, count)


class FeedRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, feed_id: uuid.UUID) -> SalesFeed | None:
        return await self.session.get(SalesFeed, feed_id)

    async def by_contract(self, contract_id: uuid.UUID) -> SalesFeed | None:
        return await self.session.scalar(
            select(SalesFeed).where(SalesFeed.contract_id == contract_id)
        )

    async def pulled(
        self, feed_id: uuid.UUID
    ) -> dict[tuple[uuid.UUID, dt.date, str, str], SalesRecord]:
        """The rows earlier pulls of the feed imported, by (sku, day, channel, region)."""
        found = await self.session.scalars(
            select(SalesRecord)
            .join(SalesImport, SalesImport.id == SalesRecord.import_id)
            .where(SalesImport.feed_id == feed_id)
        )
        return {(r.sku_id, r.day, r.channel, r.region): r for r in found}

    async def background(self) -> Sequence[SalesFeed]:
        """Active feeds pulled in the background."""
        found = await self.session.scalars(
            select(SalesFeed).where(
                SalesFeed.status == FeedStatus.ACTIVE, SalesFeed.every_minutes.is_not(None)
            )
        )
        return found.all()

    async def page(
        self, conditions: Sequence[ColumnElement[bool]], page: PageRequest
    ) -> Page[SalesFeed]:
        query = newest_first(
            select(SalesFeed).where(*conditions), SalesFeed.created_at, SalesFeed.id, page.after
        )
        rows = (await self.session.scalars(query.limit(page.limit + 1))).all()

        async def count() -> int:
            counting = select(func.count()).select_from(SalesFeed).where(*conditions)
            return await self.session.scalar(counting) or 0

        return Page.from_rows(rows, page.limit, count)


class ForecastRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, run_id: uuid.UUID) -> ForecastRun | None:
        return await self.session.get(ForecastRun, run_id)

    async def latest(self, brand: str) -> ForecastRun | None:
        return await self.session.scalar(
            select(ForecastRun)
            .where(ForecastRun.brand_org == brand)
            .order_by(ForecastRun.created_at.desc(), ForecastRun.id.desc())
            .limit(1)
        )

    async def add(self, run: ForecastRun, points: Sequence[ForecastPoint]) -> None:
        self.session.add(run)
        await self.session.flush()
        for start in range(0, len(points), 5000):
            self.session.add_all(points[start : start + 5000])
            await self.session.flush()

    async def page(
        self, conditions: Sequence[ColumnElement[bool]], page: PageRequest
    ) -> Page[ForecastRun]:
        query = newest_first(
            select(ForecastRun).where(*conditions),
            ForecastRun.created_at,
            ForecastRun.id,
            page.after,
        )
        rows = (await self.session.scalars(query.limit(page.limit + 1))).all()

        async def count() -> int:
            counting = select(func.count()).select_from(ForecastRun).where(*conditions)
            return await self.session.scalar(counting) or 0

        return Page.from_rows(rows, page.limit, count)

    async def points(
        self,
        run_id: uuid.UUID,
        *,
        level: ForecastLevel | None = None,
        sku_ids: Collection[uuid.UUID] | None = None,
    ) -> Sequence[ForecastPoint]:
        query = select(ForecastPoint).where(ForecastPoint.run_id == run_id)
        if level is not None:
            query = query.where(ForecastPoint.level == level)
        if sku_ids is not None:
            query = query.where(ForecastPoint.sku_id.in_(list(sku_ids)))
        return (
            await self.session.scalars(query.order_by(ForecastPoint.series, ForecastPoint.week))
        ).all()

    async def series_page(
        self, run_id: uuid.UUID, level: ForecastLevel | None, page: PageRequest
    ) -> Page[str]:
        """The run's series names, in order: totals first, then products, then SKUs."""
        conditions = [ForecastPoint.run_id == run_id]
        if level is not None:
            conditions.append(ForecastPoint.level == level)
        query = (
            select(ForecastPoint.series)
            .where(*conditions)
            .group_by(ForecastPoint.series)
            .order_by(ForecastPoint.series)
        )
        if page.after is not None:
            query = query.where(ForecastPoint.series > str(page.after[0]))
        rows = (await self.session.scalars(query.limit(page.limit + 1))).all()

        async def count() -> int:
            counting = select(func.count(func.distinct(ForecastPoint.series))).where(*conditions)
            return await self.session.scalar(counting) or 0

        return Page.from_rows(rows, page.limit, count)


class PlanRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, plan_id: uuid.UUID) -> DemandPlan | None:
        return await self.session.get(DemandPlan, plan_id)

    async def latest(self, brand: str) -> DemandPlan | None:
        return await self.session.scalar(
            select(DemandPlan)
            .where(DemandPlan.brand_org == brand)
            .order_by(DemandPlan.created_at.desc(), DemandPlan.id.desc())
            .limit(1)
        )

    async def add(self, plan: DemandPlan) -> None:
        self.session.add(plan)
        await self.session.flush()

    async def page(
        self, conditions: Sequence[ColumnElement[bool]], page: PageRequest
    ) -> Page[DemandPlan]:
        query = newest_first(
            select(DemandPlan).where(*conditions), DemandPlan.created_at, DemandPlan.id, page.after
        )
        rows = (await self.session.scalars(query.limit(page.limit + 1))).all()

        async def count() -> int:
            counting = select(func.count()).select_from(DemandPlan).where(*conditions)
            return await self.session.scalar(counting) or 0

        return Page.from_rows(rows, page.limit, count)


class ProposalRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def many(
        self, ids: Collection[uuid.UUID], *, lock: bool = False
    ) -> Sequence[ProductionProposal]:
        query = (
            select(ProductionProposal)
            .where(ProductionProposal.id.in_(list(ids)))
            .order_by(ProductionProposal.week, ProductionProposal.id)
        )
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).all()

    async def open_of_brand(
        self, brand: str, *, lock: bool = False
    ) -> Sequence[ProductionProposal]:
        """Proposals nobody has decided on yet."""
        query = select(ProductionProposal).where(
            ProductionProposal.brand_org == brand,
            ProductionProposal.status == ProposalStatus.PROPOSED,
        )
        if lock:
            query = query.with_for_update()
        return (
            await self.session.scalars(
                query.order_by(ProductionProposal.week, ProductionProposal.id)
            )
        ).all()

    async def lot_factories(
        self, brand: str
    ) -> Sequence[Row[uuid.UUID, str, dt.date, uuid.UUID, str, float]]:
        """(product, variant, week, factory, factory's name, units of work) of the brand's
        proposals accepted into orders still open: each order's current plan (its latest
        version, which dispatched work orders follow) summed over steps and days, per factory,
        once per order."""
        lots = (
            select(
                ProductionProposal.product_id, ProductionProposal.variant,
                ProductionProposal.week, ProductionProposal.order_id,
            )
            .join(Order, Order.id == ProductionProposal.order_id)
            .where(
                ProductionProposal.brand_org == brand,
                ProductionProposal.status == ProposalStatus.ACCEPTED,
                Order.status == OrderStatus.OPEN,
            )
            .distinct()
            .subquery()
        )  # fmt: skip
        latest = (
            select(OrderPlan.order_id, func.max(OrderPlan.version).label("version"))
            .where(OrderPlan.order_id.in_(select(lots.c.order_id)))
            .group_by(OrderPlan.order_id)
            .subquery()
        )
        query = (
            select(
                lots.c.product_id, lots.c.variant, lots.c.week, PlanAllocation.factory_id,
                Factory.name, func.sum(PlanAllocation.units),
            )
            .join(latest, latest.c.order_id == lots.c.order_id)
            .join(
                OrderPlan,
                (OrderPlan.order_id == latest.c.order_id)
                & (OrderPlan.version == latest.c.version),
            )
            .join(PlanAllocation, PlanAllocation.plan_id == OrderPlan.id)
            .join(Factory, Factory.id == PlanAllocation.factory_id)
            .group_by(
                lots.c.product_id, lots.c.variant, lots.c.week, PlanAllocation.factory_id,
                Factory.name,
            )
        )  # fmt: skip
        return (await self.session.execute(query)).all()

    async def open_production(self, brand: str) -> Sequence[Row[uuid.UUID, dt.date, int]]:
        """(sku, week, units) accepted into orders that are still open."""
        return (
            await self.session.execute(
                select(
                    ProductionProposal.sku_id,
                    ProductionProposal.week,
                    ProductionProposal.quantity,
                )
                .join(Order, Order.id == ProductionProposal.order_id)
                .where(
                    ProductionProposal.brand_org == brand,
                    ProductionProposal.status == ProposalStatus.ACCEPTED,
                    Order.status == OrderStatus.OPEN,
                )
            )
        ).all()

    async def add(self, proposals: Sequence[ProductionProposal]) -> None:
        self.session.add_all(proposals)
        await self.session.flush()

    async def page(
        self, conditions: Sequence[ColumnElement[bool]], page: PageRequest
    ) -> Page[ProductionProposal]:
        """By (week, id)."""
        query = (
            select(ProductionProposal)
            .where(*conditions)
            .order_by(ProductionProposal.week, ProductionProposal.id)
        )
        if page.after is not None:
            week, ident = dt.date.fromisoformat(str(page.after[0])), uuid.UUID(str(page.after[1]))
            query = query.where(
                (ProductionProposal.week > week)
                | ((ProductionProposal.week == week) & (ProductionProposal.id > ident))
            )
        rows = (await self.session.scalars(query.limit(page.limit + 1))).all()

        async def count() -> int:
            counting = select(func.count()).select_from(ProductionProposal).where(*conditions)
            return await self.session.scalar(counting) or 0

        return Page.from_rows(rows, page.limit, count)
