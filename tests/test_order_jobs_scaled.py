"""An order planned by a `yunfab node worker` process (issue #22): on a node scaled out
(PostgreSQL, NATS) `startOrderPlan` queues the job on the node's work queue and returns; the
worker, not the API process, runs the allocation model and stores the plan."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from tests.conftest import HubFactory, NodeFactory
from tests.support import skip_or_fail
from tests.test_event_bus import NATS_URL, nats_up
from tests.test_jobs import Worker, drop_streams, operator_of
from tests.test_order_jobs import START_PLAN, finished
from tests.test_orders import ORDER, PLACE, _order, _setup


@pytest.fixture
def backend() -> str:
    return "postgresql"


@pytest.mark.slow
async def test_a_worker_process_plans_an_order(
    hub_factory: HubFactory, node_factory: NodeFactory, node_db_url: str, tmp_path: Path
) -> None:
    if not nats_up():
        skip_or_fail("NATS is not reachable at 127.0.0.1:4222")
    name = f"jobs-{uuid.uuid4().hex[:8]}"  # a stream and queue of its own
    scaled = {"name": name, "nats_url": NATS_URL, "jobs_ack_wait_s": 4}
    env = {
        f"YUNFAB_NODE_{key.upper()}": str(value)
        for key, value in {
            **scaled,
            "env": "development",
            "region": "CN-ZJ",
            "industry": "textile",
            "database_url": node_db_url,
            "data_dir": tmp_path / "w1",
        }.items()
    }
    worker: Worker | None = None
    try:
        async with (
            hub_factory() as hub,
            node_factory(hub=hub, data_dir=tmp_path / "api", **scaled) as node,
        ):
            worker = Worker("w1", env, tmp_path / "w1.log")
            worker.wait_started()
            setup = await _setup(hub, node, operator=await operator_of(hub, name))
            operator, buyer = setup["operator"], setup["buyer"]
            order_id = (await node.graphql(PLACE, _order(), headers=buyer))["placeOrder"]["id"]
            started = (await node.graphql(START_PLAN, {"id": order_id}, headers=operator))[
                "startOrderPlan"
            ]
            job = await finished(node, started["id"], operator)
            assert job["status"] == "succeeded", (job, worker.log.read_text()[-3000:])
            assert job["result"]["version"] == 1
            ran_by = (
                await node.graphql(
                    "query($id: UUID!) { job(id: $id) { worker } }",
                    {"id": started["id"]},
                    headers=operator,
                )
            )["job"]["worker"]
            assert ran_by.endswith(f":{worker.process.pid}")  # not the API process
            assert not ran_by.endswith(f":{os.getpid()}")
            state = (await node.graphql(ORDER, {"id": order_id}, headers=operator))["order"]
            assert (state["planVersion"], state["stage"]) == (1, "PLANNED")
    finally:
        if worker is not None:
            worker.stop()
        await drop_streams(name)
