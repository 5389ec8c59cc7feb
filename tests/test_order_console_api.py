"""What the console's order pages ask of the node: orders narrowed to a stage (with the number
search), and the plan's allocations naming their factories as people know them."""

from __future__ import annotations

from tests.conftest import HubFactory, NodeFactory
from tests.test_orders import PLACE, PLAN, _order, _setup

LIST = """
query($stage: OrderStage, $prefix: String) {
  orders(stage: $stage, numberPrefix: $prefix) { totalCount edges { node { number stage } } }
}
"""
ALLOCATIONS = """
query($id: UUID!) {
  order(id: $id) { plan { allocations { factoryId factory { id name slug } step day units } } }
}
"""


async def test_orders_by_stage_and_allocations_with_factory_names(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        setup = await _setup(hub, node)
        operator, buyer = setup["operator"], setup["buyer"]
        first = (await node.graphql(PLACE, _order(), headers=buyer))["placeOrder"]
        second = (await node.graphql(PLACE, _order(quantity=100), headers=buyer))["placeOrder"]
        await node.graphql(PLAN, {"id": first["id"]}, headers=operator)

        for headers in (operator, buyer):
            planned = (await node.graphql(LIST, {"stage": "PLANNED"}, headers=headers))["orders"]
            assert [e["node"]["number"] for e in planned["edges"]] == [first["number"]]
            assert planned["totalCount"] == 1
            placed = (await node.graphql(LIST, {"stage": "PLACED"}, headers=headers))["orders"]
            assert [e["node"]["number"] for e in placed["edges"]] == [second["number"]]
        # The stage and the number search together.
        both = await node.graphql(
            LIST, {"stage": "PLACED", "prefix": first["number"]}, headers=buyer
        )
        assert both["orders"]["edges"] == []

        # The buyer sees which factory makes what, by name (as the work orders name them).
        plan = (await node.graphql(ALLOCATIONS, {"id": first["id"]}, headers=buyer))["order"][
            "plan"
        ]
        slugs = {f["id"]: f["slug"] for f in setup["factories"]}
        assert plan["allocations"]
        for allocation in plan["allocations"]:
            factory = allocation["factory"]
            assert factory["id"] == allocation["factoryId"]
            assert factory["slug"] == slugs[allocation["factoryId"]]
            assert factory["name"]
