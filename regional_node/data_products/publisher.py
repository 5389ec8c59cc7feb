"""Send the node's data products to the hub, resumably.

Each round prepares (queues what changed, in one transaction) and flushes: the product's
definition is PUT once per process (again when it changed, such as a public sample, and when
the hub answers that it does not know the product), then the pending batches go out in seq
order, each deleted once the hub acknowledges it. A cut connection leaves the rest for the next
round, which starts again at the first batch not acknowledged; the hub ignores a batch it
already applied. When the hub has lost track (its sync seq behind what it acknowledged, or a
`sync_gap`), the outbox starts over with a snapshot numbered from what the hub expects.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from regional_node.data_products import outbox
from regional_node.data_products.outbox import CHUNK_ROWS, Queued
from regional_node.data_products.products import DataProduct, ProducerContext
from regional_node.data_products.repository import OutboxRepository
from regional_node.hub_link.client import HubClient, HubError
from regional_node.hub_link.link import HubLink, LinkState
from yunfab.db import session_scope

log = structlog.get_logger(__name__)

MAX_START_OVERS = 2
"""Per flush: a hub that keeps losing track is reported, not chased."""
LINK_POLL_S = 1.0


@dataclass(frozen=True)
class Sent:
    seq: int
    kind: str
    rows: int
    applied: bool
    """False: the hub had applied it already (a resend)."""


@dataclass
class Flushed:
    product: str
    sent: list[Sent] = field(default_factory=list)
    hub_seq: int | None = None
    """The hub's last applied seq, as it last said."""
    started_over: int = 0


@dataclass(frozen=True)
class Published:
    """One product's round: what was queued, what was sent, or why it stopped."""

    product: str
    queued: Queued | None
    flushed: Flushed | None
    error: str | None = None


class HubLostTrack(HubError):
    """The hub kept losing the product's state within one flush."""


class DataPublisher:
    def __init__(
        self,
        *,
        client: HubClient,
        sessionmaker: async_sessionmaker[AsyncSession],
        products: Mapping[str, DataProduct],
        context: Callable[[], ProducerContext],
        chunk_rows: int = CHUNK_ROWS,
    ) -> None:
        self.client = client
        self.sessionmaker = sessionmaker
        self.products = dict(products)
        self.context = context
        self.chunk_rows = chunk_rows
        self._defined: dict[str, str] = {}
        """Product -> digest of the definition this process last PUT at the hub."""

    async def prepare(self, product: DataProduct) -> Queued:
        async with session_scope(self.sessionmaker) as session:
            return await outbox.prepare(
                session, product, self.context(), chunk_rows=self.chunk_rows
            )

    async def flush(self, product: DataProduct) -> Flushed:
        """Send what waits; raises `HubError` when the hub cannot be reached or refuses, with
        the batches not acknowledged kept for the next flush."""
        flushed = Flushed(product=product.key)
        redefined = False
        definition = await self._definition(product)
        declared = outbox.digest(definition)
        while True:
            if self._defined.get(product.key) != declared:
                await self._define(product, definition, flushed)
            async with self.sessionmaker() as session:
                batch = await OutboxRepository(session).first_pending(product.key)
            if batch is None:
                return flushed
            try:
                answer = await self.client.push_batch(product.key, outbox.wire(batch))
            except HubError as exc:
                if exc.code == "data_product_not_found" and not redefined:
                    log.warning("hub_forgot_data_product", product=product.key)
                    self._defined.pop(product.key, None)
                    redefined = True
                    continue
                if exc.code == "sync_gap" and exc.expected is not None:
                    log.warning(
                        "data_product_sync_gap",
                        product=product.key,
                        sent=batch.seq,
                        expected=exc.expected,
                    )
                    await self._start_over(product, flushed, exc.expected)
                    continue
                raise
            async with session_scope(self.sessionmaker) as session:
                await OutboxRepository(session).acknowledge(product.key, batch.seq)
            flushed.hub_seq = int(answer.get("seq", batch.seq))
            flushed.sent.append(
                Sent(
                    seq=batch.seq,
                    kind=batch.kind,
                    rows=outbox.batch_rows(batch),
                    applied=bool(answer.get("applied", True)),
                )
            )

    async def publish(self) -> list[Published]:
        """One round over every product; one product's failure does not stop the others."""
        results = []
        for product in self.products.values():
            queued: Queued | None = None
            try:
                queued = await self.prepare(product)
                flushed = await self.flush(product)
            except HubError as exc:
                log.warning(
                    "data_product_publish_failed",
                    product=product.key,
                    error=str(exc),
                    retryable=exc.retryable,
                )
                results.append(Published(product.key, queued, None, str(exc)))
                continue
            except Exception as exc:  # a database hiccup: the next round tries again
                log.exception("data_product_publish_failed", product=product.key)
                results.append(Published(product.key, queued, None, f"{type(exc).__name__}: {exc}"))
                continue
            if flushed.sent:
                log.info(
                    "data_product_published",
                    product=product.key,
                    batches=len(flushed.sent),
                    rows=sum(sent.rows for sent in flushed.sent),
                    hub_seq=flushed.hub_seq,
                )
            results.append(Published(product.key, queued, flushed))
        return results

    async def run(self, link: HubLink, interval_s: float) -> None:
        """Publish every `interval_s` while the hub link is online (the node's background task)."""
        while True:
            if link.status.state is not LinkState.ONLINE:
                await asyncio.sleep(min(LINK_POLL_S, interval_s))
                continue
            await self.publish()
            await asyncio.sleep(interval_s)

    async def _definition(self, product: DataProduct) -> dict[str, Any]:
        context = self.context()
        async with self.sessionmaker() as session:
            rows = await product.rows(session, context) if product.public_sample else []
        return product.definition(context, rows)

    async def _define(
        self, product: DataProduct, definition: dict[str, Any], flushed: Flushed
    ) -> None:
        answer = await self.client.put_data_product(product.key, definition)
        self._defined[product.key] = outbox.digest(definition)
        hub_seq = int((answer.get("sync") or {}).get("seq") or 0)
        flushed.hub_seq = hub_seq
        async with self.sessionmaker() as session:
            lost = await outbox.hub_lost_track(session, product.key, hub_seq)
        if lost:
            log.warning("hub_lost_data_product_state", product=product.key, hub_seq=hub_seq)
            await self._start_over(product, flushed, hub_seq + 1)

    async def _start_over(self, product: DataProduct, flushed: Flushed, next_seq: int) -> None:
        if flushed.started_over >= MAX_START_OVERS:
            raise HubLostTrack(
                f"the hub lost track of {product.key} {flushed.started_over + 1} times in a row",
                retryable=True,
                code="sync_gap",
            )
        flushed.started_over += 1
        async with session_scope(self.sessionmaker) as session:
            await outbox.start_over(session, product.key, next_seq=next_seq)
            await outbox.prepare(session, product, self.context(), chunk_rows=self.chunk_rows)
