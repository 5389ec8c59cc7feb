"""Sales from a brand's data product at the hub (issue #21's third way in), end to end with a
real hub and node: the brand publishes its sales at the hub's exchange and offers them to the
node's operator, the operator's agreement is finalized, the node's demand domain subscribes to
it and pulls the rows with the node's own credentials. A pull is checked as an upload is (a bad
row named, nothing imported), idempotent on re-pull, corrections taken; it stops the moment the
agreement ends, and every pull is audited at the hub and at the node."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from hub.audit.models import AuditEntry as HubAudit
from hub.state import hub_state
from regional_node.audit.models import AuditEntry as NodeAudit
from regional_node.state import node_state
from tests.conftest import HubFactory, NodeFactory
from tests.nodes import operator_headers
from tests.support import InProcessService, bearer, client_token, create_client
from tests.test_demand import (
    BELL,
    CREATE_PRODUCT,
    CREATE_SKUS,
    NODE_URL,
    ROUTING,
    SALES_COUNT,
    SKUS,
    THIS_WEEK,
    brand_client,
)

BRAND = "Ding Dong Bikes"
KEY = "bike-sales"
SCHEMA = [
    {"name": "sku", "type": "string", "role": "dimension"},
    {"name": "week", "type": "date", "role": "dimension"},
    {"name": "units", "type": "number", "role": "measure"},
    {"name": "channel", "type": "string", "role": "dimension"},
    {"name": "region", "type": "string", "role": "region"},
    {"name": "store_note", "type": "string", "role": "attribute"},
]
OFFER = {
    "consumers": {"kinds": ["node_operator"]},
    "purposes": ["capacity-planning"],
    "fields": ["sku", "week", "units", "channel", "region"],
    "retention_days": 365,
    "contract_days": 90,
    "approval": "automatic",
}
REQUEST = """
mutation($input: ContractRequestInput!) { requestDataContract(input: $input) { id status } }
"""
CATALOG = '{ dataProducts(search: "bike") { edges { node { id offers { id } } } } }'
SUBSCRIBE = """
mutation($contract: UUID!, $brand: String) {
  subscribeSalesFeed(contractId: $contract, brand: $brand) {
    __typename
    ... on SubscribeSalesFeedSuccess {
      feed { id brand productKey status columns { column field } everyMinutes }
    }
    ... on DemandError { code message }
  }
}
"""
PULL = """
mutation($id: UUID!) {
  pullSalesFeed(id: $id) {
    __typename
    ... on PullSalesFeedSuccess {
      rows added corrected unchanged salesImport { rows source }
      feed { lastOutcome lastRows lastAdded }
    }
    ... on PullSalesFeedError { code message problems { row column message } }
  }
}
"""
FEEDS = """
query($brand: String) {
  salesFeeds(brand: $brand) { edges { node { id lastOutcome lastMessage status } } }
}
"""
WEEKS = [THIS_WEEK - dt.timedelta(weeks=w) for w in range(10, 0, -1)]
CODES = [code for code, _ in SKUS["bell"]]


def _row(code: str, week: dt.date, units: float, channel: str = "tmall") -> dict[str, Any]:
    return {
        "key": f"{code}:{week.isoformat()}:{channel}",
        "data": {"sku": code, "week": week.isoformat(), "units": units, "channel": channel,
                 "region": "CN-ZJ", "store_note": "kept at the hub"},
    }  # fmt: skip


async def _brand_at_node(hub: InProcessService, node: InProcessService) -> tuple[str, Any]:
    """The operator's routing; the brand's bell and its SKUs on the node. Returns the brand's
    organization id and its node headers."""
    operator = await operator_headers(hub, NODE_URL)
    await node.graphql(
        "mutation($text: String!) { importRouting(text: $text) { version } }",
        {"text": ROUTING},
        headers=operator,
    )
    brand, brand_id = await brand_client(hub, BRAND)
    made = (await node.graphql(CREATE_PRODUCT, {"input": BELL}, headers=brand))["createProduct"]
    assert made["__typename"] == "CreateProductSuccess", made
    skus = [
        {"code": code, "options": [{"name": k, "value": v} for k, v in chosen.items()]}
        for code, chosen in SKUS["bell"]
    ]
    created = await node.graphql(
        CREATE_SKUS, {"id": made["product"]["id"], "skus": skus}, headers=brand
    )
    assert created["createSkus"]["__typename"] == "CreateSkusSuccess", created
    return brand_id, {"operator": operator, "brand": brand}


async def _publisher(hub: InProcessService) -> dict[str, str]:
    """The brand's client at the hub that publishes its sales."""
    client_id, secret = await create_client(
        hub, org=BRAND, org_kind="consumer", scopes=["exchange:publish"]
    )
    return bearer(await client_token(hub, client_id, secret, "exchange:publish"))


async def _batch(hub: InProcessService, publisher: dict[str, str], batch: dict[str, Any]) -> None:
    response = await hub.client.post(
        f"/api/v1/data-products/{KEY}/batches", json=batch, headers=publisher
    )
    assert response.status_code == 200, response.text
    assert response.json()["applied"] is True


async def _hub_pulls(hub: InProcessService) -> list[HubAudit]:
    async with hub_state(hub.app).db.sessionmaker() as session:
        found = await session.scalars(
            select(HubAudit)
            .where(HubAudit.action == "hub.exchange.data.query")
            .order_by(HubAudit.seq)
        )
        return list(found)


async def _node_pulls(node: InProcessService) -> list[NodeAudit]:
    async with node_state(node.app).db.sessionmaker() as session:
        found = await session.scalars(
            select(NodeAudit)
            .where(NodeAudit.action == "node.demand.sales.pull")
            .order_by(NodeAudit.seq)
        )
        return list(found)


@pytest.mark.usefixtures("backend")
async def test_a_brand_sales_product_at_the_hub_is_pulled_under_its_agreement(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        brand_id, headers = await _brand_at_node(hub, node)
        operator, brand = headers["operator"], headers["brand"]

        # The brand publishes ten weeks of its three bells' sales, offered to node operators.
        publisher = await _publisher(hub)
        rows = [_row(code, week, 10 + i) for i, code in enumerate(CODES) for week in WEEKS]
        definition = {
            "title": "Ding Dong Bikes weekly sales", "region": "CN-ZJ", "industry": "bikes",
            "update_frequency": "weekly", "schema": SCHEMA, "sample": [rows[0]["data"]],
            "offers": [OFFER],
        }  # fmt: skip
        response = await hub.client.put(
            f"/api/v1/data-products/{KEY}", json=definition, headers=publisher
        )
        assert response.status_code == 200, response.text
        await _batch(
            hub, publisher, {"seq": 1, "kind": "snapshot", "snapshot": 1, "last": True,
                             "upserts": rows},
        )  # fmt: skip

        # The node's operator organization takes the offer: agreed and finalized at once.
        client_id, secret = await create_client(
            hub, org="zj-textile operator", org_kind="node_operator",
            scopes=["exchange:read", "exchange:write"],
        )  # fmt: skip
        at_hub = bearer(await client_token(hub, client_id, secret, "exchange:read exchange:write"))
        (edge,) = (await hub.graphql(CATALOG, headers=at_hub))["dataProducts"]["edges"]
        contract = (
            await hub.graphql(
                REQUEST,
                {"input": {"offerId": edge["node"]["offers"][0]["id"],
                           "purpose": "CAPACITY_PLANNING"}},
                headers=at_hub,
            )
        )["requestDataContract"]  # fmt: skip
        assert contract["status"] == "FINALIZED"

        # Another brand on the node cannot take this brand's product in as its own.
        other, _ = await brand_client(hub, "Other Bikes")
        refused = (await node.graphql(SUBSCRIBE, {"contract": contract["id"]}, headers=other))[
            "subscribeSalesFeed"
        ]
        assert refused["code"] == "INVALID_INPUT", refused
        assert "not the brand's" in refused["message"]

        # The operator subscribes the demand domain for the brand; the fields map by name.
        subscribed = (
            await node.graphql(
                SUBSCRIBE, {"contract": contract["id"], "brand": brand_id}, headers=operator
            )
        )["subscribeSalesFeed"]
        assert subscribed["__typename"] == "SubscribeSalesFeedSuccess", subscribed
        feed = subscribed["feed"]
        assert {c["column"]: c["field"] for c in feed["columns"]} == {
            "sku": "sku", "date": "week", "quantity": "units", "channel": "channel",
            "region": "region",
        }  # fmt: skip
        again = (
            await node.graphql(
                SUBSCRIBE, {"contract": contract["id"], "brand": brand_id}, headers=operator
            )
        )["subscribeSalesFeed"]
        assert again["code"] == "CONFLICT"

        # The first pull imports every row; a second finds nothing new (idempotent).
        first = (await node.graphql(PULL, {"id": feed["id"]}, headers=operator))["pullSalesFeed"]
        assert first["__typename"] == "PullSalesFeedSuccess", first
        assert (first["rows"], first["added"], first["unchanged"]) == (30, 30, 0)
        assert first["salesImport"] == {"rows": 30, "source": f"hub: {KEY}"}
        count = await node.graphql(SALES_COUNT, headers=brand)
        assert count["salesHistory"]["totalCount"] == 30
        second = (await node.graphql(PULL, {"id": feed["id"]}, headers=brand))["pullSalesFeed"]
        assert (second["added"], second["corrected"], second["unchanged"]) == (0, 0, 30)
        assert second["salesImport"] is None
        assert (await node.graphql(SALES_COUNT, headers=brand))["salesHistory"]["totalCount"] == 30

        # Another brand is told there is no such feed, and pulls nothing.
        theirs = (await node.graphql(PULL, {"id": feed["id"]}, headers=other))["pullSalesFeed"]
        assert theirs["code"] == "SALES_FEED_NOT_FOUND", theirs

        # The brand corrects a week and adds this week's sales: one corrected, one added.
        corrected = _row(CODES[0], WEEKS[-1], 99)
        added = _row(CODES[1], THIS_WEEK, 7, channel="jd")
        await _batch(hub, publisher, {"seq": 2, "kind": "increment", "upserts": [corrected, added]})
        third = (await node.graphql(PULL, {"id": feed["id"]}, headers=operator))["pullSalesFeed"]
        assert (third["rows"], third["added"], third["corrected"]) == (31, 1, 1), third
        history = await node.graphql(
            "query($day: Date!) { salesHistory(firstDay: $day, lastDay: $day, channel: \"tmall\")"
            " { edges { node { sku { code } quantity } } } }",
            {"day": WEEKS[-1].isoformat()}, headers=brand,
        )  # fmt: skip
        quantities = {e["node"]["sku"]["code"]: e["node"]["quantity"]
                      for e in history["salesHistory"]["edges"]}  # fmt: skip
        assert quantities[CODES[0]] == 99

        # A row the node cannot take (a SKU the brand has not set up here) refuses the whole
        # pull, naming the row in the order the hub gives them (its key order: last here).
        bad = {"key": "zz-unknown", "data": {**corrected["data"], "sku": "BELL-GOLD"}}
        await _batch(hub, publisher, {"seq": 3, "kind": "increment", "upserts": [bad]})
        refused = (await node.graphql(PULL, {"id": feed["id"]}, headers=operator))["pullSalesFeed"]
        assert refused["__typename"] == "PullSalesFeedError", refused
        assert refused["code"] == "SALES_INVALID"
        (problem,) = refused["problems"]
        assert problem["row"] == 32
        assert problem["column"] == "sku"
        assert "BELL-GOLD" in problem["message"]
        assert (await node.graphql(SALES_COUNT, headers=brand))["salesHistory"]["totalCount"] == 31
        listed = (await node.graphql(FEEDS, {"brand": brand_id}, headers=operator))["salesFeeds"]
        assert listed["edges"][0]["node"]["lastOutcome"] == "invalid"

        # The brand ends the agreement: the hub refuses the next pull, nothing changes here.
        await hub.graphql(
            "mutation($id: UUID!, $r: String!) "
            "{ terminateDataContract(id: $id, reason: $r) { status } }",
            {"id": contract["id"], "r": "season over"}, headers=publisher,
        )  # fmt: skip
        ended = (await node.graphql(PULL, {"id": feed["id"]}, headers=operator))["pullSalesFeed"]
        assert ended["code"] == "SALES_FEED_REFUSED", ended
        assert "state" in ended["message"]
        listed = (await node.graphql(FEEDS, {"brand": brand_id}, headers=brand))["salesFeeds"]
        assert listed["edges"][0]["node"]["lastOutcome"] == "refused"

        # Every page read is in the hub's audit chain as the node's client's, allowed while the
        # agreement held and denied after; every pull is in the node's.
        at_hub_log = await _hub_pulls(hub)
        assert [e.outcome for e in at_hub_log] == ["allow"] * 4 + ["deny"]
        assert {e.detail["contract"] for e in at_hub_log} == {contract["id"]}
        # One reader, the node's own client (not the operator's client that made the agreement).
        assert len({e.actor for e in at_hub_log}) == 1
        assert client_id not in at_hub_log[0].actor
        read = [e.detail["fields"] for e in at_hub_log if e.outcome == "allow"]
        assert read == [["channel", "region", "sku", "units", "week"]] * 4
        at_node_log = await _node_pulls(node)
        assert [e.outcome for e in at_node_log] == ["ok", "ok", "ok", "deny", "deny"]
        assert at_node_log[0].detail["added"] == 30
        assert at_node_log[-1].detail["reason"] == "refused"

        # Stopped, the feed is pulled no more; what it imported stays.
        stopped = await node.graphql(
            "mutation($id: UUID!) { stopSalesFeed(id: $id) { __typename"
            " ... on StopSalesFeedSuccess { feed { status } } } }",
            {"id": feed["id"]},
            headers=operator,
        )
        assert stopped["stopSalesFeed"]["feed"]["status"] == "STOPPED"
        after = (await node.graphql(PULL, {"id": feed["id"]}, headers=operator))["pullSalesFeed"]
        assert after["code"] == "CONFLICT"
        assert (await node.graphql(SALES_COUNT, headers=brand))["salesHistory"]["totalCount"] == 31
