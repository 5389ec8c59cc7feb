"""SQL of the data products: the sources their rows come from, and the outbox."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.data_products.models import PendingBatch, ProductStream, QueuedRow
from regional_node.factories.models import CapacityDay, Equipment, Factory, FactoryStatus
from regional_node.workforce.models import WorkforceWorker

IN_CLAUSE = 500
"""Keys per `IN (...)`: well under SQLite's limit on bound parameters."""


class SourceRepository:
    """What the producers read: active factories and their capacity and equipment, and the
    workers lent on this node."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def active_factories(self) -> Sequence[Factory]:
        return (
            await self.session.scalars(
                select(Factory).where(Factory.status == FactoryStatus.ACTIVE).order_by(Factory.slug)
            )
        ).all()

    async def open_workers(self, today: dt.date) -> Sequence[WorkforceWorker]:
        """Workers still available on or after `today`: the node's open offers."""
        return (
            await self.session.scalars(
                select(WorkforceWorker)
                .where(WorkforceWorker.available_to >= today)
                .order_by(WorkforceWorker.id)
            )
        ).all()

    async def capacity(
        self, factory_ids: Iterable[uuid.UUID], first: dt.date, last: dt.date
    ) -> list[CapacityDay]:
        rows: list[CapacityDay] = []
        ids = list(factory_ids)
        for start in range(0, len(ids), IN_CLAUSE):
            rows.extend(
                (
                    await self.session.scalars(
                        select(CapacityDay).where(
                            CapacityDay.factory_id.in_(ids[start : start + IN_CLAUSE]),
                            CapacityDay.day >= first,
                            CapacityDay.day <= last,
                        )
                    )
                ).all()
            )
        return rows

    async def equipment_types(self) -> dict[uuid.UUID, list[str]]:
        """Factory -> the kinds of machine it has (at least one of), sorted."""
        rows = (
            await self.session.execute(
                select(Equipment.factory_id, Equipment.type)
                .where(Equipment.count > 0)
                .distinct()
                .order_by(Equipment.factory_id, Equipment.type)
            )
        ).all()
        types: dict[uuid.UUID, list[str]] = {}
        for factory_id, kind in rows:
            types.setdefault(factory_id, []).append(kind)
        return types


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def stream(self, product: str) -> ProductStream:
        """The product's stream, created at first use; locked for this transaction (PostgreSQL)
        so two publishers of one node cannot hand out the same seq."""
        stream = await self.session.scalar(
            select(ProductStream).where(ProductStream.product == product).with_for_update()
        )
        if stream is None:
            stream = ProductStream(product=product, next_seq=1, needs_snapshot=True)
            self.session.add(stream)
            await self.session.flush()
        return stream

    async def find_stream(self, product: str) -> ProductStream | None:
        return await self.session.get(ProductStream, product)

    async def queued_digests(self, product: str) -> dict[str, str]:
        rows = await self.session.execute(
            select(QueuedRow.row_key, QueuedRow.digest).where(QueuedRow.product == product)
        )
        return dict(rows.all())

    async def forget(self, product: str) -> None:
        """Drop what waits for the hub and what it was believed to hold."""
        await self.session.execute(delete(PendingBatch).where(PendingBatch.product == product))
        await self.session.execute(delete(QueuedRow).where(QueuedRow.product == product))

    async def remember(self, product: str, digests: Mapping[str, str]) -> None:
        """Record rows as queued; none of them may be recorded already."""
        if digests:
            await self.session.execute(
                insert(QueuedRow),
                [
                    {"product": product, "row_key": key, "digest": digest}
                    for key, digest in digests.items()
                ],
            )

    async def drop_rows(self, product: str, keys: Sequence[str]) -> None:
        for start in range(0, len(keys), IN_CLAUSE):
            await self.session.execute(
                delete(QueuedRow).where(
                    QueuedRow.product == product,
                    QueuedRow.row_key.in_(keys[start : start + IN_CLAUSE]),
                )
            )

    def add_batch(self, batch: PendingBatch) -> None:
        self.session.add(batch)

    async def first_pending(self, product: str) -> PendingBatch | None:
        return await self.session.scalar(
            select(PendingBatch)
            .where(PendingBatch.product == product)
            .order_by(PendingBatch.seq)
            .limit(1)
        )

    async def pending(self, product: str) -> Sequence[PendingBatch]:
        return (
            await self.session.scalars(
                select(PendingBatch)
                .where(PendingBatch.product == product)
                .order_by(PendingBatch.seq)
            )
        ).all()

    async def acknowledge(self, product: str, seq: int) -> None:
        await self.session.execute(
            delete(PendingBatch).where(PendingBatch.product == product, PendingBatch.seq == seq)
        )

    async def backlog(self, product: str) -> tuple[int, dt.datetime | None, int]:
        """Batches waiting for the hub, when the oldest was queued, rows last queued."""
        waiting, oldest = (
            await self.session.execute(
                select(func.count(), func.min(PendingBatch.created_at)).where(
                    PendingBatch.product == product
                )
            )
        ).one()
        rows = await self.session.scalar(
            select(func.count()).select_from(QueuedRow).where(QueuedRow.product == product)
        )
        return int(waiting), oldest, int(rows or 0)
