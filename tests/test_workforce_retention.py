"""The node purges expired workers by itself: with `workforce_retention_days` set, a worker
whose availability ended longer ago than that goes without anyone asking (audited as the
system's purge), a worker still in the retention period stays; 0 turns the schedule off."""

from __future__ import annotations

import asyncio
import datetime as dt

from regional_node.state import node_state
from regional_node.workforce.retention import purge, purge_once
from tests.conftest import HubFactory, NodeFactory
from tests.nodes import operator_headers
from tests.support import InProcessService
from tests.test_workforce import NODE_URL, POST_WORKERS, TODAY, audit, factory_headers, worker

POOL = "{ workforceWorkers { edges { node { pseudonym } } } }"


def ended(pseudonym: str, days_ago: int) -> dict[str, object]:
    last = TODAY - dt.timedelta(days=days_ago)
    return worker(
        pseudonym, f"Worker {pseudonym}", availableFrom=(last - dt.timedelta(days=10)).isoformat(),
        availableTo=last.isoformat(),
    )  # fmt: skip


async def pool(node: InProcessService, operator: dict[str, str]) -> set[str]:
    body = await node.graphql(POOL, headers=operator)
    return {e["node"]["pseudonym"] for e in body["workforceWorkers"]["edges"]}


async def test_the_node_purges_expired_workers_on_its_own_schedule(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with (
        hub_factory() as hub,
        node_factory(
            hub=hub, workforce_rematch=False, workforce_retention_days=30,
            workforce_purge_interval_s=0.5,
        ) as node,
    ):  # fmt: skip
        operator = await operator_headers(hub, NODE_URL)
        lender, lender_org = await factory_headers(hub, "Humen Knitwear Co")
        posted = await node.graphql(
            POST_WORKERS,
            {"workers": [ended("old-1", 60), ended("recent-2", 20), worker("now-3", "Sun Li")]},
            headers=lender,
        )
        assert posted["postWorkers"]["__typename"] == "PostWorkersSuccess", posted

        # Nobody asks: the schedule (every half second here) deletes the one past 30 days.
        deadline = asyncio.get_running_loop().time() + 60
        while "old-1" in await pool(node, operator):
            assert asyncio.get_running_loop().time() < deadline, "the purge never ran"
            await asyncio.sleep(0.2)
        assert await pool(node, operator) == {"recent-2", "now-3"}
        lines = await audit(node, operator, "node.workforce.purge")
        by_schedule = [line for line in lines if line["actor"] == "system:workforce-purge"]
        assert any(line["detail"]["deleted"] == 1 for line in by_schedule), lines

        # Eleven days on, the second has been out of work for 31 days: it goes too.
        state = node_state(node.app)
        assert await purge_once(state, today=TODAY + dt.timedelta(days=11)) == 1
        assert await pool(node, operator) == {"now-3"}
        assert lender_org not in str(lines)


async def test_retention_zero_turns_the_schedule_off(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with (
        hub_factory() as hub,
        node_factory(hub=hub, workforce_rematch=False, workforce_retention_days=0) as node,
    ):
        assert purge(node_state(node.app)) is None
        operator = await operator_headers(hub, NODE_URL)
        assert await audit(node, operator, "node.workforce.purge") == []
