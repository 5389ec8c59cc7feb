"""The embedded job queue: jobs run in order, a run that fails unexpectedly is tried again, and
one that ends for good (`JobFailed`) is not (issue #22)."""

from __future__ import annotations

import asyncio
import uuid

from yunfab.jobs import InProcessJobs, JobFailed, JobTicket


async def test_an_unexpected_failure_is_retried_and_a_final_one_is_not() -> None:
    jobs = InProcessJobs(retry_delay_s=0.01)
    flaky, refused = uuid.uuid4(), uuid.uuid4()
    runs: list[tuple[uuid.UUID, int]] = []
    done = asyncio.Event()

    async def handler(ticket: JobTicket) -> None:
        runs.append((ticket.job_id, ticket.attempt))
        if ticket.job_id == refused:
            raise JobFailed("bad input")
        if ticket.attempt == 1:
            raise RuntimeError("the database went away")
        done.set()

    stop = asyncio.Event()
    worker = asyncio.create_task(jobs.work(handler, stop))
    await jobs.submit(refused, "test")
    await jobs.submit(flaky, "test")
    await asyncio.wait_for(done.wait(), 5)
    await asyncio.sleep(0.1)  # a refused job would have come back by now
    stop.set()
    await asyncio.wait_for(worker, 5)
    assert runs == [(refused, 1), (flaky, 1), (flaky, 2)]
