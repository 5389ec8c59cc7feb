"""Durable queues of long work (model training, re-planning, ...), run by worker processes.

A job's state lives in the service's database (its row: who asked, what, status, result); the
queue only says which job to run next. Two queues behind one interface:

- `InProcessJobs` (the embedded default): an asyncio queue worked by a task of the API process
  itself; jobs left queued or running by a process that died are queued again when it starts.
- `NatsJobs`: a JetStream work-queue stream and one durable pull consumer shared by every
  worker process (`yunfab node worker`). A message is acknowledged only when its job is done; a
  worker that is busy tells the server so every third of `ack_wait_s`; a worker that dies
  (SIGKILL, a lost pod) stops telling it, and after `ack_wait_s` the job goes to another worker.
  Redelivery means a job may start twice: the handler makes it count once (the job row decides,
  under a row lock, whose result is kept).

A handler raising `JobFailed` ends its job for good (bad input, refused); any other exception
is retried after a pause, up to `max_deliver` runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
import structlog

log = structlog.get_logger(__name__)


WORKERS = "workers"
"""The durable pull consumer every worker process of a scope shares."""


class JobFailed(Exception):
    """The job cannot succeed by trying again (its reason is kept on the job)."""


@dataclass(frozen=True)
class JobTicket:
    job_id: uuid.UUID
    kind: str
    attempt: int = 1
    """1 for the first delivery; more when the job came back (a worker died, a retry)."""


Handler = Callable[[JobTicket], Awaitable[None]]


class InProcessJobs:
    """Jobs worked by a task of this process, one at a time; a run that fails unexpectedly is
    tried again after `retry_delay_s` x its attempt (the handler ends a job for good by raising
    `JobFailed`, as it does once its attempts are used up)."""

    def __init__(self, *, retry_delay_s: float = 5.0) -> None:
        self._queue: asyncio.Queue[JobTicket] = asyncio.Queue()
        self.retry_delay_s = retry_delay_s

    async def submit(self, job_id: uuid.UUID, kind: str) -> None:
        self._queue.put_nowait(JobTicket(job_id, kind))

    async def work(self, handler: Handler, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                ticket = await asyncio.wait_for(self._queue.get(), 0.5)
            except TimeoutError:
                continue
            try:
                await handler(ticket)
            except JobFailed:
                pass  # recorded on the job by the handler
            except Exception:
                log.exception("job_attempt_failed", job=str(ticket.job_id), kind=ticket.kind)
                again = JobTicket(ticket.job_id, ticket.kind, ticket.attempt + 1)
                asyncio.get_running_loop().call_later(
                    self.retry_delay_s * ticket.attempt, self._queue.put_nowait, again
                )

    async def close(self) -> None:
        return None


class NatsJobs:
    """Jobs in a JetStream work queue, taken by any worker process."""

    def __init__(
        self, nc: Any, js: Any, *, stream: str, subject: str, ack_wait_s: float, max_deliver: int
    ) -> None:
        self.nc = nc
        self.js = js
        self.stream = stream
        self.subject = subject
        self.ack_wait_s = ack_wait_s
        self.max_deliver = max_deliver

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        scope: str,
        ack_wait_s: float = 60.0,
        max_deliver: int = 5,
        replicas: int = 1,
    ) -> NatsJobs:
        """Connect and make sure the scope's work queue exists (`replicas`: at least that many
        copies in a NATS cluster, never fewer than an operator set)."""
        import nats
        from nats.js.api import RetentionPolicy, StorageType, StreamConfig

        from yunfab.event_bus import NatsEventBus, ensure_stream

        token = NatsEventBus.token(scope)
        nc = await nats.connect(
            url,
            connect_timeout=5,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            name=f"yunfab-jobs-{scope}",
        )
        js = nc.jetstream()
        stream, subject = f"YUNFAB_JOBS_{token}", f"yunfab.jobs.{token}"
        config = StreamConfig(
            name=stream,
            subjects=[subject],
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.FILE,
        )
        try:
            await ensure_stream(js, config, replicas=replicas)
        except BaseException:
            await nc.close()
            raise
        return cls(
            nc, js, stream=stream, subject=subject, ack_wait_s=ack_wait_s, max_deliver=max_deliver
        )

    async def submit(self, job_id: uuid.UUID, kind: str) -> None:
        """Queued once the server has stored it (a publish acknowledged by JetStream)."""
        body = orjson.dumps({"job_id": str(job_id), "kind": kind})
        await self.js.publish(self.subject, body, headers={"Nats-Msg-Id": str(job_id)})

    async def resubmit(self, job_id: uuid.UUID, kind: str) -> None:
        """Queue a job whose message was lost once more: a message id of its own, or the queue
        would drop it as a duplicate of the first publish for its duplicate window."""
        body = orjson.dumps({"job_id": str(job_id), "kind": kind})
        again = f"{job_id}/again/{uuid.uuid4().hex}"
        await self.js.publish(self.subject, body, headers={"Nats-Msg-Id": again})

    async def waiting(self) -> int:
        """Jobs in the work queue still to be run: queued, or taken and not yet acknowledged
        (a message past its last delivery is not counted). While none is, a job its table
        still holds as queued or running has lost its message (a publish that failed after the
        row was committed, a stream lost with its only server)."""
        from nats.js.errors import NotFoundError

        try:
            info = await self.js.consumer_info(self.stream, WORKERS)
        except NotFoundError:  # no worker has started yet: everything stored waits
            return int((await self.js.stream_info(self.stream)).state.messages)
        return int(info.num_pending) + int(info.num_ack_pending)

    async def work(self, handler: Handler, stop: asyncio.Event) -> None:
        from nats.errors import TimeoutError as NatsTimeout
        from nats.js.api import AckPolicy, ConsumerConfig

        subscription = await self.js.pull_subscribe(
            self.subject,
            durable=WORKERS,
            stream=self.stream,
            config=ConsumerConfig(
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=self.ack_wait_s,
                max_deliver=self.max_deliver,
                max_ack_pending=1000,
            ),
        )
        try:
            while not stop.is_set():
                try:
                    messages = await subscription.fetch(1, timeout=1)
                except NatsTimeout:
                    continue
                for message in messages:
                    await self._run(message, handler)
        finally:
            # A pull subscription left open holds `close`'s drain for its whole timeout (30 s).
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

    async def _run(self, message: Any, handler: Handler) -> None:
        try:
            body = orjson.loads(message.data)
            ticket = JobTicket(
                uuid.UUID(body["job_id"]), str(body["kind"]), message.metadata.num_delivered
            )
        except (orjson.JSONDecodeError, KeyError, ValueError, TypeError):
            log.warning("job_message_unreadable", data=message.data[:200])
            await message.term()
            return

        async def heartbeat() -> None:
            while True:
                await asyncio.sleep(self.ack_wait_s / 3)
                await message.in_progress()

        beating = asyncio.create_task(heartbeat())
        try:
            await handler(ticket)
        except JobFailed:
            await message.term()
        except Exception:
            log.exception("job_attempt_failed", job=str(ticket.job_id), attempt=ticket.attempt)
            await message.nak(delay=min(60.0, 5.0 * ticket.attempt))
        else:
            await message.ack()
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating

    async def close(self) -> None:
        try:
            await self.nc.drain()
        except Exception as exc:
            log.debug("nats_drain_failed", error=str(exc))
