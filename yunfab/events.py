"""In-process fan-out of domain events to GraphQL subscriptions.

Each subscriber gets a bounded queue; a subscriber too slow to keep up loses its oldest events
rather than holding memory or slowing publishers. Events are published after the transaction that
caused them commits (see `yunfab.db.after_commit`), so nobody hears of a change that rolled back.
One process only: several hub replicas would need a shared bus (NATS is the planned one).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

import structlog

log = structlog.get_logger(__name__)

E = TypeVar("E")


class Broadcaster(Generic[E]):
    def __init__(self, queue_size: int = 256) -> None:
        self._queue_size = queue_size
        self._subscribers: set[asyncio.Queue[E]] = set()

    @property
    def has_subscribers(self) -> bool:
        """Publishers with costly events may skip building them when nobody listens."""
        return bool(self._subscribers)

    def publish(self, event: E) -> None:
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()
                log.warning("subscriber_lagging", dropped=1)
            queue.put_nowait(event)

    async def subscribe(self) -> AsyncIterator[E]:
        """The events published from the first step of the iteration on."""
        async with self.listening() as events:
            async for event in events:
                yield event

    @asynccontextmanager
    async def listening(self) -> AsyncIterator[AsyncIterator[E]]:
        """Events published from entering on, held (bounded) until read: a subscription that
        first reads what is stored, then follows, misses nothing published in between."""
        queue: asyncio.Queue[E] = asyncio.Queue(self._queue_size)
        self._subscribers.add(queue)

        async def drain() -> AsyncIterator[E]:
            while True:
                yield await queue.get()

        try:
            yield drain()
        finally:
            self._subscribers.discard(queue)
