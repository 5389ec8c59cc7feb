"""Looking things up on a node by the names people see (an order's number, a factory's slug, a
device's key), listing them with filters and totals, and reading each device's latest values:
what a console or a command line asks before anything else. Who may not see a thing is told it
is not there, as for a name that does not exist."""

from __future__ import annotations

import time
from typing import Any

from tests.conftest import HubFactory, NodeFactory
from tests.nodes import active_factory, factory_client, operator_headers, provision
from tests.support import InProcessService, bearer, client_token, create_client

NODE_URL = "http://zj-textile.test"

FACTORY = "query($id: UUID, $slug: String) { factory(id: $id, slug: $slug) { id slug } }"
FACTORIES = """
query($search: String, $status: FactoryStatus) {
  factories(search: $search, status: $status) { totalCount edges { node { slug } } }
}
"""
DEVICE = """
query($key: String, $metrics: [String!]) {
  device(key: $key) { id key latest(metrics: $metrics) { metric unit value at } }
}
"""
DEVICES = """
query($factoryId: UUID, $search: String, $status: DeviceStatus) {
  devices(factoryId: $factoryId, search: $search, status: $status) {
    totalCount edges { node { key latest { metric value } } }
  }
}
"""
DEAD = (
    "query($key: String) { deadLetters(deviceKey: $key) { totalCount edges { node { reason } } } }"
)
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
PLACE = "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id number } }"
ORDER = "query($id: UUID, $number: String) { order(id: $id, number: $number) { id number } }"
ORDERS = """
query($prefix: String, $product: String, $buyerOrg: String, $after: DateTime) {
  orders(numberPrefix: $prefix, product: $product, buyerOrg: $buyerOrg, createdAfter: $after) {
    totalCount edges { node { number } }
  }
}
"""
PROFILE = """
mutation($id: UUID!, $input: FactoryProfileInput!) {
  saveFactoryProfile(factoryId: $id, input: $input) {
    location { city timeZone } certifications { name validUntil }
  }
}
"""


def _code(answer: dict[str, Any]) -> str:
    return str(answer["errors"][0]["extensions"]["code"])


async def _buyer(hub: InProcessService, org: str) -> tuple[dict[str, str], str]:
    """A buyer organization's client: its headers on the node, and its organization id."""
    client_id, secret = await create_client(
        hub, org=org, org_kind="consumer", scopes=["orders:write"]
    )
    own = bearer(await client_token(hub, client_id, secret, "orders:write"))
    org_id = (await hub.graphql("{ viewer { organizationId } }", headers=own))["viewer"]
    token = await client_token(hub, client_id, secret, "orders:write", NODE_URL)
    return bearer(token), str(org_id["organizationId"])


async def test_factories_and_devices_by_slug_and_key_with_filters_totals_and_latest_values(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator = await operator_headers(hub, NODE_URL)
        client_id, secret, org = await factory_client(hub, "Keqiao Weaving")
        staff = bearer(await client_token(hub, client_id, secret, "factories:write", NODE_URL))
        own = await active_factory(node.client, operator, "keqiao-weaving", organization_id=org)
        other = await active_factory(node.client, operator, "haining-knit")
        press = await provision(node.client, operator, own["id"], "keqiao-weaving-press-1")
        await provision(node.client, operator, own["id"], "keqiao-weaving-loom-2")
        await provision(node.client, operator, other["id"], "haining-knit-press-1")

        # By slug: the factory's people find their own; another's slug is not there for them.
        found = await node.graphql(FACTORY, {"slug": "keqiao-weaving"}, headers=staff)
        assert found["factory"] == {"id": own["id"], "slug": "keqiao-weaving"}
        for slug in ("haining-knit", "no-such-mill"):
            hidden = await node.graphql(FACTORY, {"slug": slug}, headers=staff, expect_errors=True)
            assert _code(hidden) == "FACTORY_NOT_FOUND"
        for both_or_none in ({"id": own["id"], "slug": "keqiao-weaving"}, {}):
            vague = await node.graphql(FACTORY, both_or_none, headers=staff, expect_errors=True)
            assert _code(vague) == "BAD_USER_INPUT"

        # Filters with exact totals for the operator; row by row (no total) for the factory.
        listed = await node.graphql(FACTORIES, {"search": "KEQIAO"}, headers=operator)
        assert listed["factories"]["totalCount"] == 1
        active = await node.graphql(FACTORIES, {"status": "ACTIVE"}, headers=operator)
        assert active["factories"]["totalCount"] == 2
        mine = (await node.graphql(FACTORIES, {}, headers=staff))["factories"]
        assert [e["node"]["slug"] for e in mine["edges"]] == ["keqiao-weaving"]
        assert mine["totalCount"] is None

        # Devices: all for the operator, the factory's own for its people.
        presses = await node.graphql(DEVICES, {"search": "press"}, headers=operator)
        assert presses["devices"]["totalCount"] == 2
        ours = (await node.graphql(DEVICES, {}, headers=staff))["devices"]
        assert {e["node"]["key"] for e in ours["edges"]} == {
            "keqiao-weaving-press-1", "keqiao-weaving-loom-2",
        }  # fmt: skip
        counted = await node.graphql(
            DEVICES, {"factoryId": own["id"], "status": "PROVISIONED"}, headers=staff
        )
        assert counted["devices"]["totalCount"] == 2
        refused = await node.graphql(
            DEVICES, {"factoryId": other["id"]}, headers=staff, expect_errors=True
        )
        assert _code(refused) == "FACTORY_NOT_FOUND"
        hidden = await node.graphql(
            DEVICE, {"key": "haining-knit-press-1"}, headers=staff, expect_errors=True
        )
        assert _code(hidden) == "DEVICE_NOT_FOUND"

        # The latest value of each metric, by key, and on a device list.
        t = int(time.time() * 1000) - 10_000
        readings = [
            {"ts": t, "metrics": {"clamp_force_kn": 800.0, "mould_temp_c": 61.5}},
            {"ts": t + 1000, "metrics": {"clamp_force_kn": 900.0}},
            {"ts": t + 2000, "metrics": {"spindle_load_pct": 5}},  # not declared: dead letter
        ]
        sent = await node.client.post(
            "/api/v1/telemetry",
            json={"devices": {press["username"]: {"readings": readings}}},
            auth=(press["username"], press["password"]),
        )
        assert sent.json()["accepted"] == 3
        device = (await node.graphql(DEVICE, {"key": press["username"]}, headers=staff))["device"]
        latest = {v["metric"]: v for v in device["latest"]}
        assert {m: v["value"] for m, v in latest.items()} == {
            "clamp_force_kn": 900.0, "mould_temp_c": 61.5,
        }  # fmt: skip
        assert latest["clamp_force_kn"]["unit"] == "kN"
        one = await node.graphql(
            DEVICE, {"key": press["username"], "metrics": ["mould_temp_c"]}, headers=staff
        )
        assert [v["metric"] for v in one["device"]["latest"]] == ["mould_temp_c"]
        page = (await node.graphql(DEVICES, {"factoryId": own["id"]}, headers=staff))["devices"]
        values = {e["node"]["key"]: len(e["node"]["latest"]) for e in page["edges"]}
        assert values == {"keqiao-weaving-press-1": 2, "keqiao-weaving-loom-2": 0}

        letters = await node.graphql(DEAD, {"key": press["username"]}, headers=operator)
        assert letters["deadLetters"]["totalCount"] == 1
        assert letters["deadLetters"]["edges"][0]["node"]["reason"] == "unknown_metric"
        none = await node.graphql(DEAD, {"key": "haining-knit-press-1"}, headers=operator)
        assert none["deadLetters"]["totalCount"] == 0

        # The location comes back typed, with its time zone; an unknown zone is refused.
        saved = await node.graphql(
            PROFILE,
            {"id": own["id"], "input": {
                "location": {"address": "1 Mill Rd", "city": "Shaoxing", "region": "CN-ZJ",
                             "timeZone": "Asia/Shanghai"},
                "certifications": [{"name": "ISO 9001", "validUntil": "2031-01-01"}],
            }},
            headers=staff,
        )  # fmt: skip
        assert saved["saveFactoryProfile"] == {
            "location": {"city": "Shaoxing", "timeZone": "Asia/Shanghai"},
            "certifications": [{"name": "ISO 9001", "validUntil": "2031-01-01"}],
        }
        wrong = await node.graphql(
            PROFILE,
            {"id": own["id"], "input": {"location": {"timeZone": "Mars/Olympus"}}},
            headers=staff,
            expect_errors=True,
        )
        assert _code(wrong) == "INVALID_INPUT"


async def test_orders_by_number_with_filters_and_totals(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator = await operator_headers(hub, NODE_URL)
        await node.graphql(IMPORT, {"text": ROUTING}, headers=operator)
        buyer, buyer_org = await _buyer(hub, "Hangzhou Shirts Ltd")
        rival, _ = await _buyer(hub, "Ningbo Garments")
        order = {"product": "plain-tee", "quantity": 100, "dueDate": "2031-01-31",
                 "dailyTarget": 10, "startDate": "2031-01-01"}  # fmt: skip
        placed = [
            (await node.graphql(PLACE, {"input": order}, headers=who))["placeOrder"]
            for who in (buyer, buyer, rival)
        ]
        number = placed[0]["number"]
        assert number.startswith("SO-20310101-")

        by_number = await node.graphql(ORDER, {"number": number}, headers=buyer)
        assert by_number["order"] == placed[0]
        # Another buyer's order is not there for them, as a number never issued.
        for unknown in (number, "SO-20310101-000000"):
            hidden = await node.graphql(
                ORDER, {"number": unknown}, headers=rival, expect_errors=True
            )
            assert _code(hidden) == "ORDER_NOT_FOUND"
        vague = await node.graphql(
            ORDER, {"id": placed[0]["id"], "number": number}, headers=buyer, expect_errors=True
        )
        assert _code(vague) == "BAD_USER_INPUT"

        exact = await node.graphql(ORDERS, {"prefix": number}, headers=operator)
        assert [e["node"]["number"] for e in exact["orders"]["edges"]] == [number]
        assert exact["orders"]["totalCount"] == 1
        all_tees = await node.graphql(ORDERS, {"product": "plain-tee"}, headers=operator)
        assert all_tees["orders"]["totalCount"] == 3
        theirs = await node.graphql(ORDERS, {"buyerOrg": buyer_org}, headers=operator)
        assert theirs["orders"]["totalCount"] == 2
        own = await node.graphql(ORDERS, {"prefix": "SO-2031"}, headers=buyer)
        assert own["orders"]["totalCount"] == 2  # a buyer's view: its own, counted exactly
        later = await node.graphql(ORDERS, {"after": "2099-01-01T00:00:00Z"}, headers=operator)
        assert later["orders"]["totalCount"] == 0
        # Filtering by buyer is the operator's: a buyer asking is refused, not shown less.
        refused = await node.graphql(
            ORDERS, {"buyerOrg": buyer_org}, headers=rival, expect_errors=True
        )
        assert _code(refused) == "FORBIDDEN"
