"""The orders domain's long work as jobs (issue #22): `startOrderPlan`, `startOrderReplan`
and `startFactorySchedule` return at once with the job, `job(id:)` tells how it goes and
names the plan or schedule it made, `jobProgress(id:)` tells each change live; the same key
returns the same job; an order that cannot be planned fails its job with the constraint and
writes nothing. The synchronous fields (`planOrder`, `scheduleFactory`, ...) keep working
beside (tests/test_orders.py, tests/test_factory_schedules.py)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.conftest import HubFactory, NodeFactory
from tests.nodes import active_factory, operator_headers
from tests.support import (
    InProcessService,
    bearer,
    client_token,
    create_client,
    eventually,
    served,
    subscribed,
)
from tests.test_factory_schedules import SHOP
from tests.test_orders import DISPATCH, IMPORT, NODE_URL, ORDER, PLACE, ROUTING, _order, _setup
from yunfab.processes import free_port

START_PLAN = """
mutation($id: UUID!, $key: String) {
  startOrderPlan(id: $id, timeLimitS: 20, key: $key) { id kind key status }
}
"""
START_REPLAN = """
mutation($id: UUID!, $key: String) {
  startOrderReplan(id: $id, reason: "a loom is down", timeLimitS: 20, key: $key) {
    id kind status
  }
}
"""
JOB = "query($id: UUID!) { job(id: $id) { id kind status attempts result error } }"
START_SCHEDULE = """
mutation($factoryId: UUID!, $input: ShopInput!, $key: String) {
  startFactorySchedule(factoryId: $factoryId, name: "Monday", input: $input, timeLimitS: 5,
                       start: "2026-03-02T00:00:00Z", key: $key) { id kind key status }
}
"""
SCHEDULE = """
query($id: UUID!) {
  factorySchedule(id: $id) { id name status plan { start tasks { job } lots { workOrderId } } }
}
"""
START_DAY = """
mutation($factoryId: UUID!, $day: Date!) {
  startWorkOrderSchedule(factoryId: $factoryId, day: $day, timeLimitS: 5) { id kind }
}
"""


async def finished(node: InProcessService, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    async def done() -> bool:
        job = (await node.graphql(JOB, {"id": job_id}, headers=headers))["job"]
        return job["status"] in {"succeeded", "failed"}

    await eventually(done, timeout_s=120, every_s=0.2)
    job: dict[str, Any] = (await node.graphql(JOB, {"id": job_id}, headers=headers))["job"]
    return job


async def test_an_order_is_planned_and_replanned_as_jobs(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        setup = await _setup(hub, node)
        operator, buyer = setup["operator"], setup["buyer"]
        order_id = (await node.graphql(PLACE, _order(), headers=buyer))["placeOrder"]["id"]

        # Only who may plan the order starts the job; the buyer is refused at once.
        refused = await node.graphql(
            START_PLAN, {"id": order_id}, headers=buyer, expect_errors=True
        )
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"

        started = (await node.graphql(START_PLAN, {"id": order_id, "key": "p1"}, headers=operator))[
            "startOrderPlan"
        ]
        assert (started["kind"], started["key"]) == ("orders.plan", "p1")
        again = (await node.graphql(START_PLAN, {"id": order_id, "key": "p1"}, headers=operator))[
            "startOrderPlan"
        ]
        assert again["id"] == started["id"]  # the same job, planned once
        job = await finished(node, started["id"], operator)
        assert job["status"] == "succeeded", job
        assert job["attempts"] == 1
        assert job["result"]["version"] == 1
        state = (await node.graphql(ORDER, {"id": order_id}, headers=operator))["order"]
        assert (state["planVersion"], state["stage"]) == (1, "PLANNED")
        assert state["plan"]["version"] == 1
        assert [e["kind"] for e in state["events"]].count("planned") == 1
        # The job is the operator's: the buyer does not learn it exists.
        hidden = await node.graphql(JOB, {"id": job["id"]}, headers=buyer, expect_errors=True)
        assert hidden["errors"][0]["extensions"]["code"] == "JOB_NOT_FOUND"

        # Dispatched, a weaver schedules a day of its work orders as a job.
        works = (await node.graphql(DISPATCH, {"id": order_id}, headers=operator))["dispatchOrder"]
        weave = next(w for w in works if w["step"] == "weave")
        day = next(iter(weave["daily"]))
        started = (
            await node.graphql(
                START_DAY, {"factoryId": weave["factoryId"], "day": day}, headers=operator
            )
        )["startWorkOrderSchedule"]
        job = await finished(node, started["id"], operator)
        assert (job["kind"], job["status"]) == ("orders.schedule", "succeeded"), job
        schedule = (
            await node.graphql(SCHEDULE, {"id": job["result"]["scheduleId"]}, headers=operator)
        )["factorySchedule"]
        assert schedule["name"] == f"work orders {day}"
        assert weave["id"] in {lot["workOrderId"] for lot in schedule["plan"]["lots"]}

        replan = (await node.graphql(START_REPLAN, {"id": order_id}, headers=operator))[
            "startOrderReplan"
        ]
        assert replan["kind"] == "orders.replan"
        job = await finished(node, replan["id"], operator)
        assert job["status"] == "succeeded", job
        assert job["result"]["version"] == 2
        state = (await node.graphql(ORDER, {"id": order_id}, headers=operator))["order"]
        assert state["planVersion"] == 2
        assert state["plan"]["reason"] == "a loom is down"


async def test_an_order_that_cannot_be_planned_fails_its_job_with_the_constraint(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        setup = await _setup(hub, node)
        operator, buyer = setup["operator"], setup["buyer"]
        needs_printing = ROUTING.replace('process = "packing"', 'process = "screen-printing"')
        needs_printing = needs_printing.replace('product = "grey-shirting"', 'product = "printed"')
        await node.graphql(IMPORT, {"text": needs_printing}, headers=operator)
        order = _order()
        order["input"]["product"] = "printed"
        order_id = (await node.graphql(PLACE, order, headers=buyer))["placeOrder"]["id"]
        started = (await node.graphql(START_PLAN, {"id": order_id}, headers=operator))[
            "startOrderPlan"
        ]
        job = await finished(node, started["id"], operator)
        assert job["status"] == "failed"
        assert job["attempts"] == 1  # refused: not tried again
        assert job["error"].startswith("order_infeasible:")
        assert "pack" in job["error"]
        state = (await node.graphql(ORDER, {"id": order_id}, headers=operator))["order"]
        assert state["plan"] is None
        assert state["stage"] == "PLACED"
        # A malformed key is refused before anything is queued.
        bad = await node.graphql(
            START_PLAN, {"id": order_id, "key": "no spaces"}, headers=operator, expect_errors=True
        )
        assert bad["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


async def test_a_factory_schedule_is_a_job_of_the_factory(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator = await operator_headers(hub, NODE_URL)
        factory = await active_factory(node.client, operator)
        client_id, secret = await create_client(
            hub, org="Hangzhou Shirts Ltd", org_kind="consumer", scopes=["orders:write"]
        )
        buyer_token = await client_token(hub, client_id, secret, "orders:write", NODE_URL)
        buyer = bearer(buyer_token)
        variables = {"factoryId": factory["id"], "input": SHOP, "key": "monday"}
        started = (await node.graphql(START_SCHEDULE, variables, headers=operator))[
            "startFactorySchedule"
        ]
        assert (started["kind"], started["key"]) == ("orders.schedule", "monday")
        again = (await node.graphql(START_SCHEDULE, variables, headers=operator))[
            "startFactorySchedule"
        ]
        assert again["id"] == started["id"]
        # Followed live: the job as it is, then each change of it until it is done.
        token = operator["authorization"].removeprefix("Bearer ")
        live = f'subscription {{ jobProgress(id: "{started["id"]}") {{ status attempts }} }}'
        seen: list[dict[str, Any]] = []
        async with served(node.app, free_port(), lifespan="off") as url:
            async with subscribed(url, live, token) as ws:
                while (message := json.loads(await asyncio.wait_for(ws.recv(), 60)))[
                    "type"
                ] == "next":
                    seen.append(message["payload"]["data"]["jobProgress"])
            assert message["type"] == "complete", message
            async with subscribed(url, live, buyer_token) as ws:
                refused = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert refused["payload"]["data"] is None, refused
            assert refused["payload"]["errors"][0]["extensions"]["code"] == "JOB_NOT_FOUND"
        assert seen[-1] == {"status": "succeeded", "attempts": 1}
        assert {one["status"] for one in seen} <= {"queued", "running", "succeeded"}

        job = await finished(node, started["id"], operator)
        assert job["status"] == "succeeded", job
        assert job["result"]["status"] in ("optimal", "feasible")
        schedule = (
            await node.graphql(SCHEDULE, {"id": job["result"]["scheduleId"]}, headers=operator)
        )["factorySchedule"]
        assert (schedule["name"], schedule["status"]) == ("Monday", job["result"]["status"])
        assert schedule["plan"]["start"].startswith("2026-03-02T00:00:00")
        assert {t["job"] for t in schedule["plan"]["tasks"]} == {"A", "B", "C"}

        # Someone who may not manage the factory's schedules is refused before anything is
        # queued, and does not see the job.
        refused = await node.graphql(START_SCHEDULE, variables, headers=buyer, expect_errors=True)
        assert refused["errors"][0]["extensions"]["code"] in ("FORBIDDEN", "FACTORY_NOT_FOUND")
        hidden = await node.graphql(JOB, {"id": job["id"]}, headers=buyer, expect_errors=True)
        assert hidden["errors"][0]["extensions"]["code"] == "JOB_NOT_FOUND"
