"""Training as a job: the request returns at once with the job, `job(id:)` tells how it goes.
Embedded, the API process runs it; scaled out, `yunfab node worker` processes on PostgreSQL,
NATS and SeaweedFS do, and a worker killed (SIGKILL) mid-training leaves the job to the other,
which finishes it with exactly one model version (issue #22)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from regional_node.state import node_state
from tests.conftest import HubFactory, NodeFactory
from tests.nodes import operator_headers
from tests.seaweed import SeaweedS3, seaweed_s3
from tests.support import (
    InProcessService,
    bearer,
    client_token,
    create_client,
    eventually,
    forget_nats,
    skip_or_fail,
)
from tests.test_event_bus import NATS_URL, nats_up
from tests.test_vision_api import BRACKET, MODELS, SIZE, b64, factory_staff
from yunfab.processes import yunfab_argv
from yunfab_demo.synthetic import generate

__all__ = ["seaweed_s3"]  # the fixture, used by name

NODE_URL = "http://zj-textile.test"
START = """
mutation($input: TrainVisionModelInput!, $key: String) {
  startVisionTraining(input: $input, key: $key) { id kind key status attempts }
}
"""
JOB = """
query($id: UUID!) {
  job(id: $id) { id kind status attempts result error createdAt startedAt finishedAt }
}
"""


def training_input(factory_id: str, images: int) -> dict[str, Any]:
    good = [s.image for s in generate(BRACKET, good=images, size=SIZE, seed=0)]
    return {"factoryId": factory_id, "sku": "bracket", "good": [b64(image) for image in good]}


async def job_of(node: InProcessService, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    job: dict[str, Any] = (await node.graphql(JOB, {"id": job_id}, headers=headers))["job"]
    return job


async def finished(
    node: InProcessService, job_id: str, headers: dict[str, str], timeout_s: float = 120
) -> dict[str, Any]:
    async def done() -> bool:
        return (await job_of(node, job_id, headers))["status"] in {"succeeded", "failed"}

    await eventually(done, timeout_s=timeout_s, every_s=0.3)
    return await job_of(node, job_id, headers)


async def test_training_as_a_job_on_an_embedded_node(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator = await operator_headers(hub, NODE_URL)
        staff, factory = await factory_staff(hub, node, operator, "Ningbo Brackets")
        other, _ = await factory_staff(hub, node, operator, "Cixi Castings")
        started = (
            await node.graphql(
                START,
                {"input": training_input(factory["id"], 8), "key": "bracket-1"},
                headers=staff,
            )
        )["startVisionTraining"]
        assert (started["kind"], started["key"]) == ("vision.train", "bracket-1")
        assert started["status"] in {"queued", "running", "succeeded"}
        # Asked again with the same key: the same job, nothing queued twice.
        again = (
            await node.graphql(
                START,
                {"input": training_input(factory["id"], 8), "key": "bracket-1"},
                headers=staff,
            )
        )["startVisionTraining"]
        assert again["id"] == started["id"]

        job = await finished(node, started["id"], staff)
        assert job["status"] == "succeeded", job
        assert job["attempts"] == 1
        assert (job["result"]["sku"], job["result"]["number"]) == ("bracket", 1)
        models = (await node.graphql(MODELS, {"f": factory["id"]}, headers=staff))["visionModels"]
        assert [(m["sku"], m["number"]) for m in models] == [("bracket", 1)]
        # The node operator sees it too; another factory's people do not even learn it exists.
        assert (await job_of(node, started["id"], operator))["status"] == "succeeded"
        hidden = await node.graphql(JOB, {"id": started["id"]}, headers=other, expect_errors=True)
        assert hidden["errors"][0]["extensions"]["code"] == "JOB_NOT_FOUND"


async def test_a_job_refused_for_bad_input_stores_nothing(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator = await operator_headers(hub, NODE_URL)
        staff, factory = await factory_staff(hub, node, operator, "Ningbo Brackets")
        _, elsewhere = await factory_staff(hub, node, operator, "Cixi Castings")
        cases: list[tuple[dict[str, Any], str]] = [
            ({"input": {**training_input(factory["id"], 2), "sku": "no spaces"}}, "INVALID_INPUT"),
            ({"input": training_input(factory["id"], 2), "key": "x" * 200}, "INVALID_INPUT"),
            ({"input": training_input(elsewhere["id"], 2)}, "FACTORY_NOT_FOUND"),
        ]
        for variables, code in cases:
            refused = await node.graphql(START, variables, headers=staff, expect_errors=True)
            assert refused["errors"][0]["extensions"]["code"] == code, refused
        vision = node_state(node.app).settings.data_dir / "vision"
        assert not list(vision.rglob("jobs"))


# -- scaled out: two worker processes ---------------------------------------------------------


async def operator_of(hub: InProcessService, name: str) -> dict[str, str]:
    """A token of the operator client of node `name` (at NODE_URL), once it has registered."""
    client_id, secret = await create_client(
        hub, org=f"{name} operator", org_kind="node_operator", scopes=["nodes:register"],
        kind="node", node=name, region="CN-ZJ",
    )  # fmt: skip
    data = {"grant_type": "client_credentials", "scope": "nodes:register", "resource": NODE_URL}

    async def registered() -> bool:
        response = await hub.client.post("/oauth/token", data=data, auth=(client_id, secret or ""))
        return response.status_code == 200

    await eventually(registered, timeout_s=20)
    return bearer(await client_token(hub, client_id, secret, "nodes:register", NODE_URL))


class Worker:
    def __init__(self, name: str, env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                yunfab_argv("node", "worker"),
                env={**os.environ, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_started(self) -> None:
        deadline = time.monotonic() + 60
        while "worker_started" not in self.log.read_text(errors="replace"):
            assert self.process.poll() is None, self.log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, self.log.read_text(errors="replace")[-3000:]
            time.sleep(0.1)

    def has_started_a_job(self) -> bool:
        return "job_started" in self.log.read_text(errors="replace")

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


async def drop_streams(node: str) -> None:
    """The test node's streams and buckets, gone once the test is over."""
    await forget_nats(f"node-{node}")


@pytest.fixture
async def scaled(seaweed_s3: SeaweedS3) -> AsyncIterator[dict[str, Any]]:
    if not nats_up():
        skip_or_fail("NATS is not reachable at 127.0.0.1:4222")
    node = f"jobs-{uuid.uuid4().hex[:8]}"  # a stream and queue of its own
    yield {
        "name": node,
        "nats_url": NATS_URL,
        "jobs_ack_wait_s": 4,
        "blob_store": "s3",
        "s3_bucket": "yunfab-tests",
        "s3_prefix": node,
        "s3_endpoint_url": seaweed_s3.endpoint_url,
        "s3_access_key_id": seaweed_s3.access_key_id,
        "s3_secret_access_key": seaweed_s3.secret_access_key,
    }
    await drop_streams(node)


@pytest.mark.slow
async def test_a_worker_killed_mid_training_leaves_the_job_to_the_other(
    hub_factory: HubFactory,
    node_factory: NodeFactory,
    node_db_url: str,
    scaled: dict[str, Any],
    tmp_path: Path,
) -> None:
    async with (
        hub_factory() as hub,
        node_factory(hub=hub, data_dir=tmp_path / "api", **scaled) as node,
    ):
        env = {
            f"YUNFAB_NODE_{key.upper()}": str(value)
            for key, value in {
                **scaled,
                "env": "development",
                "region": "CN-ZJ",
                "industry": "textile",
                "database_url": node_db_url,
                "vision_threads": 1,
                "log_format": "json",
            }.items()
        }
        workers = [
            Worker(
                name,
                {**env, "YUNFAB_NODE_DATA_DIR": str(tmp_path / name)},
                tmp_path / f"{name}.log",
            )
            for name in ("w1", "w2")
        ]
        try:
            for worker in workers:
                worker.wait_started()
            operator = await operator_of(hub, scaled["name"])
            staff, factory = await factory_staff(hub, node, operator, "Ningbo Brackets")
            started = (
                await node.graphql(
                    START, {"input": training_input(factory["id"], 40)}, headers=staff
                )
            )["startVisionTraining"]

            async def running() -> bool:
                return any(worker.has_started_a_job() for worker in workers)

            await eventually(running, timeout_s=60, every_s=0.05)
            first = next(worker for worker in workers if worker.has_started_a_job())
            first.process.send_signal(signal.SIGKILL)  # mid-training: no goodbye, no ack
            first.process.wait(10)
            assert (await job_of(node, started["id"], staff))["status"] == "running"

            job = await finished(node, started["id"], staff, timeout_s=180)
            assert job["status"] == "succeeded", job
            assert job["attempts"] == 2, job  # the killed run, then the other worker's
            other = next(worker for worker in workers if worker is not first)
            assert other.has_started_a_job()
            await asyncio.sleep(1)
            models = (await node.graphql(MODELS, {"f": factory["id"]}, headers=staff))[
                "visionModels"
            ]
            assert [(m["sku"], m["number"]) for m in models] == [("bracket", 1)]
        finally:
            for worker in workers:
                worker.stop()


@pytest.mark.slow
async def test_a_job_whose_queue_message_was_lost_is_queued_again_and_runs_once(
    hub_factory: HubFactory,
    node_factory: NodeFactory,
    node_db_url: str,
    scaled: dict[str, Any],
    tmp_path: Path,
) -> None:
    """The work queue loses a queued job's message (here purged by hand, as a stream on a lost
    single NATS server would be): the node publishes the job again, and a worker runs it."""
    import nats

    async with (
        hub_factory() as hub,
        node_factory(hub=hub, data_dir=tmp_path / "api", **scaled) as node,
    ):
        operator = await operator_of(hub, scaled["name"])
        staff, factory = await factory_staff(hub, node, operator, "Ningbo Brackets")
        started = (
            await node.graphql(START, {"input": training_input(factory["id"], 12)}, headers=staff)
        )["startVisionTraining"]
        nc = await nats.connect(NATS_URL)
        try:
            await nc.jetstream().purge_stream(f"YUNFAB_JOBS_node-{scaled['name']}")
        finally:
            await nc.close()
        env = {
            f"YUNFAB_NODE_{key.upper()}": str(value)
            for key, value in {
                **scaled,
                "env": "development",
                "region": "CN-ZJ",
                "industry": "textile",
                "database_url": node_db_url,
                "data_dir": tmp_path / "w1",
                "vision_threads": 1,
            }.items()
        }
        worker = Worker("w1", env, tmp_path / "w1.log")
        try:
            worker.wait_started()
            job = await finished(node, started["id"], staff, timeout_s=180)
            assert job["status"] == "succeeded", job
            assert job["attempts"] == 1, job
            models = (await node.graphql(MODELS, {"f": factory["id"]}, headers=staff))[
                "visionModels"
            ]
            assert [(m["sku"], m["number"]) for m in models] == [("bracket", 1)]
        finally:
            worker.stop()


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("worker", "nats_url: a worker takes jobs from the node's NATS (YUNFAB_NODE_NATS_URL)"),
        ("ingest", "mqtt_url: an ingest process needs the broker's URL (YUNFAB_NODE_MQTT_URL)"),
    ],
)
def test_a_node_process_without_its_engine_says_which_setting(
    command: str, says: str, tmp_path: Path
) -> None:
    env = {**os.environ, "YUNFAB_NODE_ENV": "development"}
    for key in ("YUNFAB_NODE_NATS_URL", "YUNFAB_NODE_MQTT_URL"):
        env.pop(key, None)
    where = ["--data-dir", str(tmp_path)]
    upgraded = subprocess.run(
        yunfab_argv("db", "upgrade", "node", *where), env=env, capture_output=True, text=True
    )
    assert upgraded.returncode == 0, upgraded.stderr
    node = ["--name", "zj-textile", "--region", "CN-ZJ", "--industry", "textile"]
    run = subprocess.run(
        yunfab_argv("node", command, *node, *where),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0
    assert run.stderr.strip().splitlines()[-1] == f"yunfab: {says}"
    assert "Traceback" not in run.stderr
