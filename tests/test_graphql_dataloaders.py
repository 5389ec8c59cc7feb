"""A page of factories reads each per-row relation (equipment, capacity, devices, alerts and
their totals) in a bounded number of statements, the same for a page of two as for a page of six:
through the per-request DataLoaders, not a query per row. So does a page of orders (routing,
plans, work orders, events) and a page of devices (their declared metrics)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from tests.conftest import HubFactory, NodeFactory
from tests.nodes import MOULDING_METRICS, active_factory, operator_headers, provision
from tests.support import bearer, client_token, create_client
from tests.test_orders import IMPORT, PLACE, ROUTING, _order

NODE_URL = "http://zj-textile.test"
RELATIONS = ("devices", "alerts", "factory_equipment", "factory_capacity")
ORDER_RELATIONS = ("routings", "order_plans", "work_orders", "order_events")

PAGE = """
query($first: Int!) {
  factories(first: $first) {
    edges { node {
      id slug
      equipment { type count }
      capacity(start: "2026-12-01", end: "2026-12-07") { day }
      devices(first: 10) { totalCount edges { node { key } } }
      alerts(first: 10) { totalCount edges { node { id } } }
      openAlerts: alerts(status: OPEN, first: 5) { totalCount }
    } }
  }
}
"""


_COUNTING: ContextVar[bool] = ContextVar("counting", default=False)


@contextmanager
def statements(relations: tuple[str, ...] = RELATIONS) -> Iterator[Counter[str]]:
    """Statements that read the relations, by table, made by the requests the block sends.

    The in-process client runs the app in the test's own context, and the tasks a request starts
    (DataLoader batches) inherit it; the node's background work (publishing its data products,
    which reads some of the same tables) runs in tasks started before, so it is not counted.
    """
    seen: Counter[str] = Counter()
    reads = re.compile(r"\bFROM (" + "|".join(relations) + r")\b")

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not _COUNTING.get():
            return
        for table in set(reads.findall(statement)):
            seen[table] += 1

    token = _COUNTING.set(True)
    event.listen(Engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", count)
        _COUNTING.reset(token)


async def test_a_page_of_factories_reads_each_relation_once_whatever_its_size(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator = await operator_headers(hub, NODE_URL)
        devices: dict[str, set[str]] = {}
        for n in range(6):
            factory = await active_factory(node.client, operator, slug=f"f{n}")
            keys = [f"f{n}-m{i}" for i in range(n % 3)]
            for key in keys:
                await provision(node.client, operator, factory["id"], key=key)
            devices[factory["id"]] = set(keys)

        reads = []
        for first in (2, 6):
            with statements() as seen:
                page = await node.graphql(PAGE, {"first": first}, headers=operator)
            reads.append(seen)
            rows = [edge["node"] for edge in page["factories"]["edges"]]
            assert len(rows) == first
            for row in rows:
                listed = {edge["node"]["key"] for edge in row["devices"]["edges"]}
                assert listed == devices[row["id"]]
                assert row["devices"]["totalCount"] == len(listed)
                assert row["equipment"] == [{"type": "air-jet-loom", "count": 48}]
                assert row["alerts"] == {"totalCount": 0, "edges": []}

        assert reads[0] == reads[1], reads
        # A page with its totals for devices; two pages (all, open) and their totals for alerts.
        assert reads[1] == {
            "devices": 1, "alerts": 4, "factory_equipment": 1, "factory_capacity": 1,
        }  # fmt: skip


ORDERS = """
query($first: Int!) {
  orders(first: $first) {
    edges { node {
      id quantity
      routing { product version }
      plan { version }
      plans { version }
      workOrders { id }
      events { stage }
      progress { stage reached }
    } }
  }
}
"""


async def test_a_page_of_orders_reads_each_relation_once_whatever_its_size(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator = await operator_headers(hub, NODE_URL)
        await node.graphql(IMPORT, {"text": ROUTING}, headers=operator)
        buyer_id, buyer_secret = await create_client(
            hub, org="Hangzhou Shirts Ltd", org_kind="consumer", scopes=["orders:write"]
        )
        buyer = bearer(await client_token(hub, buyer_id, buyer_secret, "orders:write", NODE_URL))
        for n in range(5):
            await node.graphql(PLACE, _order(quantity=100 + n), headers=buyer)

        reads = []
        for first in (2, 5):
            with statements(ORDER_RELATIONS) as seen:
                page = await node.graphql(ORDERS, {"first": first}, headers=operator)
            reads.append(seen)
            rows = [edge["node"] for edge in page["orders"]["edges"]]
            assert [row["quantity"] for row in rows] == [104, 103, 102, 101, 100][:first]
            for row in rows:
                assert row["routing"] == {"product": "grey-shirting", "version": 1}
                assert row["plan"] is None
                assert row["plans"] == []
                assert row["workOrders"] == []
                assert [event["stage"] for event in row["events"]] == ["PLACED"]
                assert [p["reached"] for p in row["progress"]][:2] == [True, False]

        assert reads[0] == reads[1], reads
        # No plan yet: the plan in force is not asked for.
        assert reads[1] == {"routings": 1, "order_plans": 1, "work_orders": 1, "order_events": 1}


DEVICES = """
query($first: Int!) {
  devices(first: $first) { edges { node { key metrics { name unit } } } }
}
"""


async def test_a_page_of_devices_reads_their_metrics_once_whatever_its_size(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator = await operator_headers(hub, NODE_URL)
        factory = await active_factory(node.client, operator, slug="metrics")
        for n in range(5):
            await provision(node.client, operator, factory["id"], key=f"m{n}")
        declared = sorted((m["name"], m["unit"]) for m in MOULDING_METRICS)

        reads = []
        for first in (2, 5):
            with statements(("device_metrics",)) as seen:
                page = await node.graphql(DEVICES, {"first": first}, headers=operator)
            reads.append(seen)
            rows = [edge["node"] for edge in page["devices"]["edges"]]
            assert len(rows) == first
            for row in rows:
                assert [(m["name"], m["unit"]) for m in row["metrics"]] == declared

        assert reads[0] == reads[1] == {"device_metrics": 1}, reads
