"""A node's data products: the rows its three products hold (read live by the hub), the outbox
that queues a snapshot and then only changes, and sync with the hub's exchange: published in
the background, resumed after a cut connection, started over when the hub lost its state."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from hub.data_exchange.models import DataProduct as HubProduct
from hub.data_exchange.models import DataRow
from hub.identity.keys import access_token_claims
from hub.state import hub_state
from regional_node.data_products import outbox
from regional_node.data_products.products import (
    PRODUCTS,
    ProducerContext,
    iso_week,
)
from regional_node.data_products.publisher import DataPublisher
from regional_node.data_products.repository import OutboxRepository
from regional_node.hub_link.client import HubClient, HubError
from regional_node.settings import DATA_PRODUCT_KEYS, NodeSettings
from regional_node.state import node_state
from tests.conftest import HubFactory, NodeFactory
from tests.nodes import MOVE, PROFILE, active_factory, operator_headers
from tests.support import (
    HUB_TREE,
    Databases,
    InProcessService,
    bearer,
    create_node_client,
    eventually,
    node_token,
    served,
    token_for,
)
from tests.test_orders import CAPACITY, IMPORT, PLACE, PLAN, ROUTING
from yunfab.db import session_scope, utcnow
from yunfab.processes import free_port
from yunfab.usage_policy import FieldSpec, ProductDefinition, validate_row

NODE = "zj-textile"
NODE_URL = "http://zj-textile.test"
TODAY = utcnow().date()
MONDAY = TODAY - dt.timedelta(days=TODAY.weekday())
CALENDAR_DAYS = 21
"""Capacity for this week and the next two."""
HOURS_PER_UNIT = {"weave": 0.5, "dye": 0.25, "pack": 0.1}
PROCESS = {"weave": "weaving", "dye": "dyeing", "pack": "packing"}


@dataclass(frozen=True)
class Mill:
    slug: str
    city: str
    region: str
    hours: dict[str, float]
    units: dict[str, int] = field(default_factory=dict)
    certifications: list[dict[str, Any]] = field(default_factory=list)
    downtime: dict[tuple[str, dt.date], float] = field(default_factory=dict)


MILLS = [
    Mill(
        "mill-a", "Shaoxing", "CN-ZJ", {"weaving": 16, "dyeing": 8, "packing": 8},
        certifications=[{"name": "ISO 9001", "validUntil": "2031-01-01"}, {"name": "OEKO-TEX"}],
        downtime={("weaving", MONDAY + dt.timedelta(days=2)): 2.5},
    ),
    Mill("mill-b", "Hangzhou", "CN-ZJ", {"weaving": 12, "dyeing": 10, "packing": 8}),
    Mill("mill-c", "Suzhou", "CN-JS", {"weaving": 16, "dyeing": 12}, units={"packing": 100}),
]  # fmt: skip
BREAKDOWN = """
mutation($input: BreakdownInput!) { reportBreakdown(input: $input) { breakdownId } }
"""
SCORES = """
query($id: UUID!) { factory(id: $id) { slug evaluation { computedAt scores { name value } } } }
"""


def pseudonym(factory_id: str) -> str:
    return hashlib.sha256(f"{NODE}{factory_id}".encode()).hexdigest()[:16]


def context() -> ProducerContext:
    return ProducerContext(node_name=NODE, region="CN-ZJ", industry="textile")


@dataclass
class Network:
    operator: dict[str, str]
    ids: dict[str, str]
    """slug -> factory id, active factories only."""
    broken: set[tuple[str, str, dt.date]] = field(default_factory=set)
    plan: list[dict[str, Any]] = field(default_factory=list)


async def _capacity(node: InProcessService, operator: dict[str, str], factory_id: str, mill: Mill):
    days = []
    for offset in range(CALENDAR_DAYS):
        day = MONDAY + dt.timedelta(days=offset)
        for process, hours in mill.hours.items():
            days.append({
                "process": process, "day": day.isoformat(), "availableHours": hours,
                "downtimeHours": mill.downtime.get((process, day), 0.0), "hourlyRate": 30.0,
            })  # fmt: skip
        for process, units in mill.units.items():
            days.append({"process": process, "day": day.isoformat(), "availableUnits": units})
    await node.graphql(CAPACITY, {"id": factory_id, "days": days}, headers=operator)


async def _network(hub: InProcessService, node: InProcessService) -> Network:
    """Three active mills with calendars (downtime, a calendar in units), a breakdown, and an
    invited factory that is not on offer."""
    operator = await operator_headers(hub, NODE_URL)
    network = Network(operator=operator, ids={})
    for mill in MILLS:
        made = await active_factory(node.client, operator, slug=mill.slug)
        location = {"address": "1 Mill Rd", "city": mill.city, "region": mill.region}
        profile = {"location": location, "certifications": mill.certifications}
        await node.graphql(PROFILE, {"id": made["id"], "input": profile}, headers=operator)
        await _capacity(node, operator, made["id"], mill)
        network.ids[mill.slug] = made["id"]
    invited = await node.graphql(
        "mutation($input: InviteFactoryInput!) { inviteFactory(input: $input) { id } }",
        {"input": {"slug": "mill-invited", "name": "Factory mill-invited"}},
        headers=operator,
    )
    await _capacity(node, operator, invited["inviteFactory"]["id"], MILLS[1])
    first, last = MONDAY, MONDAY + dt.timedelta(days=1)
    await node.graphql(
        BREAKDOWN,
        {"input": {"factoryId": network.ids["mill-b"], "process": "dyeing",
                   "firstDay": first.isoformat(), "lastDay": last.isoformat()}},
        headers=operator,
    )  # fmt: skip
    network.broken = {("mill-b", "dyeing", first), ("mill-b", "dyeing", last)}
    return network


async def _planned_order(hub: InProcessService, node: InProcessService, network: Network) -> None:
    """An order next week, planned over the mills: its plan books their hours."""
    await node.graphql(IMPORT, {"text": ROUTING}, headers=network.operator)
    buyer = bearer(
        await token_for(
            hub, org="Hangzhou Shirts Ltd", org_kind="consumer", scopes=["orders:write"],
            resource=NODE_URL,
        )
    )  # fmt: skip
    start = MONDAY + dt.timedelta(days=7)
    order = {
        "product": "grey-shirting", "quantity": 200, "startDate": start.isoformat(),
        "dueDate": (start + dt.timedelta(days=7)).isoformat(), "dailyTarget": 30, "rampDays": 3,
    }  # fmt: skip
    placed = (await node.graphql(PLACE, {"input": order}, headers=buyer))["placeOrder"]
    plan = (await node.graphql(PLAN, {"id": placed["id"]}, headers=network.operator))["planOrder"]
    assert plan["status"] in ("optimal", "feasible")
    network.plan = plan["allocations"]


def _expected_capacity(network: Network) -> dict[str, dict[str, Any]]:
    """The capacity rows worked out from what the test set up, independently of the node: in
    each calendar's unit (mill-c packs in units), and hours where the calendar gives them."""
    slugs = {factory_id: slug for slug, factory_id in network.ids.items()}
    cells: dict[tuple[str, str, str, str], dict[str, float]] = {}
    for mill in MILLS:
        for offset in range(CALENDAR_DAYS):
            day = MONDAY + dt.timedelta(days=offset)
            for process, hours in mill.hours.items():
                key = (mill.slug, process, iso_week(day), "hours")
                cell = cells.setdefault(key, {"a": 0.0, "b": 0.0, "bh": 0.0})
                if (mill.slug, process, day) not in network.broken:
                    cell["a"] += hours - mill.downtime.get((process, day), 0.0)
            for process, units in mill.units.items():
                key = (mill.slug, process, iso_week(day), "units")
                cells.setdefault(key, {"a": 0.0, "b": 0.0, "bh": 0.0})["a"] += units
    for allocation in network.plan:
        day = dt.date.fromisoformat(allocation["day"])
        slug = slugs[allocation["factoryId"]]
        process = PROCESS[allocation["step"]]
        unit = "units" if process in next(m for m in MILLS if m.slug == slug).units else "hours"
        cell = cells[(slug, process, iso_week(day), unit)]
        hours = allocation["units"] * HOURS_PER_UNIT[allocation["step"]]
        cell["b"] += hours if unit == "hours" else allocation["units"]
        cell["bh"] += hours
    mills = {mill.slug: mill for mill in MILLS}
    rows = {}
    for (slug, process, week, unit), cell in cells.items():
        who = pseudonym(network.ids[slug])
        free = max(0.0, cell["a"] - cell["b"])
        rows[f"{process}:{week}:{unit}:{who}"] = {
            "factory": who, "region": mills[slug].region, "city": mills[slug].city,
            "process": process, "week": week, "unit": unit,
            "available": cell["a"], "booked": cell["b"], "free": free,
            "available_hours": cell["a"] if unit == "hours" else None,
            "booked_hours": cell["bh"], "free_hours": free if unit == "hours" else None,
        }  # fmt: skip
    return rows


def _hub_live_token(hub: InProcessService, audience: str = NODE_URL) -> str:
    """The token the hub's data exchange mints to ask a node for live rows."""
    token: str = hub_state(hub.app).data_live.token(audience)
    return token


async def _live(node: InProcessService, key: str, token: str) -> httpx.Response:
    return await node.client.get(f"/api/v1/data-products/{key}/rows", headers=bearer(token))


def _schema(key: str) -> list[FieldSpec]:
    return list(PRODUCTS[key].schema)


def test_products_describe_themselves_in_the_exchange_vocabulary() -> None:
    assert tuple(PRODUCTS) == DATA_PRODUCT_KEYS
    assert NodeSettings(name=NODE, region="CN-ZJ", industry="textile").data_products == list(
        DATA_PRODUCT_KEYS
    )
    for key, product in PRODUCTS.items():
        definition = ProductDefinition.model_validate(product.definition(context(), []))
        assert definition.live
        assert definition.region == "CN-ZJ"
        assert [f.name for f in definition.fields] == [f.name for f in product.schema], key
    capacity = PRODUCTS["regional-capacity"].definition(context(), [])
    offer = capacity["offers"][0]
    assert "factory" not in offer["fields"]
    assert offer["aggregation"] == {"min_contributors": 3}
    assert (offer["retention_days"], offer["contract_days"], offer["approval"]) == (
        30, 90, "automatic",
    )  # fmt: skip
    assert [f["name"] for f in capacity["schema"] if f["role"] == "contributor"] == ["factory"]
    profiles = PRODUCTS["factory-profiles"].definition(context(), [])
    assert profiles["offers"][0]["consumers"]["kinds"] == [
        "consumer", "publisher", "node_operator", "factory", "hub_operator",
    ]  # fmt: skip
    scores = PRODUCTS["factory-scores"].definition(context(), [])
    assert scores["offers"][0]["approval"] == "provider"
    assert scores["offers"][0]["fresh_data"] is False
    with pytest.raises(ValueError, match="min_contributors|aggregation|fields"):
        ProductDefinition.model_validate({**capacity, "schema": capacity["schema"][1:]})


async def test_the_hub_reads_the_three_products_live(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        network = await _network(hub, node)
        await _planned_order(hub, node, network)
        token = _hub_live_token(hub)

        answer = await _live(node, "regional-capacity", token)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["key"] == "regional-capacity"
        assert abs(dt.datetime.fromisoformat(body["as_of"]) - utcnow()) < dt.timedelta(minutes=1)
        keys = [row["key"] for row in body["rows"]]
        assert keys == sorted(keys)
        for row in body["rows"]:
            validate_row(_schema("regional-capacity"), row["data"])
        expected = _expected_capacity(network)
        got = {row["key"]: row["data"] for row in body["rows"]}
        assert set(got) == set(expected)
        for key, data in expected.items():
            assert got[key] == pytest.approx(data, abs=1e-3), key
        # Booked hours come from the plan, and next week holds some of them; free ones follow.
        assert any(data["booked_hours"] > 0 for data in got.values())
        assert all(data["free_hours"] is None or data["free_hours"] >= 0 for data in got.values())
        # A calendar in units has free capacity too, in units: mill-c packs 100 a day.
        packing = [d for d in got.values() if d["process"] == "packing" and d["unit"] == "units"]
        assert packing
        assert all(d["available"] == 100 * 7 for d in packing)
        assert all(d["free"] is not None and d["free_hours"] is None for d in packing)
        assert any(d["booked"] > 0 and d["free"] < d["available"] for d in packing)
        # Nine weeks at most, this one first; no factory named, the invited one not at all.
        weeks = {data["week"] for data in got.values()}
        assert min(weeks) == iso_week(TODAY)
        assert weeks <= {iso_week(MONDAY + dt.timedelta(weeks=w)) for w in range(9)}
        assert not any(
            slug in json.dumps(body) for slug in ("mill-a", "mill-b", "mill-c", "mill-invited")
        )

        profiles = (await _live(node, "factory-profiles", token)).json()["rows"]
        assert [row["key"] for row in profiles] == ["mill-a", "mill-b", "mill-c"]
        for row in profiles:
            validate_row(_schema("factory-profiles"), row["data"])
        assert profiles[0]["data"] == {
            "factory": "mill-a", "name": "Factory mill-a", "region": "CN-ZJ", "city": "Shaoxing",
            "skills": ["jacquard"], "equipment": ["air-jet-loom"],
            "certifications": ["ISO 9001", "OEKO-TEX"], "products": ["grey fabric"],
        }  # fmt: skip
        assert profiles[2]["data"]["region"] == "CN-JS"
        assert profiles[2]["data"]["certifications"] == []

        scores = (await _live(node, "factory-scores", token)).json()["rows"]
        assert [row["key"] for row in scores] == ["mill-a", "mill-b", "mill-c"]
        for row in scores:
            validate_row(_schema("factory-scores"), row["data"])
            shown = (
                await node.graphql(
                    SCORES, {"id": network.ids[row["key"]]}, headers=network.operator
                )
            )["factory"]["evaluation"]
            by_name = {s["name"]: s["value"] for s in shown["scores"]}
            assert row["data"] == {
                "factory": row["key"], "name": f"Factory {row['key']}",
                "region": "CN-JS" if row["key"] == "mill-c" else "CN-ZJ",
                "development": by_name["development_capability"],
                "quality": by_name["quality_control"], "response": by_name["quick_response"],
                "delivery": by_name["delivery"], "computed_on": shown["computedAt"][:10],
            }  # fmt: skip
        # mill-a has valid certifications the others lack: it scores higher on development.
        assert scores[0]["data"]["development"] > scores[1]["data"]["development"]
        assert scores[0]["data"]["delivery"] is None  # no planned day has passed yet


async def test_live_rows_are_refused_to_anyone_but_the_hub(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with (
        hub_factory() as hub,
        node_factory(hub=hub, data_products=["factory-profiles"]) as node,
    ):
        operator = await operator_headers(hub, NODE_URL)
        await active_factory(node.client, operator, slug="mill-a")
        path = "/api/v1/data-products/factory-profiles/rows"

        assert (await node.client.get(path)).status_code == 401
        assert (await node.client.get(path, headers=operator)).status_code == 403
        platform = await token_for(
            hub, org="Regional Platform", org_kind="publisher", region="CN-ZJ",
            scopes=["factories:read"], resource=NODE_URL,
        )  # fmt: skip
        refused = await node.client.get(path, headers=bearer(platform))
        assert refused.status_code == 403
        assert refused.json()["error"] == "forbidden"
        # Signed by the hub, for another node: not for this one.
        elsewhere = await _live(node, "factory-profiles", _hub_live_token(hub, "http://x.test"))
        assert elsewhere.status_code == 401
        assert elsewhere.json()["error"] == "token_wrong_audience"
        # The hub's key ring, but claims of some client of its own: refused too.
        forged = hub_state(hub.app).keyring.sign(
            access_token_claims(
                issuer="http://hub.test", audience=NODE_URL, lifetime_s=60,
                subject="c-1", client_id="c-1", scope="exchange:live", org="o-1",
                org_kind="hub_operator",
            )
        )  # fmt: skip
        assert (await _live(node, "factory-profiles", forged)).status_code == 403

        token = _hub_live_token(hub)
        allowed = await _live(node, "factory-profiles", token)
        assert allowed.status_code == 200, allowed.text
        assert [row["key"] for row in allowed.json()["rows"]] == ["mill-a"]
        # A product this node does not publish, and one that does not exist.
        for key in ("regional-capacity", "no-such-product"):
            missing = await _live(node, key, token)
            assert missing.status_code == 404
            assert missing.json()["error"] == "data_product_not_found"


async def _pending(node: InProcessService, key: str) -> list[Any]:
    async with node_state(node.app).db.sessionmaker() as session:
        return list(await OutboxRepository(session).pending(key))


async def _prepare(node: InProcessService, key: str, chunk_rows: int = 5) -> outbox.Queued:
    async with session_scope(node_state(node.app).db.sessionmaker) as session:
        return await outbox.prepare(session, PRODUCTS[key], context(), chunk_rows=chunk_rows)


async def test_the_outbox_queues_a_snapshot_then_only_what_changed(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub, data_products=[]) as node:
        network = await _network(hub, node)
        key = "regional-capacity"
        rows = _expected_capacity(network)

        first = await _prepare(node, key)
        assert first.kind == "snapshot"
        assert first.upserts == len(rows) == 3 * 3 * 3
        pending = await _pending(node, key)
        assert [b.seq for b in pending] == list(first.seqs) == [1, 2, 3, 4, 5, 6]
        assert {b.kind for b in pending} == {"snapshot"}
        assert {b.snapshot for b in pending} == {1}
        assert [b.last for b in pending] == [False] * 5 + [True]
        sent = [u for b in pending for u in outbox.wire(b)["upserts"]]
        assert [u["key"] for u in sent] == sorted(rows)
        for batch in pending:
            assert outbox.wire(batch).keys() == {"seq", "kind", "snapshot", "last", "upserts"}

        again = await _prepare(node, key)
        assert again.kind is None
        assert again.seqs == ()
        assert [b.seq for b in await _pending(node, key)] == [1, 2, 3, 4, 5, 6]

        # One day's hours change at mill-a; mill-c is suspended: its rows go.
        day = MONDAY + dt.timedelta(days=8)
        await node.graphql(
            CAPACITY,
            {"id": network.ids["mill-a"],
             "days": [{"process": "dyeing", "day": day.isoformat(), "availableHours": 4}]},
            headers=network.operator,
        )  # fmt: skip
        await node.graphql(
            MOVE, {"id": network.ids["mill-c"], "t": "SUSPEND", "reason": "audit"},
            headers=network.operator,
        )  # fmt: skip
        changed = await _prepare(node, key, chunk_rows=2000)
        assert changed.kind == "increment"
        assert changed.seqs == (7,)
        batch = (await _pending(node, key))[-1]
        body = outbox.wire(batch)
        assert body["seq"] == 7
        assert body.keys() == {"seq", "kind", "upserts", "deletes"}
        mill_a = pseudonym(network.ids["mill-a"])
        assert [u["key"] for u in body["upserts"]] == [f"dyeing:{iso_week(day)}:hours:{mill_a}"]
        assert body["upserts"][0]["data"]["available_hours"] == 8 * 6 + 4
        mill_c = pseudonym(network.ids["mill-c"])
        assert body["deletes"] == sorted(k for k in rows if k.endswith(mill_c))
        assert len(body["deletes"]) == 9
        assert (changed.upserts, changed.deletes) == (1, 9)

        assert (await _prepare(node, key)).kind is None


# --- sync with the hub's data exchange -----------------------------------------------------


class Wire(httpx.AsyncBaseTransport):
    """The line between a node and a hub: signs each request with the node's token at that hub
    and can cut a batch's connection before the hub sees it, or after (the answer lost)."""

    def __init__(self, hub: InProcessService, token: str) -> None:
        self.connect(hub, token)
        self.cut_before: set[int] = set()
        self.cut_after: set[int] = set()
        self.batches: list[int] = []

    def connect(self, hub: InProcessService, token: str) -> None:
        self.hub, self.token = hub, token

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.headers["authorization"] = f"Bearer {self.token}"
        seq = None
        if request.url.path.endswith("/batches"):
            seq = json.loads(await request.aread())["seq"]
            self.batches.append(seq)
            if seq in self.cut_before:
                self.cut_before.discard(seq)
                raise httpx.ConnectError("connection reset", request=request)
        response = await self.hub.transport.handle_async_request(request)
        if seq in self.cut_after:
            self.cut_after.discard(seq)
            await response.aread()
            raise httpx.ReadError("connection reset", request=request)
        return response


async def _publisher(
    node: InProcessService, wire: Wire, *keys: str, chunk_rows: int = 4
) -> DataPublisher:
    return DataPublisher(
        client=HubClient("http://hub.test", timeout_s=5, transport=wire),
        sessionmaker=node_state(node.app).db.sessionmaker,
        products={key: PRODUCTS[key] for key in keys},
        context=context,
        chunk_rows=chunk_rows,
    )


async def _at_hub(hub: InProcessService, key: str) -> tuple[HubProduct | None, dict[str, Any]]:
    """The hub's copy of the node's product: its sync state and live rows."""
    async with hub_state(hub.app).db.sessionmaker() as session:
        product = await session.scalar(
            select(HubProduct).where(HubProduct.key == key, HubProduct.node == NODE)
        )
        if product is None or product.live_snapshot is None:
            return product, {}
        rows = await session.scalars(
            select(DataRow).where(
                DataRow.product_id == product.id, DataRow.snapshot == product.live_snapshot
            )
        )
        return product, {row.key: row.data for row in rows}


async def _node_rows(node: InProcessService, key: str) -> dict[str, Any]:
    async with node_state(node.app).db.sessionmaker() as session:
        return {row.key: row.data for row in await PRODUCTS[key].rows(session, context())}


async def test_the_node_publishes_its_products_in_the_background(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with (
        hub_factory() as hub,
        node_factory(hub=hub, data_publish_interval_s=0.2) as node,
    ):
        network = await _network(hub, node)

        async def synced(key: str) -> bool:
            product, rows = await _at_hub(hub, key)
            # No worker is lent in this network: workforce-offers is declared with no rows.
            filled = bool(rows) or key == "workforce-offers"
            return product is not None and rows == await _node_rows(node, key) and filled

        for key in DATA_PRODUCT_KEYS:
            await eventually(functools.partial(synced, key), timeout_s=30)
        product, _ = await _at_hub(hub, "factory-profiles")
        assert product is not None
        assert product.live
        assert product.region == "CN-ZJ"
        assert product.industry == "textile"
        assert [row["factory"] for row in product.sample] == ["mill-a", "mill-b", "mill-c"]
        capacity, _ = await _at_hub(hub, "regional-capacity")
        assert capacity is not None
        assert capacity.sample == []

        # The hub's own sync answer, as the node's client asks it.
        token = await node_token(hub, NODE, "CN-ZJ")
        state = await hub.client.get(
            "/api/v1/data-products/factory-profiles/sync", headers=bearer(token)
        )
        assert state.status_code == 200, state.text
        assert state.json()["seq"] == product.sync_seq >= 1

        await node.graphql(
            MOVE, {"id": network.ids["mill-b"], "t": "SUSPEND", "reason": "audit"},
            headers=network.operator,
        )  # fmt: skip

        async def gone() -> bool:
            _, rows = await _at_hub(hub, "factory-profiles")
            return sorted(rows) == ["mill-a", "mill-c"]

        await eventually(gone, timeout_s=30)
        await eventually(functools.partial(synced, "regional-capacity"), timeout_s=30)
        after, _ = await _at_hub(hub, "factory-profiles")
        assert after is not None
        assert after.live_snapshot == product.live_snapshot
        assert after.sync_seq > product.sync_seq  # an increment, not a new snapshot


async def test_a_cut_connection_resumes_from_the_first_unacknowledged_batch(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    key = "regional-capacity"
    async with hub_factory() as hub, node_factory(hub=hub, data_products=[]) as node:
        await _network(hub, node)
        wire = Wire(hub, await node_token(hub, NODE, "CN-ZJ"))
        publisher = await _publisher(node, wire, key, chunk_rows=4)
        queued = await publisher.prepare(PRODUCTS[key])
        assert queued.seqs == (1, 2, 3, 4, 5, 6, 7)  # 27 rows, 4 a chunk

        wire.cut_before = {3}
        with pytest.raises(HubError) as cut:
            await publisher.flush(PRODUCTS[key])
        assert cut.value.retryable
        assert [b.seq for b in await _pending(node, key)] == [3, 4, 5, 6, 7]
        product, rows = await _at_hub(hub, key)
        assert product is not None
        assert product.sync_seq == 2
        assert rows == {}  # staged: nobody sees half a snapshot

        wire.cut_after = {5}  # the hub applies 5, the node never hears so
        with pytest.raises(HubError):
            await publisher.flush(PRODUCTS[key])
        assert [b.seq for b in await _pending(node, key)] == [5, 6, 7]
        product, _ = await _at_hub(hub, key)
        assert product is not None
        assert product.sync_seq == 5

        wire.batches.clear()
        flushed = await publisher.flush(PRODUCTS[key])
        assert wire.batches == [5, 6, 7]
        assert [(s.seq, s.applied) for s in flushed.sent] == [(5, False), (6, True), (7, True)]
        assert await _pending(node, key) == []
        product, rows = await _at_hub(hub, key)
        assert product is not None
        assert (product.sync_seq, product.live_snapshot, product.row_count) == (7, 1, 27)
        assert rows == await _node_rows(node, key)

        # Nothing changed: nothing is sent.
        assert (await publisher.prepare(PRODUCTS[key])).kind is None
        assert (await publisher.flush(PRODUCTS[key])).sent == []


@asynccontextmanager
async def _fresh_hub(
    hub_factory: HubFactory, databases: Databases, backend: str, tmp_path: Path, name: str
) -> AsyncIterator[tuple[InProcessService, str]]:
    """Another hub on an empty database (as after losing its own), with the node's token."""
    async with hub_factory(
        database_url=databases.fresh(HUB_TREE, backend), data_dir=tmp_path / name
    ) as fresh:
        yield fresh, await node_token(fresh, NODE, "CN-ZJ")


async def test_a_hub_that_lost_its_state_is_sent_a_snapshot_again(
    hub_factory: HubFactory,
    node_factory: NodeFactory,
    databases: Databases,
    backend: str,
    tmp_path: Path,
) -> None:
    key = "factory-profiles"
    async with hub_factory() as hub, node_factory(hub=hub, data_products=[]) as node:
        network = await _network(hub, node)
        wire = Wire(hub, await node_token(hub, NODE, "CN-ZJ"))
        publisher = await _publisher(node, wire, key, chunk_rows=2)
        await publisher.prepare(PRODUCTS[key])
        first = await publisher.flush(PRODUCTS[key])
        assert [s.seq for s in first.sent] == [1, 2]
        product, rows = await _at_hub(hub, key)
        assert product is not None
        assert product.sync_seq == 2
        assert sorted(rows) == [
            "mill-a",
            "mill-b",
            "mill-c",
        ]

        async def suspend(slug: str) -> None:
            await node.graphql(
                MOVE, {"id": network.ids[slug], "t": "SUSPEND", "reason": "audit"},
                headers=network.operator,
            )  # fmt: skip

        # A hub that lost everything: the increment finds no product there (404), the
        # product is declared again, the hub's seq 0 shows it lost track, and a snapshot goes.
        async with _fresh_hub(hub_factory, databases, backend, tmp_path, "hub-b") as (b, token):
            wire.connect(b, token)
            await suspend("mill-c")
            assert (await publisher.prepare(PRODUCTS[key])).seqs == (3,)
            flushed = await publisher.flush(PRODUCTS[key])
            assert flushed.started_over == 1
            assert [(s.seq, s.kind) for s in flushed.sent] == [(1, "snapshot")]
            product, rows = await _at_hub(b, key)
            assert product is not None
            assert (product.sync_seq, product.live_snapshot) == (1, 1)
            assert rows == await _node_rows(node, key)

        # A hub that knows the product but not its rows answers a gap with the seq it expects.
        async with _fresh_hub(hub_factory, databases, backend, tmp_path, "hub-c") as (c, token):
            declared = await HubClient(
                "http://hub.test", timeout_s=5, transport=Wire(c, token)
            ).put_data_product(key, PRODUCTS[key].definition(context(), []))
            assert declared["sync"]["seq"] == 0
            wire.connect(c, token)
            await suspend("mill-b")
            assert (await publisher.prepare(PRODUCTS[key])).seqs == (2,)
            flushed = await publisher.flush(PRODUCTS[key])
            assert flushed.started_over == 1
            assert [(s.seq, s.kind) for s in flushed.sent] == [(1, "snapshot")]
            _, rows = await _at_hub(c, key)
            assert sorted(rows) == ["mill-a"]

        # Back at the first hub, from a restarted node process: the hub is ahead of what this
        # node numbered (seq 2 there, 1 here), so the node numbers on from it with a snapshot.
        wire.connect(hub, await node_token(hub, NODE, "CN-ZJ"))
        restarted = await _publisher(node, wire, key)
        flushed = await restarted.flush(PRODUCTS[key])
        assert [(s.seq, s.kind) for s in flushed.sent] == [(3, "snapshot")]
        product, rows = await _at_hub(hub, key)
        assert product is not None
        assert product.live_snapshot == 3
        assert sorted(rows) == ["mill-a"]


async def test_the_console_publishes_once_and_says_what_it_sent(
    hub_factory: HubFactory, node_factory: NodeFactory, node_db_url: str, tmp_path: Path
) -> None:
    from yunfab_cli.main import app

    async with hub_factory() as hub, node_factory(hub=hub, data_products=[]) as node:
        await _network(hub, node)
        client_id, secret = await create_node_client(hub, NODE, "CN-ZJ")
        async with served(hub.app, free_port(), lifespan="off") as hub_url:
            env = {
                "YUNFAB_NODE_HUB_URL": hub_url,
                "YUNFAB_NODE_CLIENT_ID": client_id,
                "YUNFAB_NODE_CLIENT_SECRET": secret or "",
                "YUNFAB_NODE_DATA_PRODUCTS": '["factory-profiles", "regional-capacity"]',
            }
            argv = [
                "node", "data", "publish", "--node-name", NODE, "--region", "CN-ZJ",
                "--industry", "textile", "--database-url", node_db_url,
                "--data-dir", str(tmp_path / "console"),
            ]  # fmt: skip
            result = await asyncio.to_thread(CliRunner().invoke, app, argv, env=env)
            assert result.exit_code == 0, result.output
            lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
            assert [line["product"] for line in lines] == ["factory-profiles", "regional-capacity"]
            assert lines[0]["sent"] == [{"seq": 1, "kind": "snapshot", "rows": 3, "applied": True}]
            assert lines[1]["sent"] == [{"seq": 1, "kind": "snapshot", "rows": 27, "applied": True}]
            assert lines[1]["hub_seq"] == 1
            assert lines[1]["error"] is None

            again = await asyncio.to_thread(CliRunner().invoke, app, argv, env=env)
            assert again.exit_code == 0, again.output
            assert [json.loads(line)["sent"] for line in again.stdout.strip().splitlines()] == [
                [], [],
            ]  # fmt: skip

            broken = {**env, "YUNFAB_NODE_CLIENT_SECRET": "wrong"}
            refused = await asyncio.to_thread(CliRunner().invoke, app, argv, env=broken)
            assert refused.exit_code == 1
            assert all(json.loads(line)["error"] for line in refused.stdout.strip().splitlines())
        _, rows = await _at_hub(hub, "regional-capacity")
        assert rows == await _node_rows(node, "regional-capacity")


GOVERNED = """
query($id: UUID!, $q: DataQueryInput!) {
  governedData(contractId: $id, query: $q) { rows minContributors fresh }
}
"""


async def test_a_consumer_queries_a_nodes_capacity_as_synced_and_fresh_from_the_node(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    """The whole flow: the node publishes, a buyer platform finds the product in the catalog,
    is agreed automatically on aggregates over 3+ factories, and reads free hours by process:
    as synced, and fresh from the node (the hub asks it with its own token)."""
    async with (
        hub_factory() as hub,
        node_factory(hub=hub, data_publish_interval_s=3600) as node,
    ):
        hub_state(hub.app).data_live.transport = node.transport
        network = await _network(hub, node)
        publisher = node_state(node.app).data_publisher
        assert publisher is not None
        await publisher.publish()
        consumer = bearer(
            await token_for(
                hub, org="Hangzhou Shirts Ltd", org_kind="consumer",
                scopes=["exchange:read", "exchange:write"],
            )
        )  # fmt: skip
        catalog = await hub.graphql(
            '{ dataProducts(search: "capacity") { edges { node { key node offers { id } } } } }',
            headers=consumer,
        )
        (edge,) = catalog["dataProducts"]["edges"]
        assert (edge["node"]["key"], edge["node"]["node"]) == ("regional-capacity", NODE)
        contract = await hub.graphql(
            "mutation($o: UUID!) { requestDataContract(input: {offerId: $o, "
            "purpose: CAPACITY_PLANNING}) { id state } }",
            {"o": edge["node"]["offers"][0]["id"]},
            headers=consumer,
        )
        assert contract["requestDataContract"]["state"] == "FINALIZED"
        cid = contract["requestDataContract"]["id"]
        this_week = {"field": "week", "value": iso_week(TODAY)}
        by_process = {
            "groupBy": ["process"],
            "aggregates": [{"fn": "SUM", "field": "available_hours"}],
            "filters": [this_week],
        }

        async def hours(fresh: bool) -> dict[str, float]:
            answer = await hub.graphql(
                GOVERNED, {"id": cid, "q": {**by_process, "fresh": fresh}}, headers=consumer
            )
            assert answer["governedData"]["fresh"] is fresh
            assert answer["governedData"]["minContributors"] >= 3
            return {r["process"]: r["sum_available_hours"] for r in answer["governedData"]["rows"]}

        expected: dict[str, float] = {}
        for data in _expected_capacity(network).values():
            if data["week"] == iso_week(TODAY) and data["available_hours"] is not None:
                expected[data["process"]] = expected.get(data["process"], 0.0) + float(
                    data["available_hours"]
                )
        assert await hours(fresh=False) == pytest.approx(expected)
        # Free capacity in the calendars' own unit (what the demo's platform reads; packing
        # in hours or in units has fewer than three mills).
        weaves = [this_week, {"field": "process", "value": "weaving"}]
        free = await hub.graphql(
            GOVERNED,
            {"id": cid, "q": {"groupBy": ["process", "unit"], "filters": weaves,
                              "aggregates": [{"fn": "SUM", "field": "free"}]}},
            headers=consumer,
        )  # fmt: skip
        weaving = [
            d["free"] for d in _expected_capacity(network).values()
            if d["week"] == iso_week(TODAY) and d["process"] == "weaving"
        ]  # fmt: skip
        assert [(r["process"], r["unit"]) for r in free["governedData"]["rows"]] == [
            ("weaving", "hours")
        ]
        assert free["governedData"]["rows"][0]["sum_free"] == pytest.approx(sum(weaving))
        # Naming one mill's rows is a query finer than the agreement allows.
        one = {**by_process, "filters": [this_week, {"field": "city", "value": "Suzhou"}]}
        refused = await hub.graphql(
            GOVERNED, {"id": cid, "q": one}, headers=consumer, expect_errors=True
        )
        assert refused["errors"][0]["extensions"]["term"] == "aggregation"

        # mill-a stops weaving this week: the node knows at once, the hub's copy at the next sync.
        stop = [
            {"process": "weaving", "day": (MONDAY + dt.timedelta(days=d)).isoformat(),
             "availableHours": 0, "hourlyRate": 30.0}
            for d in range(7)
        ]  # fmt: skip
        await node.graphql(
            CAPACITY, {"id": network.ids["mill-a"], "days": stop}, headers=network.operator
        )
        fresh = await hours(fresh=True)
        assert fresh["weaving"] < expected["weaving"]
        assert fresh["dyeing"] == pytest.approx(expected["dyeing"])
        assert await hours(fresh=False) == pytest.approx(expected)
        await publisher.publish()
        assert await hours(fresh=False) == pytest.approx(fresh)
