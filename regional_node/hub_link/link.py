"""Keeps a node registered with its hub.

Register (idempotent), then heartbeat. A hub that is down, slow or restarting is retried with
capped exponential backoff and jitter, and the state is reported (readiness body, GraphQL, logs);
the node keeps serving its factories meanwhile. A hub that forgot the node (a fresh hub database)
answers `node_not_registered`, and the node registers again. On shutdown the node says so, and
the hub shows it offline at once instead of after its offline window.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import random
from contextlib import suppress
from dataclasses import dataclass, replace

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from regional_node.hub_link.auth import HubKeys
from regional_node.hub_link.client import HubClient, HubError, Registration
from regional_node.identity.service import mark_registered
from yunfab.db import session_scope, utcnow
from yunfab.events import Broadcaster
from yunfab.revocations import RevocationSet

log = structlog.get_logger(__name__)

STOP_NOTICE_TIMEOUT_S = 2.0
LOOKBACK = 100
JWKS_MAX_AGE_S = 60.0


class LinkState(enum.StrEnum):
    CONNECTING = "connecting"
    ONLINE = "online"
    RETRYING = "retrying"
    STOPPED = "stopped"


@dataclass(frozen=True)
class LinkStatus:
    state: LinkState
    hub_url: str
    attempts: int = 0
    """Consecutive failed attempts; 0 while the link is healthy."""
    last_error: str | None = None
    last_heartbeat_at: dt.datetime | None = None
    registered_at: dt.datetime | None = None
    next_attempt_at: dt.datetime | None = None


@dataclass(frozen=True)
class Backoff:
    initial_s: float
    max_s: float

    def delay(self, attempt: int) -> float:
        """Full jitter over a capped exponential: many nodes do not retry in step."""
        # The exponent stops growing once the cap is reached: 2 ** 1024 is beyond a float, and
        # a node left without its hub for long counts that many attempts (a day at 60 s).
        ceiling = min(self.max_s, self.initial_s * 2.0 ** min(max(attempt - 1, 0), 64))
        return random.uniform(ceiling / 2, ceiling)


class HubLink:
    def __init__(
        self,
        *,
        client: HubClient,
        registration: Registration,
        heartbeat_interval_s: float,
        backoff: Backoff,
        sessionmaker: async_sessionmaker[AsyncSession],
        revocations: RevocationSet | None = None,
        keys: HubKeys | None = None,
    ) -> None:
        self.revocations = revocations
        self.keys = keys
        self.client = client
        self.registration = registration
        self.heartbeat_interval_s = heartbeat_interval_s
        self.backoff = backoff
        self.sessionmaker = sessionmaker
        self.changes: Broadcaster[LinkStatus] = Broadcaster()
        self.status = LinkStatus(state=LinkState.CONNECTING, hub_url=client.hub_url)
        self._task: asyncio.Task[None] | None = None

    async def _sync_revocations(self) -> None:
        """Bring the node's deny-list up to date: revocations reach it within one heartbeat."""
        assert self.revocations is not None
        # Look back a little: sequence numbers are taken at insert but commits land in any
        # order, so an entry below the last one seen may appear later. Re-adding is harmless.
        feed = await self.client.revocations(after=max(0, self.revocations.last_seq - LOOKBACK))
        for entry in feed["revocations"]:
            self.revocations.add(entry["jti"], entry["exp"], seq=entry["seq"])
        self.revocations.prune()
        if self.keys is not None:
            # Keys retired at the hub (rotated out, or compromised) stop verifying here too.
            await self.keys.refresh(max_age_s=JWKS_MAX_AGE_S)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="hub-link")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        if self.status.state is LinkState.ONLINE:
            try:
                async with asyncio.timeout(STOP_NOTICE_TIMEOUT_S):
                    await self.client.heartbeat(self.registration.name, stopping=True)
            except (HubError, TimeoutError) as exc:
                log.warning("hub_stop_notice_failed", error=str(exc))
        self._set(replace(self.status, state=LinkState.STOPPED, next_attempt_at=None))
        await self.client.close()

    def _set(self, status: LinkStatus) -> None:
        changed = (
            status.state is not self.status.state or status.last_error != self.status.last_error
        )
        self.status = status
        if changed:
            self.changes.publish(status)

    async def _run(self) -> None:
        registered = False
        interval = self.heartbeat_interval_s
        while True:
            try:
                if not registered:
                    answer = await self.client.register(self.registration)
                    registered = True
                    hint = float(answer.get("heartbeat_interval_s") or interval)
                    interval = min(self.heartbeat_interval_s, hint)
                    now = utcnow()
                    async with session_scope(self.sessionmaker) as session:
                        await mark_registered(session, at=now)
                    log.info("hub_registered", hub=self.client.hub_url, heartbeat_every_s=interval)
                    if self.keys is not None:
                        await self.keys.refresh(force=True)
                    self._set(
                        replace(
                            self.status,
                            state=LinkState.ONLINE,
                            attempts=0,
                            last_error=None,
                            registered_at=now,
                            last_heartbeat_at=now,
                            next_attempt_at=None,
                        )
                    )
                else:
                    await self.client.heartbeat(self.registration.name)
                    self._set(
                        replace(
                            self.status,
                            state=LinkState.ONLINE,
                            attempts=0,
                            last_error=None,
                            last_heartbeat_at=utcnow(),
                            next_attempt_at=None,
                        )
                    )
                if self.revocations is not None:
                    await self._sync_revocations()
                await asyncio.sleep(interval)
            except HubError as exc:
                if exc.code == "node_not_registered":
                    log.warning("hub_forgot_node", hub=self.client.hub_url)
                    registered = False
                    continue
                registered = registered and exc.retryable
                attempts = self.status.attempts + 1
                delay = self.backoff.delay(attempts)
                log.warning(
                    "hub_unreachable" if exc.retryable else "hub_refused",
                    hub=self.client.hub_url,
                    error=str(exc),
                    attempt=attempts,
                    retry_in_s=round(delay, 2),
                )
                self._set(
                    replace(
                        self.status,
                        state=LinkState.RETRYING,
                        attempts=attempts,
                        last_error=str(exc),
                        next_attempt_at=utcnow() + dt.timedelta(seconds=delay),
                    )
                )
                await asyncio.sleep(delay)
            except Exception as exc:  # a database hiccup must not end the link for good
                log.exception("hub_link_failed")
                attempts = self.status.attempts + 1
                self._set(
                    replace(
                        self.status,
                        state=LinkState.RETRYING,
                        attempts=attempts,
                        last_error=f"{type(exc).__name__}: {exc}",
                    )
                )
                await asyncio.sleep(self.backoff.delay(attempts))
