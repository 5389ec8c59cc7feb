"""Allocation and in-factory scheduling follow one eligibility rule: every work order of the
demo's cloud order (seed 002: 62 small factories, 14 processes, 2.3 M licence-plate sets)
schedules on its factory's machines, and a step asking for a machine's key parameters goes only
to factories with such a machine."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from importlib.resources import files
from typing import Any

import pytest

from regional_node.orders.routings import parse
from tests.conftest import HubFactory, NodeFactory
from tests.nodes import INVITE, MOVE, PROFILE, active_factory, operator_headers
from tests.support import InProcessService, bearer, client_token, create_client
from yunfab_cli.demo import PLAN_ORDER, CloudOrder
from yunfab_demo.simulator.network import cloud_network

NODE_URL = "http://zj-textile.test"

IMPORT = "mutation($text: String!) { importRouting(text: $text) { product version } }"
CAPACITY = """
mutation($id: UUID!, $days: [CapacityDayInput!]!) {
  setFactoryCapacity(factoryId: $id, days: $days)
}
"""
PLACE = "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id number } }"
DISPATCH = "mutation($id: UUID!) { dispatchOrder(id: $id) { id factoryId step daily } }"
SHOP_DAY = """
mutation($factoryId: UUID!, $day: Date!) {
  scheduleWorkOrders(factoryId: $factoryId, day: $day, timeLimitS: 2) {
    status plan { skipped { workOrderId } lots { job workOrderId } tasks { job machine } }
  }
}
"""


async def _onboard(
    node: InProcessService, operator: dict[str, str], network: list[dict[str, Any]]
) -> dict[str, str]:
    """The network's factories as `yunfab node factory import --activate` onboards them
    (through the API here); returns slug -> id."""
    ids: dict[str, str] = {}
    for entry in network:
        invited = (
            await node.graphql(
                INVITE, {"input": {"slug": entry["slug"], "name": entry["name"]}}, headers=operator
            )
        )["inviteFactory"]
        profile = {key: entry[key] for key in ("location", "contact", "products", "skills")}
        profile["equipment"] = entry["equipment"]
        await node.graphql(PROFILE, {"id": invited["id"], "input": profile}, headers=operator)
        for transition in ("SUBMIT", "VERIFY", "ACTIVATE"):
            await node.graphql(MOVE, {"id": invited["id"], "t": transition}, headers=operator)
        days = [
            {"process": c["process"], "availableUnits": c["units"], "hourlyRate": c["rate"],
             "day": (dt.date.fromisoformat(c["from"]) + dt.timedelta(d)).isoformat()}
            for c in entry["capacity"]
            for d in range(c["days"])
        ]  # fmt: skip
        await node.graphql(CAPACITY, {"id": invited["id"], "days": days}, headers=operator)
        ids[entry["slug"]] = invited["id"]
    return ids


async def _buyer(hub: InProcessService) -> dict[str, str]:
    client_id, secret = await create_client(
        hub, org="Shared Bike Mobility Co.", org_kind="consumer", scopes=["orders:write"]
    )
    return bearer(await client_token(hub, client_id, secret, "orders:write", NODE_URL))


async def _place(
    node: InProcessService, buyer: dict[str, str], product: str, quantity: int,
    daily: int, ramp: int, start: dt.date, days: int,
) -> str:  # fmt: skip
    order = {
        "product": product, "quantity": quantity, "startDate": start.isoformat(),
        "dueDate": (start + dt.timedelta(days=days - 1)).isoformat(),
        "dailyTarget": daily, "rampDays": ramp,
    }  # fmt: skip
    placed = (await node.graphql(PLACE, {"input": order}, headers=buyer))["placeOrder"]
    return str(placed["id"])


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_every_work_order_of_the_demo_order_schedules_on_its_factory(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    order = CloudOrder()
    template = files("regional_node.orders") / "templates" / f"{order.product}.toml"
    text = template.read_text(encoding="utf-8")
    start = dt.datetime.now(dt.UTC).date()
    network = cloud_network(parse(text), start=start, days=order.days)
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator = await operator_headers(hub, NODE_URL)
        ids = await _onboard(node, operator, network)
        await node.graphql(IMPORT, {"text": text}, headers=operator)
        order_id = await _place(
            node, await _buyer(hub), order.product, order.quantity, order.daily_target,
            order.ramp_days, start, order.days,
        )  # fmt: skip
        plan = (await node.graphql(PLAN_ORDER, {"id": order_id}, headers=operator))["planOrder"]
        assert plan["status"] in ("optimal", "feasible")
        work = (await node.graphql(DISPATCH, {"id": order_id}, headers=operator))["dispatchOrder"]
        # The makers of a second process are among them (the probe's 145k cartons went to a
        # moulder listing no carton-making line).
        slugs = {v: k for k, v in ids.items()}
        second = {
            (slugs[w["factoryId"]], w["step"]) for w in work
            if not slugs[w["factoryId"]].startswith(_process_of(w["step"], text))
        }  # fmt: skip
        assert second

        days: dict[tuple[str, str], list[str]] = defaultdict(list)
        for w in work:
            first = min(day for day, units in w["daily"].items() if units > 0)
            days[(w["factoryId"], first)].append(w["id"])
        for (factory_id, day), wanted in days.items():
            result = (
                await node.graphql(
                    SHOP_DAY, {"factoryId": factory_id, "day": day}, headers=operator
                )
            )["scheduleWorkOrders"]
            assert result["status"] in ("optimal", "feasible")
            assert result["plan"]["skipped"] == []
            scheduled = {lot["workOrderId"] for lot in result["plan"]["lots"]}
            assert set(wanted) <= scheduled, slugs[factory_id]


def _process_of(step: str, text: str) -> str:
    return next(s.process for s in parse(text).steps if s.id == step)


MOULDING = """
product = "bike-plate-board"
name = "PC plate board"
unit = "pcs"

[[steps]]
id = "mould"
process = "injection-moulding"
equipment = "injection-moulding-machine"
parameters = { clamp_force_kn = 800 }
hours_per_unit = 0.01
unit_cost = 0.4
"""


def _moulders(*machines: tuple[str, int, int]) -> list[dict[str, Any]]:
    return [
        {"type": "injection-moulding-machine", "model": model, "count": count,
         "parameters": {"clamp_force_kn": force}}
        for model, count, force in machines
    ]  # fmt: skip


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_step_asking_for_clamp_force_goes_only_to_machines_that_have_it(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    start = dt.datetime.now(dt.UTC).date()
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator = await operator_headers(hub, NODE_URL)
        await node.graphql(IMPORT, {"text": MOULDING}, headers=operator)
        # Cheap but too weak; dearer, with two strong machines among three weak ones.
        small = await active_factory(node.client, operator, slug="small-moulder")
        mixed = await active_factory(node.client, operator, slug="mixed-moulder")
        for factory, kit, rate in (
            (small, _moulders(("HT-500", 6, 500)), 20.0),
            (mixed, _moulders(("HT-500", 3, 500), ("HT-1000", 2, 1000)), 40.0),
        ):
            await node.graphql(
                PROFILE, {"id": factory["id"], "input": {"equipment": kit}}, headers=operator
            )
            days = [
                {"process": "injection-moulding", "day": (start + dt.timedelta(d)).isoformat(),
                 "availableHours": 20, "hourlyRate": rate}
                for d in range(5)
            ]  # fmt: skip
            await node.graphql(CAPACITY, {"id": factory["id"], "days": days}, headers=operator)
        order_id = await _place(node, await _buyer(hub), "bike-plate-board", 3000, 800, 1, start, 5)
        await node.graphql(PLAN_ORDER, {"id": order_id}, headers=operator)
        work = (await node.graphql(DISPATCH, {"id": order_id}, headers=operator))["dispatchOrder"]
        assert {w["factoryId"] for w in work} == {mixed["id"]}

        day = min(d for d, units in work[0]["daily"].items() if units > 0)
        shop = (
            await node.graphql(SHOP_DAY, {"factoryId": mixed["id"], "day": day}, headers=operator)
        )["scheduleWorkOrders"]
        # Machines are numbered over the type (HT-1000 first by model): only those two run it.
        assert {t["machine"] for t in shop["plan"]["tasks"]} == {
            "injection-moulding-machine-1", "injection-moulding-machine-2",
        }  # fmt: skip

        # The strong machines sold since the plan: the schedule says why it has nothing to do.
        await node.graphql(
            PROFILE,
            {"id": mixed["id"], "input": {"equipment": _moulders(("HT-500", 3, 500))}},
            headers=operator,
        )
        refused = await node.graphql(
            SHOP_DAY, {"factoryId": mixed["id"], "day": day}, headers=operator, expect_errors=True
        )
        assert refused["errors"][0]["extensions"]["code"] == "SCHEDULE_INVALID"
        assert "clamp_force_kn >= 800" in refused["errors"][0]["message"]
