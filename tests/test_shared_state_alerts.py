"""Alert state across node replicas and restarts (issue #22), through the public API.

Live alerts are the database's: two replicas judging the same breach open one alert (a unique
index on a rule's live alert for a device; the engine that loses takes the other's view). The
`for` timer is in NATS: a replica started after another saw a breach begin goes on from that
start, and a reading back within bounds on one replica resets the timer for the other.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import HubFactory, NodeFactory
from tests.nodes import with_device
from tests.support import InProcessService, forget_nats, skip_or_fail
from tests.test_event_bus import NATS_URL, nats_up
from tests.test_ingest import now_ms, send

pytestmark = [
    pytest.mark.usefixtures("_nats"),
    pytest.mark.parametrize("backend", ["postgresql"]),
]

NODE_URL = "http://zj-textile.test"
RULE = "mutation($input: AlertRuleInput!) { createAlertRule(input: $input) { id } }"
ALERTS = """
query($filter: AlertFilter) {
  alerts(filter: $filter, first: 100) { totalCount edges { node { status } } }
}
"""


@pytest.fixture
async def _nats() -> AsyncIterator[None]:
    if not nats_up():
        skip_or_fail("NATS is not reachable at 127.0.0.1:4222")
    yield
    # The node's buckets and streams (its name is the suite's default, so the names are exact).
    node = "node-zj-textile"
    await forget_nats(f"_{node}_", f"YUNFAB_EVENTS_{node}", f"YUNFAB_JOBS_{node}")


async def rule(
    node: InProcessService, operator: dict[str, str], device: dict[str, Any], **timing: int
) -> str:
    made = await node.graphql(
        RULE,
        {
            "input": {
                "name": "Clamp force high",
                "kind": "THRESHOLD",
                "metric": "clamp_force_kn",
                "above": 900,
                "deviceId": device["device"]["id"],
                **timing,
            }
        },  # fmt: skip
        headers=operator,
    )
    rule_id: str = made["createAlertRule"]["id"]
    return rule_id


async def statuses(node: InProcessService, operator: dict[str, str], rule_id: str) -> list[str]:
    data = await node.graphql(ALERTS, {"filter": {"ruleId": rule_id}}, headers=operator)
    return [edge["node"]["status"] for edge in data["alerts"]["edges"]]


async def reading(node: InProcessService, device: dict[str, Any], ts: int, value: float) -> None:
    sent = await send(node.client, device, [{"ts": ts, "metrics": {"clamp_force_kn": value}}])
    assert sent.status_code == 200, sent.text
    assert sent.json()["accepted"] == 1, sent.text


async def test_two_replicas_judging_one_breach_open_one_alert(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub, nats_url=NATS_URL) as a:
        operator, _factory, device = await with_device(hub, a, NODE_URL)
        rule_id = await rule(a, operator, device)
        async with node_factory(hub=hub, nats_url=NATS_URL) as b:
            start = now_ms() - 60_000
            # Both replicas judge breaching readings at once, each with no live alert yet.
            await asyncio.gather(
                *(reading((a, b)[i % 2], device, start + i * 1000, 950 + i) for i in range(8))
            )
            assert await statuses(a, operator, rule_id) == ["OPEN"]
            assert await statuses(b, operator, rule_id) == ["OPEN"]


async def test_a_for_timer_goes_on_across_a_restart(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub:
        start = now_ms() - 180_000
        async with node_factory(hub=hub, nats_url=NATS_URL) as first:
            operator, _factory, device = await with_device(hub, first, NODE_URL)
            rule_id = await rule(first, operator, device, forS=60)
            await reading(first, device, start, 950)
            await reading(first, device, start + 30_000, 950)
            assert await statuses(first, operator, rule_id) == []  # pending: 30 s of 60
        async with node_factory(hub=hub, nats_url=NATS_URL) as restarted:
            await reading(restarted, device, start + 61_000, 950)
            # 61 s since the breach began, though this process saw only one reading of it.
            assert await statuses(restarted, operator, rule_id) == ["OPEN"]


async def test_a_reading_within_bounds_on_one_replica_resets_the_timer_on_the_other(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub, nats_url=NATS_URL) as a:
        operator, _factory, device = await with_device(hub, a, NODE_URL)
        rule_id = await rule(a, operator, device, forS=60)
        async with node_factory(hub=hub, nats_url=NATS_URL) as b:
            start = now_ms() - 180_000
            await reading(a, device, start, 950)
            await reading(b, device, start + 30_000, 850)  # back within bounds, on B
            await reading(a, device, start + 61_000, 950)
            # A's breach began again at +61 s: no minute of breach yet.
            assert await statuses(a, operator, rule_id) == []
            await reading(b, device, start + 122_000, 950)
            assert await statuses(b, operator, rule_id) == ["OPEN"]
