"""Orders on a node through GraphQL: a routing imported, an order placed by a buyer, planned
over the node's factories with an explanation, dispatched as work orders, followed through the
twelve stages live, re-planned after a breakdown keeping finished work; infeasible orders are
answered with the constraint."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections import defaultdict
from typing import Any

from tests.conftest import HubFactory, NodeFactory
from tests.nodes import active_factory, operator_headers
from tests.support import InProcessService, bearer, client_token, create_client, served, subscribed
from yunfab.processes import free_port

NODE_URL = "http://zj-textile.test"
DAYS = 8
# Production is reported for days that have passed: the order ran last week.
START = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=DAYS)

# Weaving on looms (every test factory has them), then dyeing and packing.
ROUTING = """
product = "grey-shirting"
name = "Dyed shirting, 100 m rolls"
unit = "roll"

[[steps]]
id = "weave"
process = "weaving"
equipment = "air-jet-loom"
hours_per_unit = 0.5
unit_cost = 20.0
yield = 0.95

[[steps]]
id = "dye"
process = "dyeing"
after = ["weave"]
hours_per_unit = 0.25
unit_cost = 8.0
yield = 0.98
lag_days = 1

[[steps]]
id = "pack"
process = "packing"
after = ["dye"]
hours_per_unit = 0.1
unit_cost = 1.0
"""

IMPORT = """
mutation($text: String!) {
  importRouting(text: $text) { product version steps { id process after yield lagDays } }
}
"""
CAPACITY = """
mutation($id: UUID!, $days: [CapacityDayInput!]!) {
  setFactoryCapacity(factoryId: $id, days: $days)
}
"""
PLACE = """
mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id number stage status } }
"""
PLAN = """
mutation($id: UUID!) {
  planOrder(id: $id, timeLimitS: 20) {
    version status gap bound objective allocations { step factoryId day units }
    reasoning { summary steps { step used { factory process } unused { factory process } } }
  }
}
"""
DISPATCH = """
mutation($id: UUID!) {
  dispatchOrder(id: $id) {
    id factoryId factory { id slug } step quantity daily startDate endDate status
    days { day planned produced }
  }
}
"""
REPORT = """
mutation($id: UUID!, $input: WorkReportInput!) {
  reportWork(workOrderId: $id, input: $input) { id status made quantity }
}
"""
ADVANCE = """
mutation($id: UUID!, $stage: OrderStage!) { advanceOrder(id: $id, stage: $stage) { stage status } }
"""
ORDER = """
query($id: UUID!) {
  order(id: $id) {
    number stage status planVersion
    plan { version reason EXPLAINED allocations { step factoryId day units } }
    workOrders { id factoryId step quantity made status daily produced }
    progress { stage reached at }
    events { kind stage }
  }
}
"""
# What a buyer asks: the plan without its costs and explanation (the operator's business).
BUYER_ORDER = ORDER.replace("EXPLAINED", "")
ORDER = ORDER.replace(
    "EXPLAINED",
    "reasoning { summary } replanEffect { asOf reportsAhead { step factory day reported kept } }",
)
SHOP_DAY = """
mutation($factoryId: UUID!, $day: Date!) {
  scheduleWorkOrders(factoryId: $factoryId, day: $day, timeLimitS: 5) {
    status plan { lots { job workOrderId } tasks { job machine start end } }
  }
}
"""
BREAKDOWN = """
mutation($input: BreakdownInput!, $asOf: Date) {
  reportBreakdown(input: $input, asOf: $asOf) {
    breakdownId replanned { version reason replanEffect { asOf unitsMoved } }
  }
}
"""

# (weaving hours, dyeing hours, packing hours, hourly rate) per factory.
FACTORIES = [
    (16, 0, 0, 30.0),
    (16, 0, 0, 34.0),
    (12, 8, 0, 32.0),
    (0, 12, 8, 28.0),
    (0, 10, 8, 29.0),
]


async def _setup(
    hub: InProcessService,
    node: InProcessService,
    start: dt.date = START,
    first_factory_org: str | None = None,
    operator: dict[str, str] | None = None,
) -> dict[str, Any]:
    """`operator`: the node operator's headers (default: the test node's operator)."""
    operator = operator or await operator_headers(hub, NODE_URL)
    routing = (await node.graphql(IMPORT, {"text": ROUTING}, headers=operator))["importRouting"]
    assert routing["version"] == 1
    assert [s["id"] for s in routing["steps"]] == [
        "weave",
        "dye",
        "pack",
    ]
    again = (await node.graphql(IMPORT, {"text": ROUTING}, headers=operator))["importRouting"]
    assert again["version"] == 1  # the same routing again adds nothing
    factories = []
    for index, (weave, dye, pack, rate) in enumerate(FACTORIES):
        factory = await active_factory(
            node.client, operator, slug=f"mill-{index}",
            organization_id=first_factory_org if index == 0 else None,
        )  # fmt: skip
        days = [
            {"process": process, "day": (start + dt.timedelta(d)).isoformat(),
             "availableHours": hours, "hourlyRate": rate}
            for process, hours in (("weaving", weave), ("dyeing", dye), ("packing", pack))
            if hours
            for d in range(DAYS)
        ]  # fmt: skip
        await node.graphql(CAPACITY, {"id": factory["id"], "days": days}, headers=operator)
        factories.append({**factory, "hours": (weave, dye, pack)})
    buyer_id, buyer_secret = await create_client(
        hub, org="Hangzhou Shirts Ltd", org_kind="consumer", scopes=["orders:write"]
    )
    buyer_token = await client_token(hub, buyer_id, buyer_secret, "orders:write", NODE_URL)
    return {
        "operator": operator,
        "factories": factories,
        "buyer": bearer(buyer_token),
        "buyer_token": buyer_token,
    }


def _order(
    quantity: int = 200, daily_target: int = 30, start: dt.date = START, **extra: Any
) -> dict[str, Any]:
    return {
        "input": {
            "product": "grey-shirting",
            "quantity": quantity,
            "startDate": start.isoformat(),
            "dueDate": (start + dt.timedelta(DAYS - 1)).isoformat(),
            "dailyTarget": daily_target,
            "rampDays": 3,
            **extra,
        }
    }


def _check_capacity(allocations: list[dict[str, Any]], factories: list[dict[str, Any]]) -> None:
    hours = {"weave": 0.5, "dye": 0.25, "pack": 0.1}
    index = {"weave": 0, "dye": 1, "pack": 2}
    by_id = {f["id"]: f for f in factories}
    load: dict[tuple[str, str, str], float] = defaultdict(float)
    for a in allocations:
        load[(a["factoryId"], a["step"], a["day"])] += a["units"] * hours[a["step"]]
    for (factory_id, step, _), used in load.items():
        assert used <= by_id[factory_id]["hours"][index[step]] + 1e-6


async def test_an_order_is_planned_dispatched_and_followed_through_twelve_stages(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        setup = await _setup(hub, node)
        operator, buyer = setup["operator"], setup["buyer"]
        placed = (await node.graphql(PLACE, _order(), headers=buyer))["placeOrder"]
        assert placed["stage"] == "PLACED"
        assert placed["status"] == "OPEN"
        order_id = placed["id"]

        async with served(node.app, free_port(), lifespan="off") as url:
            live = f'subscription {{ orderProgress(orderId: "{order_id}") {{ kind stage }} }}'
            async with subscribed(url, live, setup["buyer_token"]) as ws:
                await asyncio.sleep(0.2)
                plan = (await node.graphql(PLAN, {"id": order_id}, headers=operator))["planOrder"]
                message = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert message["payload"]["data"]["orderProgress"] == {
                    "kind": "planned", "stage": "PLANNED",
                }  # fmt: skip

        # The plan: within capacity, explained, every step made by at least two factories.
        assert plan["status"] in ("optimal", "feasible")
        assert plan["gap"] >= 0
        _check_capacity(plan["allocations"], setup["factories"])
        makers = defaultdict(set)
        for a in plan["allocations"]:
            makers[a["step"]].add(a["factoryId"])
        assert all(len(makers[step]) >= 2 for step in ("weave", "dye", "pack"))
        reasoning = plan["reasoning"]
        assert reasoning["summary"]
        named = {
            (u["factory"], u["process"])
            for step in reasoning["steps"]
            for u in step["used"] + step["unused"]
        }
        assert ("mill-3", "dyeing") in named

        work_orders = (await node.graphql(DISPATCH, {"id": order_id}, headers=operator))[
            "dispatchOrder"
        ]
        assert {w["status"] for w in work_orders} == {"ISSUED"}
        # Each work order names its factory as people know it.
        slugs = {f["id"]: f["slug"] for f in setup["factories"]}
        assert all(w["factory"] == {"id": w["factoryId"], "slug": slugs[w["factoryId"]]}
                   for w in work_orders)  # fmt: skip
        assert all(sum(d["planned"] for d in w["days"]) == sum(w["daily"].values())
                   for w in work_orders)  # fmt: skip
        assert sum(w["quantity"] for w in work_orders if w["step"] == "pack") >= 200 - 2

        # A weaver schedules its day of work orders on its own looms.
        weave = next(w for w in work_orders if w["step"] == "weave")
        day, units = next(iter(weave["daily"].items()))
        shop = (
            await node.graphql(
                SHOP_DAY, {"factoryId": weave["factoryId"], "day": day}, headers=operator
            )
        )["scheduleWorkOrders"]
        assert shop["status"] in ("optimal", "feasible")
        lots = {lot["job"]: lot["workOrderId"] for lot in shop["plan"]["lots"]}
        mine = [t for t in shop["plan"]["tasks"] if lots[t["job"]] == weave["id"]]
        assert mine
        assert all(t["machine"].startswith("air-jet-loom-") for t in shop["plan"]["tasks"])
        # Lots add up to the day's units at half an hour each (rounded up per lot).
        assert 0 <= sum(t["end"] - t["start"] for t in mine) - units * 30 < len(mine)

        # The buyer sees the plan, not the factories' rates, costs and capacity behind it.
        seen = (await node.graphql(BUYER_ORDER, {"id": order_id}, headers=buyer))["order"]
        assert sorted(map(str, seen["plan"]["allocations"])) == sorted(
            map(str, plan["allocations"])
        )
        hidden_fields = ("explanation", "effect", "objective", "bound", "reasoning { summary }",
                         "replanEffect { asOf }")  # fmt: skip
        for selection in hidden_fields:
            field = selection.split()[0]
            query = f"query($id: UUID!) {{ order(id: $id) {{ plan {{ version {selection} }} }} }}"
            hidden = await node.graphql(query, {"id": order_id}, headers=buyer, expect_errors=True)
            assert hidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
            assert hidden["errors"][0]["path"][-1] == field
            assert (hidden["data"]["order"]["plan"] or {}).get(field) is None
            shown = await node.graphql(query, {"id": order_id}, headers=operator)
            assert shown["order"]["plan"][field] is not None or field in ("effect", "replanEffect")

        # Factories confirm, get materials, make everything; the order's stage follows.
        giant = {"kind": "IN_PRODUCTION", "day": START.isoformat(), "scrap": 2_000_000_000}
        refused = await node.graphql(
            REPORT, {"id": work_orders[0]["id"], "input": giant}, headers=operator,
            expect_errors=True,
        )  # fmt: skip
        assert refused["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
        for kind in ("CONFIRMED", "MATERIALS_READY"):
            for w in work_orders:
                await node.graphql(
                    REPORT, {"id": w["id"], "input": {"kind": kind}}, headers=operator
                )
        for step in ("weave", "dye", "pack"):
            for w in (w for w in work_orders if w["step"] == step):
                for day, units in w["daily"].items():
                    report = {"kind": "IN_PRODUCTION", "day": day, "good": units, "key": day}
                    await node.graphql(REPORT, {"id": w["id"], "input": report}, headers=operator)
        # A report sent again (its reply was lost) is applied once.
        again = {"kind": "IN_PRODUCTION", "day": day, "good": units, "key": day}
        replayed = await node.graphql(REPORT, {"id": w["id"], "input": again}, headers=operator)
        assert replayed["reportWork"]["made"] == w["quantity"]
        state = (await node.graphql(BUYER_ORDER, {"id": order_id}, headers=buyer))["order"]
        assert state["stage"] == "FINISHED"
        assert {w["status"] for w in state["workOrders"]} == {"DONE"}
        # Every factory kept pace with its daily plan: its delivery score says so.
        evaluation = """query($id: UUID!) { factory(id: $id) { evaluation { scores {
            name value inputs { name value } } } } }"""
        shown = await node.graphql(
            evaluation, {"id": work_orders[0]["factoryId"]}, headers=operator
        )
        scores = {s["name"]: s for s in shown["factory"]["evaluation"]["scores"]}
        assert scores["delivery"]["value"] == 100

        # The buyer cannot record inspection; the operator can, then shipping; the buyer
        # confirms delivery, which closes the order.
        denied = await node.graphql(
            ADVANCE, {"id": order_id, "stage": "INSPECTED"}, headers=buyer, expect_errors=True
        )
        assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        early = await node.graphql(
            ADVANCE, {"id": order_id, "stage": "SHIPPED"}, headers=operator, expect_errors=True
        )
        assert early["errors"][0]["extensions"]["code"] == "STAGE_OUT_OF_ORDER"
        for stage, who in (("INSPECTED", operator), ("SHIPPED", operator), ("DELIVERED", buyer)):
            await node.graphql(ADVANCE, {"id": order_id, "stage": stage}, headers=who)
        state = (await node.graphql(BUYER_ORDER, {"id": order_id}, headers=buyer))["order"]
        assert state["status"] == "DONE"
        assert [p["stage"] for p in state["progress"]] == [
            "PLACED", "ACCEPTED", "PLANNED", "DISPATCHED", "CONFIRMED", "MATERIALS_READY",
            "IN_PRODUCTION", "SEMI_FINISHED", "FINISHED", "INSPECTED", "SHIPPED", "DELIVERED",
        ]  # fmt: skip
        assert all(p["reached"] for p in state["progress"])

        # Another buyer sees nothing of it.
        other_id, other_secret = await create_client(
            hub, org="Someone Else", org_kind="consumer", scopes=["orders:read"]
        )
        other = bearer(await client_token(hub, other_id, other_secret, "orders:read", NODE_URL))
        # To them it is not there: the same answer as for an id that is not on the node.
        for some_id in (order_id, str(uuid.uuid4())):
            hidden = await node.graphql(ORDER, {"id": some_id}, headers=other, expect_errors=True)
            assert hidden["errors"][0]["extensions"]["code"] == "ORDER_NOT_FOUND"
            assert hidden["errors"][0]["message"] == f"no order {some_id} on this node"
        listed = await node.graphql("{ orders { edges { node { id } } } }", headers=other)
        assert listed["orders"]["edges"] == []


async def test_a_breakdown_replans_from_today_keeping_finished_work(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        setup = await _setup(hub, node)
        operator, buyer = setup["operator"], setup["buyer"]
        order_id = (await node.graphql(PLACE, _order(), headers=buyer))["placeOrder"]["id"]
        await node.graphql(PLAN, {"id": order_id}, headers=operator)
        work_orders = (await node.graphql(DISPATCH, {"id": order_id}, headers=operator))[
            "dispatchOrder"
        ]
        # Two days of production as planned, reported.
        reported: dict[tuple[str, str, str], int] = {}
        for w in work_orders:
            for day, units in w["daily"].items():
                if dt.date.fromisoformat(day) < START + dt.timedelta(2):
                    report = {"kind": "IN_PRODUCTION", "day": day, "good": units}
                    await node.graphql(REPORT, {"id": w["id"], "input": report}, headers=operator)
                    reported[(w["step"], w["factoryId"], day)] = units
        assert reported
        # The busiest weaver's looms break on day 3 for three days.
        weaving: dict[str, int] = defaultdict(int)
        for w in work_orders:
            if w["step"] == "weave":
                weaving[w["factoryId"]] += w["quantity"]
        broken = max(weaving, key=weaving.__getitem__)
        first, last = START + dt.timedelta(2), START + dt.timedelta(4)
        # A breakdown names the alert that revealed it only if that alert is the factory's.
        stray = {
            "input": {
                "factoryId": broken, "firstDay": first.isoformat(), "lastDay": last.isoformat(),
                "alertId": str(uuid.uuid4()),
            },
            "asOf": first.isoformat(),
        }  # fmt: skip
        refused = await node.graphql(BREAKDOWN, stray, headers=operator, expect_errors=True)
        assert refused["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
        assert "not an alert of" in refused["errors"][0]["message"]
        result = (
            await node.graphql(
                BREAKDOWN,
                {
                    "input": {
                        "factoryId": broken, "process": "weaving",
                        "firstDay": first.isoformat(), "lastDay": last.isoformat(),
                        "note": "main drive failed",
                    },
                    "asOf": first.isoformat(),
                },
                headers=operator,
            )
        )["reportBreakdown"]  # fmt: skip
        assert len(result["replanned"]) == 1
        assert result["replanned"][0]["version"] == 2
        assert result["replanned"][0]["replanEffect"]["asOf"] == first.isoformat()

        state = (await node.graphql(ORDER, {"id": order_id}, headers=operator))["order"]
        allocations = state["plan"]["allocations"]
        _check_capacity(allocations, setup["factories"])
        # Finished work is kept exactly: before day 3 the plan is what was reported.
        past = {
            (a["step"], a["factoryId"], a["day"]): a["units"]
            for a in allocations
            if dt.date.fromisoformat(a["day"]) < first
        }
        assert set(past) == set(reported)
        for key, units in reported.items():
            assert abs(past[key] - units) < 1e-6
        # The broken looms get no weaving while they are down.
        for a in allocations:
            if a["factoryId"] == broken and a["step"] == "weave":
                assert not first <= dt.date.fromisoformat(a["day"]) <= last
        # Work orders follow the new plan and keep what was made.
        for w in state["workOrders"]:
            made = sum(w["produced"].values())
            assert w["made"] == made
            assert w["quantity"] >= made
        assert [e["kind"] for e in state["events"]][-1] == "replanned"


async def test_orders_share_the_calendars_and_a_breakdown_ahead_replans_from_today(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    """Two orders on the same factories book hours once; a breakdown two days ahead re-plans
    from today (the days before it are still to be made), re-plans the order not yet
    dispatched too, does not fail because a dyer reported before its weaver, and shows a
    factory that reports it none of the orders' plans."""
    today = dt.datetime.now(dt.UTC).date()
    start = today - dt.timedelta(2)
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        mill_id, mill_secret = await create_client(
            hub, org="Keqiao Weavers", org_kind="factory", scopes=["factories:write"]
        )
        mill_org = (
            await hub.graphql(
                "{ viewer { organizationId } }",
                headers=bearer(await client_token(hub, mill_id, mill_secret, "factories:write")),
            )
        )["viewer"]["organizationId"]
        mill = bearer(await client_token(hub, mill_id, mill_secret, "factories:write", NODE_URL))
        setup = await _setup(hub, node, start=start, first_factory_org=mill_org)
        operator, buyer = setup["operator"], setup["buyer"]
        first = (await node.graphql(PLACE, _order(start=start), headers=buyer))["placeOrder"]
        await node.graphql(PLAN, {"id": first["id"]}, headers=operator)
        work_orders = (await node.graphql(DISPATCH, {"id": first["id"]}, headers=operator))[
            "dispatchOrder"
        ]
        second = (
            await node.graphql(PLACE, _order(150, 20, start=start), headers=buyer)
        )["placeOrder"]  # fmt: skip
        await node.graphql(PLAN, {"id": second["id"]}, headers=operator)

        async def allocations(order_id: str) -> list[dict[str, Any]]:
            state = (await node.graphql(ORDER, {"id": order_id}, headers=operator))["order"]
            return list(state["plan"]["allocations"])

        # The second order is planned on the hours the first one left.
        _check_capacity(
            await allocations(first["id"]) + await allocations(second["id"]), setup["factories"]
        )

        # A dyer reports yesterday's units before any weaver has reported.
        dyer = next(w for w in work_orders if w["step"] == "dye")
        yesterday = (today - dt.timedelta(1)).isoformat()
        report = {"kind": "IN_PRODUCTION", "day": yesterday, "good": 5}
        await node.graphql(REPORT, {"id": dyer["id"], "input": report}, headers=operator)

        # A weaver both orders weave with two or more days ahead breaks down then. Which days
        # and weavers the solver picks among equally cheap plans is its choice: take the first
        # two-day window from the day after tomorrow on where both orders weave at one mill.
        second_plan = await allocations(second["id"])
        last_day = start + dt.timedelta(DAYS - 1)
        broken = ""
        for ahead_days in range(2, (last_day - today).days + 1):
            down_first = today + dt.timedelta(ahead_days)
            down_last = min(down_first + dt.timedelta(1), last_day)
            window = (down_first.isoformat(), down_last.isoformat())
            weaving: dict[str, float] = defaultdict(float)
            for a in second_plan:
                if a["step"] == "weave" and window[0] <= a["day"] <= window[1]:
                    weaving[a["factoryId"]] += a["units"]
            shared = set(weaving) & {
                w["factoryId"]
                for w in work_orders
                if w["step"] == "weave" and any(window[0] <= d <= window[1] for d in w["daily"])
            }
            if shared:
                broken = max(shared, key=weaving.__getitem__)
                break
        assert broken, "the two orders never weave at one mill on the same day ahead"
        result = (
            await node.graphql(
                BREAKDOWN,
                {"input": {"factoryId": broken, "process": "weaving",
                           "firstDay": down_first.isoformat(), "lastDay": down_last.isoformat()}},
                headers=operator,
            )
        )["reportBreakdown"]  # fmt: skip
        assert result["breakdownId"]
        assert len(result["replanned"]) == 2  # the dispatched order and the planned one
        # A re-plan "as of" a day ahead would keep the days until then as made (nothing).
        ahead = await node.graphql(
            BREAKDOWN,
            {"input": {"factoryId": broken, "firstDay": window[0], "lastDay": window[1]},
             "asOf": (today + dt.timedelta(5)).isoformat()},
            headers=operator, expect_errors=True,
        )  # fmt: skip
        assert ahead["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
        state = (await node.graphql(ORDER, {"id": first["id"]}, headers=operator))["order"]
        effect = state["plan"]["replanEffect"]
        assert effect["asOf"] == today.isoformat()
        # The dyer's report is kept on its work order, not counted on by the re-plan.
        assert effect["reportsAhead"] == [
            {"step": "dye", "factory": effect["reportsAhead"][0]["factory"],
             "day": yesterday, "reported": 5.0, "kept": 0.0},
        ]  # fmt: skip
        # Today and tomorrow are still to be made: the re-plan weaves on them.
        soon = [
            a for a in state["plan"]["allocations"]
            if a["step"] == "weave" and today.isoformat() <= a["day"] < window[0]
        ]  # fmt: skip
        assert sum(a["units"] for a in soon) > 0
        dyed = next(w for w in state["workOrders"] if w["id"] == dyer["id"])
        assert dyed["made"] == 5
        assert dyed["produced"] == {yesterday: 5}
        both = await allocations(first["id"]) + await allocations(second["id"])
        _check_capacity(both, setup["factories"])
        for a in both:
            if a["factoryId"] == broken and a["step"] == "weave":
                assert not window[0] <= a["day"] <= window[1]

        # The first mill's people may report a breakdown there; the orders it re-plans are
        # not theirs to read.
        mill_0 = setup["factories"][0]["id"]
        versions = {
            o["id"]: (await node.graphql(ORDER, {"id": o["id"]}, headers=operator))["order"][
                "planVersion"
            ]
            for o in (first, second)
        }
        theirs = (
            await node.graphql(
                BREAKDOWN,
                {"input": {"factoryId": mill_0, "firstDay": start.isoformat(),
                           "lastDay": (start + dt.timedelta(DAYS - 1)).isoformat()}},
                headers=mill,
            )
        )["reportBreakdown"]  # fmt: skip
        assert theirs["breakdownId"]
        assert theirs["replanned"] == []
        after = {
            o["id"]: (await node.graphql(ORDER, {"id": o["id"]}, headers=operator))["order"][
                "planVersion"
            ]
            for o in (first, second)
        }
        assert any(after[k] == versions[k] + 1 for k in versions)  # something was re-planned


async def test_an_order_that_cannot_be_planned_names_the_constraint_and_writes_nothing(
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
        refused = await node.graphql(PLAN, {"id": order_id}, headers=operator, expect_errors=True)
        error = refused["errors"][0]
        assert error["extensions"]["code"] == "ORDER_INFEASIBLE"
        assert error["extensions"]["constraint"] == "NO_ELIGIBLE_FACTORY"
        assert "pack" in error["message"]
        state = (await node.graphql(ORDER, {"id": order_id}, headers=operator))["order"]
        assert state["plan"] is None
        assert state["stage"] == "PLACED"

        # The buyer pages through its orders, newest first; a forged cursor is refused.
        second = (await node.graphql(PLACE, _order(), headers=buyer))["placeOrder"]["id"]
        page = """query($after: String) {
            orders(first: 1, after: $after) { edges { cursor node { id } } } }"""
        first_page = (await node.graphql(page, {}, headers=buyer))["orders"]["edges"]
        assert [e["node"]["id"] for e in first_page] == [second]
        next_page = (await node.graphql(page, {"after": first_page[0]["cursor"]}, headers=buyer))[
            "orders"
        ]["edges"]
        assert [e["node"]["id"] for e in next_page] == [order_id]
        # A well-formed cursor whose key is not (time, id): ["x", "y"].
        forged = await node.graphql(
            page, {"after": "WyJ4IiwieSJd"}, headers=buyer, expect_errors=True
        )
        assert forged["errors"][0]["extensions"]["code"] == "INVALID_INPUT"

        # Bad input elsewhere: a broken routing, an unknown product, a buyer without the scope.
        broken = await node.graphql(
            IMPORT, {"text": ROUTING.replace('after = ["dye"]', 'after = ["spin"]')},
            headers=operator, expect_errors=True,
        )  # fmt: skip
        assert broken["errors"][0]["extensions"]["code"] == "ROUTING_INVALID"
        assert "spin" in broken["errors"][0]["message"]
        import_json = (
            'mutation($text: String!) { importRouting(text: $text, format: "json") { version } }'
        )
        for cost in ("NaN", "Infinity", "1e300", "true"):
            text = (
                '{"product": "nan-cost", "steps": [{"id": "weave", "process": "weaving", '
                f'"hours_per_unit": 0.5, "unit_cost": {cost}}}]}}'
            )
            bad = await node.graphql(
                import_json, {"text": text}, headers=operator, expect_errors=True
            )
            assert bad["errors"][0]["extensions"]["code"] == "ROUTING_INVALID", cost
            assert "unit_cost" in bad["errors"][0]["message"]
        huge = await node.graphql(
            PLACE, _order(quantity=2_000_000_000), headers=buyer, expect_errors=True
        )
        assert huge["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
        unknown = _order()
        unknown["input"]["product"] = "no-such-thing"
        missing = await node.graphql(PLACE, unknown, headers=buyer, expect_errors=True)
        assert missing["errors"][0]["extensions"]["code"] == "ROUTING_NOT_FOUND"
        reader_id, reader_secret = await create_client(
            hub, org="Reader Co", org_kind="consumer", scopes=["orders:read"]
        )
        reader = bearer(await client_token(hub, reader_id, reader_secret, "orders:read", NODE_URL))
        denied = await node.graphql(PLACE, _order(), headers=reader, expect_errors=True)
        assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
