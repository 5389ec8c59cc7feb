"""Queue a data product's changes as numbered batches, one transaction per round.

The first round (and the first after the hub lost track) queues a snapshot: every row, in
chunks, the first chunk's seq naming the snapshot and the last chunk flagged. Every later round
diffs the rows against the content hashes queued before and queues an increment of what
changed (upserts) and what vanished (deletes), or nothing at all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.data_products.models import PendingBatch
from regional_node.data_products.products import DataProduct, ProducerContext, Row
from regional_node.data_products.repository import OutboxRepository
from yunfab.db import utcnow

CHUNK_ROWS = 2000
"""Rows (upserts plus deletes) per batch; the hub takes at most 5000."""

BatchKind = Literal["snapshot", "increment"]


@dataclass(frozen=True)
class Queued:
    """What one round queued: the batches' seqs, and how many rows they carry."""

    product: str
    kind: BatchKind | None
    """None: nothing changed, nothing queued."""
    seqs: tuple[int, ...] = ()
    upserts: int = 0
    deletes: int = 0


def digest(data: dict[str, Any]) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def wire(batch: PendingBatch) -> dict[str, Any]:
    """A pending batch as the hub's `POST .../batches` takes it."""
    upserts = batch.body.get("upserts", [])
    if batch.kind == "snapshot":
        return {
            "seq": batch.seq,
            "kind": batch.kind,
            "snapshot": batch.snapshot,
            "last": bool(batch.last),
            "upserts": upserts,
        }
    return {
        "seq": batch.seq,
        "kind": batch.kind,
        "upserts": upserts,
        "deletes": batch.body.get("deletes", []),
    }


def batch_rows(batch: PendingBatch) -> int:
    return len(batch.body.get("upserts", [])) + len(batch.body.get("deletes", []))


async def prepare(
    session: AsyncSession,
    product: DataProduct,
    context: ProducerContext,
    *,
    chunk_rows: int = CHUNK_ROWS,
) -> Queued:
    """Compute the product's rows now and queue what the hub has not been sent yet."""
    outbox = OutboxRepository(session)
    stream = await outbox.stream(product.key)
    rows = await product.rows(session, context)
    digests = {row.key: digest(row.data) for row in rows}
    if stream.needs_snapshot:
        await outbox.forget(product.key)
        chunks = [rows[i : i + chunk_rows] for i in range(0, len(rows), chunk_rows)] or [[]]
        snapshot = stream.next_seq
        for index, chunk in enumerate(chunks):
            outbox.add_batch(
                PendingBatch(
                    product=product.key,
                    seq=snapshot + index,
                    kind="snapshot",
                    snapshot=snapshot,
                    last=index == len(chunks) - 1,
                    body={"upserts": [row.wire() for row in chunk]},
                )
            )
        await outbox.remember(product.key, digests)
        stream.next_seq = snapshot + len(chunks)
        stream.needs_snapshot = False
        stream.updated_at = utcnow()
        await session.flush()
        return Queued(
            product=product.key,
            kind="snapshot",
            seqs=tuple(range(snapshot, stream.next_seq)),
            upserts=len(rows),
        )
    queued = await outbox.queued_digests(product.key)
    changed = [row for row in rows if queued.get(row.key) != digests[row.key]]
    gone = sorted(set(queued) - set(digests))
    if not changed and not gone:
        return Queued(product=product.key, kind=None)
    first = stream.next_seq
    for index, (upserts, deletes) in enumerate(_increments(changed, gone, chunk_rows)):
        outbox.add_batch(
            PendingBatch(
                product=product.key,
                seq=first + index,
                kind="increment",
                body={"upserts": [row.wire() for row in upserts], "deletes": deletes},
            )
        )
        stream.next_seq = first + index + 1
    await outbox.drop_rows(product.key, [*(row.key for row in changed), *gone])
    await outbox.remember(product.key, {row.key: digests[row.key] for row in changed})
    stream.updated_at = utcnow()
    await session.flush()
    return Queued(
        product=product.key,
        kind="increment",
        seqs=tuple(range(first, stream.next_seq)),
        upserts=len(changed),
        deletes=len(gone),
    )


def _increments(
    changed: Sequence[Row], gone: Sequence[str], size: int
) -> list[tuple[list[Row], list[str]]]:
    """Split upserts and deletes into batches of at most `size` rows together."""
    operations: list[Row | str] = [*changed, *gone]
    batches = []
    for start in range(0, len(operations), size):
        part = operations[start : start + size]
        batches.append(
            (
                [op for op in part if isinstance(op, Row)],
                [op for op in part if isinstance(op, str)],
            )
        )
    return batches


async def start_over(session: AsyncSession, product: str, *, next_seq: int) -> None:
    """The hub lost track (a fresh database) or is ahead of us (a fresh node database): drop
    what waits and what it was believed to hold, and number on from what it expects. The next
    `prepare` queues a snapshot."""
    outbox = OutboxRepository(session)
    stream = await outbox.stream(product)
    await outbox.forget(product)
    stream.next_seq = max(1, next_seq)
    stream.needs_snapshot = True
    stream.updated_at = utcnow()
    await session.flush()


async def hub_lost_track(session: AsyncSession, product: str, hub_seq: int) -> bool:
    """Whether the hub's last applied seq contradicts the outbox: behind what it acknowledged
    (it lost state), or past anything this node numbered (this node lost state)."""
    outbox = OutboxRepository(session)
    stream = await outbox.find_stream(product)
    next_seq = stream.next_seq if stream is not None else 1
    first = await outbox.first_pending(product)
    acknowledged = (first.seq if first is not None else next_seq) - 1
    return hub_seq < acknowledged or hub_seq > next_seq - 1
