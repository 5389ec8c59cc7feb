"""Federated runs as the hub's jobs: `startFederatedRun` returns at once with the run and its
job, `job(id:)` tells how the job goes. Embedded, a task of the API process drives the run;
scaled out, `yunfab hub worker` processes on PostgreSQL and NATS do: a worker killed (SIGKILL)
while it follows a run leaves the job to the other, which follows the same Flower run to its
model instead of starting another (issue #22)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import HubFactory
from tests.support import (
    InProcessService,
    bearer,
    eventually,
    forget_nats,
    served,
    skip_or_fail,
    subscribed,
    token_for,
)
from tests.test_event_bus import NATS_URL, nats_up
from tests.test_federated_flower import Federation, federation, stores
from yunfab.processes import free_port, yunfab_argv

__all__ = ["federation", "stores"]  # the fixtures, used by name

START = """
mutation($input: FederatedRunInput!) {
  startFederatedRun(input: $input) { id status jobId flowerRunId }
}
"""
RUN = """
query($id: UUID!) {
  federatedRun(id: $id) { status error flowerRunId jobId model { name version } }
}
"""
JOB = """
query($id: UUID!) {
  job(id: $id) { id kind key status attempts worker result error startedAt finishedAt }
}
"""


async def job_of(hub: InProcessService, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    job: dict[str, Any] = (await hub.graphql(JOB, {"id": job_id}, headers=headers))["job"]
    return job


async def finished(
    hub: InProcessService, job_id: str, headers: dict[str, str], timeout_s: float
) -> dict[str, Any]:
    async def done() -> bool:
        return (await job_of(hub, job_id, headers))["status"] in {"succeeded", "failed"}

    await eventually(done, timeout_s=timeout_s, every_s=0.5)
    return await job_of(hub, job_id, headers)


async def operator_of(hub: InProcessService) -> dict[str, str]:
    return bearer(
        await token_for(hub, org="Hub Ops", org_kind="hub_operator", scopes=["federated:run"])
    )


async def test_a_run_is_a_job_the_embedded_hub_runs_and_only_run_readers_see(
    hub_factory: HubFactory,
) -> None:
    # Nothing listens at the SuperLink's address: the job ends, failed, with Flower's reason.
    async with hub_factory(flower_superlink="127.0.0.1:9") as hub:
        operator = await operator_of(hub)
        started = (await hub.graphql(START, {"input": {"rounds": 2}}, headers=operator))[
            "startFederatedRun"
        ]
        assert started["status"] == "STARTING"
        assert started["jobId"] is not None
        # Followed live: the job as it is, then each change of it until it is done; hidden
        # from who may not read runs.
        live = f'subscription {{ jobProgress(id: "{started["jobId"]}") {{ status attempts }} }}'
        seen: list[dict[str, Any]] = []
        async with served(hub.app, free_port(), lifespan="off") as url:
            async with subscribed(url, live, operator["authorization"][7:]) as ws:
                while (message := json.loads(await asyncio.wait_for(ws.recv(), 120)))[
                    "type"
                ] == "next":
                    seen.append(message["payload"]["data"]["jobProgress"])
            assert message["type"] == "complete", message
            buyer_token = await token_for(
                hub, org="Buyer", org_kind="consumer", scopes=["orders:write"]
            )
            async with subscribed(url, live, buyer_token) as ws:
                refused = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert refused["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN", refused
        assert seen[-1] == {"status": "failed", "attempts": 1}
        assert {one["status"] for one in seen} <= {"queued", "running", "failed"}

        job = await finished(hub, started["jobId"], operator, timeout_s=120)
        assert (job["kind"], job["key"], job["status"]) == (
            "federated.run",
            started["id"],
            "failed",
        )
        assert job["attempts"] == 1
        assert job["worker"].endswith(f":{os.getpid()}")  # the API process itself ran it
        run = (await hub.graphql(RUN, {"id": started["id"]}, headers=operator))["federatedRun"]
        assert run["status"] == "FAILED"
        assert run["jobId"] == started["jobId"]
        assert job["error"] == run["error"]

        buyer = bearer(buyer_token)
        hidden = await hub.graphql(JOB, {"id": job["id"]}, headers=buyer, expect_errors=True)
        assert hidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        missing = await hub.graphql(
            JOB, {"id": str(uuid.uuid4())}, headers=operator, expect_errors=True
        )
        assert missing["errors"][0]["extensions"]["code"] == "JOB_NOT_FOUND"


def test_a_hub_worker_needs_the_hub_s_nats(tmp_path: Path) -> None:
    done = subprocess.run(
        yunfab_argv("hub", "worker", "--data-dir", str(tmp_path)),
        capture_output=True,
        text=True,
        env={**os.environ, "YUNFAB_HUB_ENV": "development", "YUNFAB_HUB_NATS_URL": ""},
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "YUNFAB_HUB_NATS_URL" in done.stderr


# -- scaled out: two worker processes ---------------------------------------------------------


class Worker:
    """One `yunfab hub worker` process."""

    def __init__(self, name: str, env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                yunfab_argv("hub", "worker"),
                env={**os.environ, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_started(self) -> None:
        deadline = time.monotonic() + 60
        while "worker_started" not in self.text:
            assert self.process.poll() is None, self.text[-3000:]
            assert time.monotonic() < deadline, self.text[-3000:]
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@pytest.fixture
def backend() -> str:
    return "postgresql"


@pytest.mark.slow
@pytest.mark.timeout(480)
async def test_a_worker_killed_while_it_follows_a_run_leaves_it_to_the_other(
    federation: Federation,
    stores: dict[str, Path],
    hub_factory: HubFactory,
    hub_db_url: str,
    tmp_path: Path,
) -> None:
    if not nats_up():
        skip_or_fail("NATS is not reachable at 127.0.0.1:4222")
    federation.start_superlink()
    for name, store in stores.items():
        federation.start_node(name, {"data-path": str(store)})
    scope = f"jobs-{uuid.uuid4().hex[:8]}"  # a stream and queue of its own
    settings = {
        "nats_url": NATS_URL,
        "nats_scope": scope,
        "jobs_ack_wait_s": 4,
        "flower_superlink": federation.connection.address,
        "federated_poll_interval_s": 0.5,
    }
    env = {
        f"YUNFAB_HUB_{key.upper()}": str(value)
        for key, value in {
            **settings,
            "env": "development",
            "database_url": hub_db_url,
            "data_dir": tmp_path / "hub",  # shared with the API, as a volume is
            "public_url": "http://hub.test",
            "log_format": "json",
        }.items()
    }
    workers: list[Worker] = []
    try:
        async with hub_factory(**settings) as hub:
            operator = await operator_of(hub)
            started = (
                await hub.graphql(
                    START,
                    {"input": {"rounds": 2, "minNodes": 2, "localEpochs": 10,
                               "roundTimeoutS": 60.0}},
                    headers=operator,
                )
            )["startFederatedRun"]  # fmt: skip
            # Queued on NATS: the API process does not run it.
            assert (await job_of(hub, started["jobId"], operator))["status"] == "queued"
            workers = [Worker(name, env, tmp_path / f"{name}.log") for name in ("w1", "w2")]
            for worker in workers:
                worker.wait_started()

            flower: list[str] = []

            async def at_the_superlink() -> bool:
                run = await hub.graphql(RUN, {"id": started["id"]}, headers=operator)
                flower[:] = (
                    [run["federatedRun"]["flowerRunId"]]
                    if run["federatedRun"]["flowerRunId"]
                    else []
                )
                return bool(flower)

            await eventually(at_the_superlink, timeout_s=90, every_s=0.2)
            first = await job_of(hub, started["jobId"], operator)
            (holder,) = [w for w in workers if first["worker"].endswith(f":{w.process.pid}")]
            (other,) = [w for w in workers if w is not holder]
            holder.process.send_signal(signal.SIGKILL)  # no goodbye: the job is not acknowledged
            holder.process.wait(10)

            job = await finished(hub, started["jobId"], operator, timeout_s=200)
            run = (await hub.graphql(RUN, {"id": started["id"]}, headers=operator))["federatedRun"]
            assert job["status"] == "succeeded", (job, other.text[-3000:])
            assert job["attempts"] == 2
            assert job["worker"].endswith(f":{other.process.pid}")
            assert run["status"] == "FINISHED", run
            # The other worker followed the Flower run the first had started.
            assert run["flowerRunId"] == flower[0]
            assert job["result"]["runId"] == started["id"]
            assert run["model"] == {"name": "defect-detector", "version": 1}
            assert "federated_run_started" not in other.text
    finally:
        for worker in workers:
            worker.stop()
        await forget_nats(scope)


@pytest.mark.slow
async def test_a_run_whose_queue_message_was_lost_is_queued_again_and_runs_once(
    hub_factory: HubFactory, hub_db_url: str, tmp_path: Path
) -> None:
    """The work queue loses a queued job's message (here purged by hand, as a stream on a lost
    single NATS server would be): the hub publishes the job again, and a worker runs it."""
    import nats

    if not nats_up():
        skip_or_fail("NATS is not reachable at 127.0.0.1:4222")
    scope = f"jobs-{uuid.uuid4().hex[:8]}"  # a stream and queue of its own
    # Nothing listens at the SuperLink's address: a run that is driven fails at once.
    settings = {"nats_url": NATS_URL, "nats_scope": scope, "jobs_ack_wait_s": 4,
                "flower_superlink": "127.0.0.1:9"}  # fmt: skip
    env = {
        f"YUNFAB_HUB_{key.upper()}": str(value)
        for key, value in {
            **settings,
            "env": "development",
            "database_url": hub_db_url,
            "data_dir": tmp_path / "hub",
            "public_url": "http://hub.test",
        }.items()
    }
    worker: Worker | None = None
    try:
        async with hub_factory(**settings) as hub:
            operator = await operator_of(hub)
            started = (await hub.graphql(START, {"input": {"rounds": 2}}, headers=operator))[
                "startFederatedRun"
            ]
            nc = await nats.connect(NATS_URL)
            try:
                await nc.jetstream().purge_stream(f"YUNFAB_JOBS_{scope}")
            finally:
                await nc.close()
            worker = Worker("w1", env, tmp_path / "w1.log")
            worker.wait_started()
            job = await finished(hub, started["jobId"], operator, timeout_s=120)
            # Run, once, by the worker: its message was published again.
            assert job["status"] == "failed", (job, worker.text[-3000:])
            assert job["attempts"] == 1
            assert job["worker"].endswith(f":{worker.process.pid}")
            run = (await hub.graphql(RUN, {"id": started["id"]}, headers=operator))["federatedRun"]
            assert run["status"] == "FAILED"
    finally:
        if worker is not None:
            worker.stop()
        await forget_nats(scope)
