"""What the web console asks the node beyond its domain pages: who is signed in and what they
may do (`viewer`, whose `can` must agree with what the API then does), the operator's
`overview`, the node-wide alert feed, the audit trail of one thing, and the data products and
market installations of the node."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from regional_node.devices.models import Device
from regional_node.state import node_state
from tests.conftest import HubFactory, NodeFactory
from tests.nodes import active_factory, operator_headers, provision
from tests.support import (
    InProcessService,
    bearer,
    client_token,
    create_client,
    served,
    subscribed,
)
from yunfab.processes import free_port

NODE_URL = "http://zj-textile.test"

VIEWER = """
{
  viewer {
    kind subject organizationId organizationKind node scopes factories { slug }
    can {
      readOverview readFactories manageFactories editFactoryProfile readDevices provisionDevices
      readDeadLetters readAlerts respondToAlerts manageAlerts manageContactPoints readOrders
      placeOrders planOrders importRoutings reportWork readSchedules manageSchedules readVision
      manageVision trainVisionModels readVisionImages readAudit readDataProducts
      readInstallations
    }
  }
}
"""
INVITE = "mutation($input: InviteFactoryInput!) { inviteFactory(input: $input) { id } }"
PROVISION = """
mutation($input: ProvisionDeviceInput!) { provisionDevice(input: $input) { username } }
"""
ROUTING = """
product = "plain-tee"
name = "Plain T-shirt"
unit = "piece"

[[steps]]
id = "sew"
process = "sewing"
hours_per_unit = 0.1
unit_cost = 1.0
"""
IMPORT = "mutation($text: String!) { importRouting(text: $text) { version } }"
PLACE = "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id number stage } }"
OVERVIEW = """
{
  overview {
    asOf
    factories { status count }
    devices { online offline neverSeen total windowS }
    openAlerts { severity open acknowledged }
    orders { stage count }
    ordersByStatus { status count }
    today { day timeZone planned produced workOrders }
    hubLink { status hubUrl }
  }
}
"""
AUDIT = "{ auditLog(first: 1) { totalCount } }"
FACTORIES = "{ factories(first: 1) { edges { node { slug } } } }"
DATA_PRODUCTS = """
query($first: Int!, $after: String) {
  dataProducts(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node {
      key title updateFrequency fields { name type role } offers publicSample
      nextSeq needsSnapshot pendingBatches queuedRows
    } }
  }
}
"""
INSTALLATIONS = """
query($state: MarketInstallState) {
  marketInstallations(state: $state) { totalCount edges { node { id state listing } } }
  marketTrustFetchedAt
}
"""
REFUSALS = {"FORBIDDEN", "UNAUTHENTICATED", "TOKEN_MISSING", "FACTORY_NOT_FOUND"}


def _code(answer: dict[str, Any]) -> str:
    return str(answer["errors"][0]["extensions"]["code"])


async def _done(
    node: InProcessService, query: str, variables: dict[str, Any], headers: Any
) -> bool:
    """True when the API did it, False when it refused; anything else fails the test (an
    anonymous caller may be refused for want of an organization before the policy is asked)."""
    response = await node.client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    body = response.json()
    if not body.get("errors"):
        return True
    assert _code(body) in REFUSALS or not headers, body
    return False


async def _people(hub: InProcessService, node: InProcessService) -> dict[str, Any]:
    """Each kind of caller the console serves, with an active factory of the staff's own."""
    operator = await operator_headers(hub, NODE_URL)
    mill_id, mill_secret = await create_client(
        hub, org="Keqiao Weaving", org_kind="factory", scopes=["factories:write", "devices:write"]
    )
    devices = bearer(
        await client_token(hub, mill_id, mill_secret, "factories:write devices:write", NODE_URL)
    )
    org = (await node.graphql("{ viewer { organizationId } }", headers=devices))["viewer"][
        "organizationId"
    ]
    own = await active_factory(node.client, operator, "keqiao-weaving", organization_id=org)
    staff = bearer(await client_token(hub, mill_id, mill_secret, "factories:write", NODE_URL))
    buyer_id, buyer_secret = await create_client(
        hub, org="Hangzhou Shirts", org_kind="consumer", scopes=["orders:write"]
    )
    buyer = bearer(await client_token(hub, buyer_id, buyer_secret, "orders:write", NODE_URL))
    await node.graphql(IMPORT, {"text": ROUTING}, headers=operator)
    return {
        "roles": {
            "operator": operator,
            "factory device manager": devices,
            "factory staff": staff,
            "buyer": buyer,
            "anonymous": {},
        },
        "own": own,
    }


async def test_viewer_can_agrees_with_what_the_api_then_does_for_each_kind_of_caller(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        people = await _people(hub, node)
        own = people["own"]
        today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
        expected = {
            "operator": {"readOverview", "readFactories", "manageFactories", "provisionDevices",
                         "readAudit", "readDataProducts", "readInstallations", "planOrders"},
            "factory device manager": {"readFactories", "provisionDevices", "editFactoryProfile",
                                       "reportWork"},
            "factory staff": {"readFactories", "editFactoryProfile", "reportWork"},
            "buyer": {"placeOrders", "readOrders"},
            "anonymous": set(),
        }  # fmt: skip
        for role, headers in people["roles"].items():
            viewer = (await node.graphql(VIEWER, headers=headers))["viewer"]
            can: dict[str, bool] = viewer["can"]
            granted = {name for name, yes in can.items() if yes}
            assert expected[role] <= granted, (role, granted)
            if role == "anonymous":
                assert (viewer["kind"], granted) == ("anonymous", set())
            if role.startswith("factory"):
                assert viewer["organizationKind"] == "factory"
                assert viewer["factories"] == [{"slug": "keqiao-weaving"}]
            else:
                assert viewer["factories"] == []

            # What `can` says is what the API does, operation by operation.
            slug = f"f-{uuid.uuid4().hex[:8]}"
            done = {
                "manageFactories": await _done(
                    node, INVITE, {"input": {"slug": slug, "name": f"Mill {slug}"}}, headers
                ),
                "provisionDevices": await _done(
                    node,
                    PROVISION,
                    {
                        "input": {
                            "factoryId": own["id"],
                            "key": f"keqiao-weaving-{slug}",
                            "name": "Loom",
                            "type": "loom",
                            "metrics": [{"name": "rpm", "unit": "rpm"}],
                        }
                    },
                    headers,
                ),  # fmt: skip
                "placeOrders": await _done(
                    node,
                    PLACE,
                    {
                        "input": {
                            "product": "plain-tee",
                            "quantity": 10,
                            "dailyTarget": 10,
                            "startDate": today.isoformat(),
                            "dueDate": (today + dt.timedelta(days=3)).isoformat(),
                        }
                    },
                    headers,
                ),  # fmt: skip
                "readOverview": await _done(node, OVERVIEW, {}, headers),
                "readFactories": await _done(node, FACTORIES, {}, headers),
                "readAudit": await _done(node, AUDIT, {}, headers),
                "readDataProducts": await _done(node, DATA_PRODUCTS, {"first": 5}, headers),
                "readInstallations": await _done(node, INSTALLATIONS, {}, headers),
            }
            assert done == {name: can[name] for name in done}, role


RULE = "mutation($input: AlertRuleInput!) { createAlertRule(input: $input) { id } }"
CAPACITY = """
mutation($id: UUID!, $days: [CapacityDayInput!]!) {
  setFactoryCapacity(factoryId: $id, days: $days)
}
"""
PLAN = "mutation($id: UUID!) { planOrder(id: $id, timeLimitS: 10) { status } }"
DISPATCH = """
mutation($id: UUID!) { dispatchOrder(id: $id) { id days { day planned produced } } }
"""
REPORT = """
mutation($id: UUID!, $input: WorkReportInput!) {
  reportWork(workOrderId: $id, input: $input) { made }
}
"""
ACKNOWLEDGE = "mutation($id: UUID!) { acknowledgeAlert(id: $id) { status } }"
ALERTS = "{ alerts(filter: {status: [OPEN]}) { edges { node { id severity } } } }"


async def _send(node: InProcessService, device: dict[str, Any], metrics: dict[str, float]) -> None:
    sent = await node.client.post(
        "/api/v1/telemetry",
        json={"devices": {device["username"]: {"readings": [
            {"ts": int(time.time() * 1000), "metrics": metrics}
        ]}}},
        auth=(device["username"], device["password"]),
    )  # fmt: skip
    assert sent.json()["accepted"] == len(metrics), sent.text


def _rule(name: str, metric: str, above: float, severity: str) -> dict[str, Any]:
    return {
        "input": {
            "name": name, "kind": "THRESHOLD", "metric": metric, "above": above,
            "deviceType": "injection_moulding", "severity": severity,
        }
    }  # fmt: skip


def _order(today: dt.date) -> dict[str, Any]:
    return {
        "input": {
            "product": "plain-tee", "quantity": 40, "dailyTarget": 10,
            "startDate": today.isoformat(), "dueDate": (today + dt.timedelta(days=3)).isoformat(),
        }
    }  # fmt: skip


async def test_overview_counts_the_node_for_its_operator_and_nobody_else(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        people = await _people(hub, node)
        operator, own = people["roles"]["operator"], people["own"]
        await node.graphql(
            INVITE, {"input": {"slug": "haining-knit", "name": "Haining Knit"}}, headers=operator
        )
        today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
        days = [
            {"process": "sewing", "day": (today + dt.timedelta(d)).isoformat(),
             "availableHours": 8.0, "hourlyRate": 30.0}
            for d in range(4)
        ]  # fmt: skip
        await node.graphql(CAPACITY, {"id": own["id"], "days": days}, headers=operator)

        # Devices: one reporting now, one last heard of an hour ago, one never heard of.
        online, stale, _ = [await provision(node.client, operator, own["id"]) for _ in range(3)]
        await _send(node, online, {"clamp_force_kn": 500})
        await _send(node, stale, {"clamp_force_kn": 500})
        async with node_state(node.app).db.sessionmaker() as session:
            await session.execute(
                update(Device)
                .where(Device.key == stale["username"])
                .values(last_seen_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
            )
            await session.commit()

        # Alerts: a critical one open, a warning acknowledged.
        await node.graphql(
            RULE, _rule("Clamp", "clamp_force_kn", 900, "CRITICAL"), headers=operator
        )
        await node.graphql(RULE, _rule("Mould", "mould_temp_c", 100, "WARNING"), headers=operator)
        await _send(node, online, {"clamp_force_kn": 950, "mould_temp_c": 120})
        opened = {
            e["node"]["severity"]: e["node"]["id"]
            for e in (await node.graphql(ALERTS, headers=operator))["alerts"]["edges"]
        }
        await node.graphql(ACKNOWLEDGE, {"id": opened["WARNING"]}, headers=operator)

        # An order planned from today, dispatched, and units reported for today.
        buyer = people["roles"]["buyer"]
        order = (await node.graphql(PLACE, _order(today), headers=buyer))["placeOrder"]
        assert (await node.graphql(PLAN, {"id": order["id"]}, headers=operator))["planOrder"][
            "status"
        ] in ("optimal", "feasible")
        work = (await node.graphql(DISPATCH, {"id": order["id"]}, headers=operator))[
            "dispatchOrder"
        ]
        planned_today = sum(
            d["planned"] for w in work for d in w["days"] if d["day"] == today.isoformat()
        )
        assert planned_today > 0
        report = {"kind": "IN_PRODUCTION", "day": today.isoformat(), "good": 4}
        await node.graphql(REPORT, {"id": work[0]["id"], "input": report}, headers=operator)
        stage = (
            await node.graphql(
                "query($id: UUID!) { order(id: $id) { stage } }", {"id": order["id"]}, headers=buyer
            )
        )["order"]["stage"]

        seen = (await node.graphql(OVERVIEW, headers=operator))["overview"]
        factories = {f["status"]: f["count"] for f in seen["factories"]}
        assert (factories["ACTIVE"], factories["INVITED"], sum(factories.values())) == (1, 1, 2)
        assert seen["devices"] == {
            "online": 1, "offline": 1, "neverSeen": 1, "total": 3, "windowS": 300,
        }  # fmt: skip
        assert seen["openAlerts"] == [
            {"severity": "CRITICAL", "open": 1, "acknowledged": 0},
            {"severity": "WARNING", "open": 0, "acknowledged": 1},
            {"severity": "INFO", "open": 0, "acknowledged": 0},
        ]
        stages = {o["stage"]: o["count"] for o in seen["orders"]}
        assert len(stages) == 12
        assert stages[stage] == 1
        assert sum(stages.values()) == 1
        assert seen["today"] == {
            "day": today.isoformat(), "timeZone": "Asia/Shanghai",
            "planned": planned_today, "produced": 4, "workOrders": 1,
        }  # fmt: skip
        assert seen["hubLink"]["hubUrl"] == "http://hub.test"

        # Operators only, like the node's other operator queries.
        for role in ("factory device manager", "buyer", "anonymous"):
            refused = await node.graphql(
                OVERVIEW, headers=people["roles"][role], expect_errors=True
            )
            assert _code(refused) in REFUSALS
            assert refused["data"] is None


FEED = "subscription { alertChanges { id severity status factoryId } }"
CRITICAL_FEED = "subscription { alertChanges(severity: [CRITICAL]) { severity } }"


async def _next(ws: Any, timeout_s: float = 10) -> dict[str, Any]:
    message = json.loads(await asyncio.wait_for(ws.recv(), timeout_s))
    assert message["type"] == "next", message
    payload: dict[str, Any] = message["payload"]["data"]["alertChanges"]
    return payload


async def test_alert_changes_is_the_node_wide_inbox_of_what_each_subscriber_may_see(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        people = await _people(hub, node)
        operator = people["roles"]["operator"]
        mill = people["roles"]["factory device manager"]["authorization"].removeprefix("Bearer ")
        theirs = await active_factory(node.client, operator, "haining-knit")
        ours = await provision(node.client, operator, people["own"]["id"])
        other = await provision(node.client, operator, theirs["id"])
        await node.graphql(
            RULE, _rule("Clamp", "clamp_force_kn", 900, "CRITICAL"), headers=operator
        )
        await node.graphql(RULE, _rule("Mould", "mould_temp_c", 100, "WARNING"), headers=operator)
        token = operator["authorization"].removeprefix("Bearer ")

        async with (
            served(node.app, free_port(), lifespan="off") as url,
            subscribed(url, FEED, token) as inbox,
            subscribed(url, CRITICAL_FEED, token) as critical,
            subscribed(url, FEED, mill) as factory_feed,
        ):
            await asyncio.sleep(0.3)
            # Another factory's alert: the operator sees it, the mill's people do not.
            await _send(node, other, {"mould_temp_c": 120})
            warning = await _next(inbox)
            assert (warning["severity"], warning["status"]) == ("WARNING", "OPEN")
            assert warning["factoryId"] == theirs["id"]
            # Their own factory's: both see it; the critical-only feed sees only this one.
            await _send(node, ours, {"clamp_force_kn": 950})
            own = await _next(factory_feed)
            assert (own["severity"], own["factoryId"]) == ("CRITICAL", people["own"]["id"])
            assert (await _next(inbox))["id"] == own["id"]
            assert await _next(critical) == {"severity": "CRITICAL"}
            # Changes follow: acknowledging is an event too.
            await node.graphql(ACKNOWLEDGE, {"id": own["id"]}, headers=operator)
            assert (await _next(factory_feed))["status"] == "ACKNOWLEDGED"

        # Who may not list alerts may not follow them.
        buyer = people["roles"]["buyer"]["authorization"].removeprefix("Bearer ")
        async with (
            served(node.app, free_port(), lifespan="off") as url,
            subscribed(url, FEED, buyer) as refused,
        ):
            message = json.loads(await asyncio.wait_for(refused.recv(), 10))
            assert message["type"] == "error", message
            assert message["payload"][0]["extensions"]["code"] == "FORBIDDEN"


AUDIT_TRAIL = """
query(
  $factoryId: UUID, $factorySlug: String, $orderId: UUID, $orderNumber: String, $deviceId: UUID,
  $deviceKey: String, $since: DateTime, $until: DateTime, $action: String, $first: Int! = 50,
  $after: String
) {
  auditLog(
    factoryId: $factoryId, factorySlug: $factorySlug, orderId: $orderId, orderNumber: $orderNumber,
    deviceId: $deviceId, deviceKey: $deviceKey, since: $since, until: $until, action: $action,
    first: $first, after: $after
  ) { totalCount pageInfo { hasNextPage endCursor } edges { node { seq at action resource } } }
}
"""


async def test_audit_log_narrows_to_a_factory_order_or_device_and_a_time_range(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        people = await _people(hub, node)
        operator, own = people["roles"]["operator"], people["own"]
        theirs = await active_factory(node.client, operator, "haining-knit")
        press = await provision(node.client, operator, own["id"], "keqiao-weaving-press-1")
        await provision(node.client, operator, theirs["id"], "haining-knit-press-1")
        today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
        order = (await node.graphql(PLACE, _order(today), headers=people["roles"]["buyer"]))[
            "placeOrder"
        ]

        async def trail(**args: Any) -> dict[str, Any]:
            found: dict[str, Any] = (await node.graphql(AUDIT_TRAIL, args, headers=operator))[
                "auditLog"
            ]
            return found

        everything = await trail()
        by_slug = await trail(factorySlug="keqiao-weaving")
        resources = {e["node"]["resource"] for e in by_slug["edges"]}
        assert resources == {"factory:keqiao-weaving", "device:keqiao-weaving-press-1"}
        assert by_slug["totalCount"] == len(by_slug["edges"]) < everything["totalCount"]
        assert await trail(factoryId=own["id"]) == by_slug
        device = await trail(deviceId=press["device"]["id"])
        assert {e["node"]["resource"] for e in device["edges"]} == {"device:keqiao-weaving-press-1"}
        assert await trail(deviceKey="keqiao-weaving-press-1") == device
        placed = await trail(orderId=order["id"])
        assert [e["node"]["resource"] for e in placed["edges"]] == [f"order:{order['number']}"]
        assert await trail(orderNumber=order["number"]) == placed

        # A time range: the entries' own times, `since` inclusive and `until` exclusive.
        times = sorted(dt.datetime.fromisoformat(e["node"]["at"]) for e in everything["edges"])
        middle = times[len(times) // 2]
        before = await trail(until=middle.isoformat())
        after = await trail(since=middle.isoformat())
        assert before["totalCount"] + after["totalCount"] == everything["totalCount"]
        assert all(dt.datetime.fromisoformat(e["node"]["at"]) < middle for e in before["edges"])
        assert (await trail(factorySlug="keqiao-weaving", until=times[0].isoformat()))[
            "totalCount"
        ] == 0

        # The arguments it had still work: an action, pages.
        invites = await trail(action="node.factory.invite", first=1)
        assert invites["totalCount"] == 2
        assert invites["pageInfo"]["hasNextPage"]
        rest = await trail(action="node.factory.invite", after=invites["pageInfo"]["endCursor"])
        assert len(rest["edges"]) == 1

        # Two targets, a range backwards, an id not on the node.
        cases = [
            ({"factorySlug": "keqiao-weaving", "deviceKey": "keqiao-weaving-press-1"},
             "BAD_USER_INPUT"),
            ({"since": middle.isoformat(), "until": times[0].isoformat()}, "INVALID_INPUT"),
            ({"factoryId": str(uuid.uuid4())}, "FACTORY_NOT_FOUND"),
            ({"orderId": str(uuid.uuid4())}, "ORDER_NOT_FOUND"),
            ({"deviceId": str(uuid.uuid4())}, "DEVICE_NOT_FOUND"),
        ]  # fmt: skip
        for args, code in cases:
            wrong = await node.graphql(AUDIT_TRAIL, args, headers=operator, expect_errors=True)
            assert _code(wrong) == code, args
        refused = await node.graphql(
            AUDIT_TRAIL, {"factoryId": own["id"]}, headers=people["roles"]["factory staff"],
            expect_errors=True,
        )  # fmt: skip
        assert _code(refused) == "FORBIDDEN"


async def test_data_products_and_market_installations_as_the_rest_endpoints_allow(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    from regional_node.market.models import Installation, InstallState

    async with hub_factory() as hub, node_factory(hub=hub) as node:
        people = await _people(hub, node)
        operator, staff = people["roles"]["operator"], people["roles"]["factory device manager"]

        first = (await node.graphql(DATA_PRODUCTS, {"first": 2}, headers=operator))["dataProducts"]
        assert first["totalCount"] == len(node_state(node.app).settings.data_products) == 4
        assert first["pageInfo"]["hasNextPage"]
        rest = (
            await node.graphql(
                DATA_PRODUCTS,
                {"first": 2, "after": first["pageInfo"]["endCursor"]},
                headers=operator,
            )  # fmt: skip
        )["dataProducts"]
        keys = [e["node"]["key"] for e in first["edges"] + rest["edges"]]
        assert keys == sorted(node_state(node.app).settings.data_products)
        assert not rest["pageInfo"]["hasNextPage"]
        for edge in first["edges"] + rest["edges"]:
            product = edge["node"]
            assert product["title"]
            assert product["fields"]
            assert product["offers"]
            assert product["pendingBatches"] >= 0
            assert product["queuedRows"] >= 0

        # Installations as the installer records them, newest first, filtered and counted.
        async with node_state(node.app).db.sessionmaker() as session:
            for index, state in enumerate((InstallState.INSTALLED, InstallState.FAILED)):
                session.add(
                    Installation(
                        id=f"inst-{index}", release_id=f"rel-{index}", listing="bracket-defects",
                        version=f"1.{index}", kind="vision_model", digest="0" * 64, state=state,
                        error="signature_invalid" if state is InstallState.FAILED else None,
                        created_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=index),
                    )
                )  # fmt: skip
            await session.commit()
        listed = await node.graphql(INSTALLATIONS, {}, headers=operator)
        assert listed["marketInstallations"]["totalCount"] == 2
        assert [e["node"]["id"] for e in listed["marketInstallations"]["edges"]] == [
            "inst-1", "inst-0",
        ]  # fmt: skip
        failed = await node.graphql(INSTALLATIONS, {"state": "FAILED"}, headers=operator)
        assert failed["marketInstallations"]["edges"] == [
            {"node": {"id": "inst-1", "state": "FAILED", "listing": "bracket-defects"}}
        ]
        assert failed["marketInstallations"]["totalCount"] == 1
        shown = await node.client.get("/api/v1/market/installations", headers=operator)
        assert [row["id"] for row in shown.json()["installations"]] == ["inst-1", "inst-0"]

        # Who the REST endpoint refuses, GraphQL refuses too.
        assert (
            await node.client.get("/api/v1/market/installations", headers=staff)
        ).status_code == 403
        for query, variables in ((INSTALLATIONS, {}), (DATA_PRODUCTS, {"first": 5})):
            refused = await node.graphql(query, variables, headers=staff, expect_errors=True)
            assert _code(refused) == "FORBIDDEN"


FEED_OF = 'subscription { stationInspections(stationId: "%s") { %s } }'


async def test_a_stations_inspection_feed_shows_each_part_with_its_heatmap_and_image(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    from tests.test_vision_api import BRACKET, INSPECT, SIZE, b64, flawed, station_running
    from yunfab_demo.synthetic import generate

    async with hub_factory() as hub, node_factory(hub=hub) as node:
        people = await _people(hub, node)
        staff = people["roles"]["factory staff"]
        good = [s.image for s in generate(BRACKET, good=12, size=SIZE, seed=0)]
        station, _ = await station_running(node, staff, people["own"]["id"], "line-1", good[:10])
        outsider_id, outsider_secret = await create_client(
            hub, org="Haining Knit", org_kind="factory", scopes=["factories:write"]
        )
        outsider = await client_token(
            hub, outsider_id, outsider_secret, "factories:write", NODE_URL
        )

        fields = "record { id verdict score } heatmapPng imagePath imageThreshold peopleMasked"
        token = staff["authorization"].removeprefix("Bearer ")
        async with (
            served(node.app, free_port(), lifespan="off") as url,
            subscribed(url, FEED_OF % (station["id"], fields), token) as ws,
            subscribed(url, FEED_OF % (station["id"], "record { id }"), outsider) as refused,
        ):
            denied = json.loads(await asyncio.wait_for(refused.recv(), 10))
            assert denied["type"] == "next", denied
            assert denied["payload"]["data"] is None
            assert _code(denied["payload"]) == "STATION_NOT_FOUND"
            await asyncio.sleep(0.2)
            inspected = (
                await node.graphql(
                    INSPECT, {"s": station["id"], "image": b64(flawed(good[11]))}, headers=staff
                )
            )["inspectPart"]
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert message["type"] == "next", message
            part = message["payload"]["data"]["stationInspections"]
            assert part["record"]["id"] == inspected["record"]["id"]
            assert part["record"]["verdict"] == inspected["record"]["verdict"]
            assert part["heatmapPng"] == inspected["heatmapPng"]
            assert part["imagePath"] == f"/api/v1/quality-records/{part['record']['id']}/image"
            image = await node.client.get(part["imagePath"], headers=staff)
            assert image.status_code == 200
            assert image.headers["content-type"].startswith("image/")


DEVICE_TYPES = """
query($f: UUID) { deviceTypes(factoryId: $f) { type metrics { name unit } } }
"""


async def test_device_types_offer_what_an_alert_rule_on_a_type_accepts(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        people = await _people(hub, node)
        operator, own = people["roles"]["operator"], people["own"]
        manager = people["roles"]["factory device manager"]
        theirs = await active_factory(node.client, operator, "haining-knit")
        await provision(node.client, operator, own["id"])
        await provision(
            node.client, operator, theirs["id"], type="knitter",
            metrics=[{"name": "rpm", "unit": "1/min"}],
        )  # fmt: skip

        ours = (await node.graphql(DEVICE_TYPES, {"f": own["id"]}, headers=manager))["deviceTypes"]
        assert ours == [
            {"type": "injection_moulding", "metrics": [
                {"name": "clamp_force_kn", "unit": "kN"}, {"name": "mould_temp_c", "unit": "degC"},
            ]}
        ]  # fmt: skip
        every = (await node.graphql(DEVICE_TYPES, {}, headers=operator))["deviceTypes"]
        assert [t["type"] for t in every] == ["injection_moulding", "knitter"]

        # What it offers, a rule accepts; what it does not, a rule refuses.
        for metric, accepted in (("mould_temp_c", True), ("rpm", False)):
            rule = {"input": {
                "name": metric, "kind": "THRESHOLD", "metric": metric, "above": 1,
                "deviceType": "injection_moulding", "factoryId": own["id"],
            }}  # fmt: skip
            answer = (
                await node.client.post(
                    "/graphql", json={"query": RULE, "variables": rule}, headers=manager
                )
            ).json()
            assert (not answer.get("errors")) is accepted, answer

        # Node-wide is the operator's; another factory's is not there for its neighbour.
        wide = await node.graphql(DEVICE_TYPES, {}, headers=manager, expect_errors=True)
        assert _code(wide) == "FORBIDDEN"
        other = await node.graphql(
            DEVICE_TYPES, {"f": theirs["id"]}, headers=manager, expect_errors=True
        )
        assert _code(other) == "FACTORY_NOT_FOUND"


PROGRESS = 'subscription { visionTrainingProgress(key: "%s") { stage done total modelId error } }'
TRAIN_FOLLOWED = """
mutation($input: TrainVisionModelInput!) { trainVisionModel(input: $input) { id } }
"""


async def _steps(ws: Any) -> list[dict[str, Any]]:
    """A training job's steps, up to the subscription's end."""
    steps: list[dict[str, Any]] = []
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 60))
        if message["type"] == "complete":
            return steps
        assert message["type"] == "next", message
        steps.append(message["payload"]["data"]["visionTrainingProgress"])


async def test_training_a_model_tells_its_starter_each_step_until_done_or_failed(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    from tests.test_vision_api import BRACKET, SIZE, b64
    from yunfab_demo.synthetic import generate

    async with hub_factory() as hub, node_factory(hub=hub) as node:
        people = await _people(hub, node)
        staff, operator = people["roles"]["factory staff"], people["roles"]["operator"]
        good = [b64(s.image) for s in generate(BRACKET, good=10, size=SIZE, seed=0)]
        key, other_key = uuid.uuid4(), uuid.uuid4()
        job = {"factoryId": people["own"]["id"], "sku": "bracket", "good": good}
        token = staff["authorization"].removeprefix("Bearer ")
        async with (
            served(node.app, free_port(), lifespan="off") as url,
            subscribed(url, PROGRESS % key, token) as mine,
            subscribed(url, PROGRESS % key, operator["authorization"][7:]) as someone_elses,
            subscribed(url, PROGRESS % other_key, token) as failing,
        ):
            await asyncio.sleep(0.2)
            trained = await node.graphql(
                TRAIN_FOLLOWED, {"input": {**job, "progressKey": str(key)}}, headers=staff
            )
            steps = await _steps(mine)
            stages = [s["stage"] for s in steps]
            assert stages[0] == "DECODING"
            assert stages[-2:] == ["STORING", "DONE"]
            assert {"FITTING", "CALIBRATING"} <= set(stages)
            decoding = [s for s in steps if s["stage"] == "DECODING"]
            assert [s["done"] for s in decoding] == list(range(1, 11))
            assert {s["total"] for s in decoding} == {10}
            assert steps[-1]["modelId"] == trained["trainVisionModel"]["id"]
            # The same key from someone else is not their job.
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(someone_elses.recv(), 0.5)

            # Too few images: refused, and the job says so.
            refused = await node.graphql(
                TRAIN_FOLLOWED,
                {"input": {**job, "good": good[:2], "progressKey": str(other_key)}},
                headers=staff, expect_errors=True,
            )  # fmt: skip
            assert _code(refused) == "INVALID_INPUT"
            assert (await _steps(failing))[-1] == {
                "stage": "FAILED", "done": 0, "total": 0, "modelId": None,
                "error": "invalid_input",
            }  # fmt: skip
