"""The delivery worker: sends what the outbox holds, retries with backoff, logs every attempt.

Runs in the node's lifespan. Several node processes may run it: a row is claimed by moving its
`next_attempt_at` past the attempt's time limit with a compare-and-set, so only one process sends
it at a time (and a process that stops mid-send leaves the row to be retried, not lost).
Delivery is at least once; receivers dedupe by the notification id in generic webhooks.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from regional_node.alerts.channels import Destination, Outcome, send
from regional_node.alerts.models import (
    AlertNotification,
    ContactPoint,
    DeliveryAttempt,
    NotificationStatus,
)
from regional_node.alerts.notifications import NotificationConfig
from regional_node.alerts.repository import AlertRepository
from yunfab.db import session_scope, utcnow

log = structlog.get_logger(__name__)

LEASE_MARGIN_S = 30.0


def destination(point: ContactPoint, config: NotificationConfig) -> Destination:
    """The contact point with its URL and secret opened (only here, to send)."""
    sealer = config.sealer()
    purpose = str(point.id)
    return Destination(
        kind=point.kind,
        url=sealer.open(point.url_sealed, purpose=f"{purpose}:url") if point.url_sealed else None,
        secret=sealer.open(point.secret_sealed, purpose=f"{purpose}:secret")
        if point.secret_sealed
        else None,
        recipients=list(point.recipients or []),
    )


def backoff_s(attempts: int, config: NotificationConfig) -> float:
    """Doubling from `retry_initial_s`, at most `retry_max_s`, with jitter (half to all of it) so
    notifications that failed together do not all come back together."""
    ceiling = min(config.retry_max_s, config.retry_initial_s * 2.0 ** min(attempts - 1, 64))
    return float(ceiling) * random.uniform(0.5, 1.0)


async def record_attempt(
    session: AsyncSession,
    notification: AlertNotification,
    outcome: Outcome,
    config: NotificationConfig,
) -> None:
    """The attempt in the delivery log, and what comes next: delivered, retry later, failed."""
    now = utcnow()
    notification.attempts += 1
    session.add(
        DeliveryAttempt(
            notification_id=notification.id,
            number=notification.attempts,
            at=now,
            ok=outcome.ok,
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
        )
    )
    if outcome.ok:
        notification.status = NotificationStatus.DELIVERED
        notification.delivered_at = now
        notification.last_error = None
    else:
        notification.last_error = outcome.error
        if notification.attempts >= config.max_attempts:
            notification.status = NotificationStatus.FAILED
        else:
            delay = backoff_s(notification.attempts, config)
            notification.next_attempt_at = now + dt.timedelta(seconds=delay)
    await session.flush()


class NotificationWorker:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        config: NotificationConfig,
        *,
        poll_s: float = 2.0,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.config = config
        self.poll_s = poll_s
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """New rows were committed: look now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as http:
            while True:
                try:
                    sent = await self.deliver_due(http)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("alert_delivery_failed")
                    sent = 0
                if sent:
                    continue
                # The idle time first: a wake-up wait made before a cancelled await of it
                # would never be awaited.
                idle_s = await self._idle_s()
                try:
                    await asyncio.wait_for(self._wake.wait(), idle_s)
                except TimeoutError:
                    pass
                self._wake.clear()

    async def _idle_s(self) -> float:
        """Until the next retry is due, at most `poll_s` (other processes may add rows)."""
        async with self.sessionmaker() as session:
            due = await AlertRepository(session).next_pending_at()
        if due is None:
            return self.poll_s
        return min(self.poll_s, max(0.01, (due - utcnow()).total_seconds()))

    async def deliver_due(self, http: httpx.AsyncClient) -> int:
        """Claim up to `concurrency` due rows and send them at once; how many were claimed."""
        claimed = await self._claim()
        await asyncio.gather(*(self._deliver(http, row_id) for row_id in claimed))
        return len(claimed)

    async def _claim(self) -> list[uuid.UUID]:
        now = utcnow()
        lease = now + dt.timedelta(seconds=self.config.channel.timeout_s + LEASE_MARGIN_S)
        async with session_scope(self.sessionmaker) as session:
            alerts = AlertRepository(session)
            due = await alerts.due_notifications(now, self.config.concurrency)
            claimed = []
            for row_id, due_at in due:
                if await alerts.claim_notification(row_id, due_at, lease):
                    claimed.append(row_id)
        return claimed

    async def _deliver(self, http: httpx.AsyncClient, row_id: uuid.UUID) -> None:
        async with self.sessionmaker() as session:
            row = await AlertRepository(session).notification_with_point(row_id)
        if row is None:
            return
        notification, point = row
        try:
            target = destination(point, self.config)
        except Exception as exc:  # a key that does not open the secret: logged per attempt
            outcome = Outcome(ok=False, status_code=None, error=str(exc)[:500], duration_ms=0)
        else:
            facts = {**notification.body, "notification_id": str(notification.id)}
            outcome = await send(target, facts, self.config.channel, http)
        async with session_scope(self.sessionmaker) as session:
            current = await AlertRepository(session).notification(row_id, lock=True)
            if current is None or current.status is not NotificationStatus.PENDING:
                return
            await record_attempt(session, current, outcome, self.config)
        log.info(
            "alert_notification_attempt",
            notification=str(row_id),
            kind=point.kind.value,
            ok=outcome.ok,
            status_code=outcome.status_code,
            error=outcome.error,
        )
