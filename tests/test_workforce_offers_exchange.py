"""Shared workers across nodes: the node publishes its lent workers to the hub's data exchange
as `workforce-offers` (pseudonymous offers and worker-days per skill and week); a factory of
another organization, agreed automatically, reads the offers and the totals through the hub,
as synced and fresh from the node; no name, contact, coordinate or employer reaches the hub."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import select

from hub.db import Base as HubBase
from hub.state import hub_state
from regional_node.data_products.products import PRODUCTS, iso_week
from regional_node.state import node_state
from tests.conftest import HubFactory, NodeFactory
from tests.support import InProcessService, bearer, token_for
from tests.test_data_products_node import GOVERNED, NODE, _at_hub, _node_rows
from tests.test_workforce import POST_WORKERS, SEW, TODAY, factory_headers, worker
from yunfab.usage_policy import validate_row

KEY = "workforce-offers"
LENT = [
    worker(
        "sew-01", "Wang Fang", email="wang.fang@example.cn",
        certificates=["sewing_safety"], shifts=["day", "night"], safetyTrained=True,
    ),
    worker(
        "sew-02", "Zhang Min",
        skills=[{"skill": SEW, "level": 4}, {"skill": "ironing", "level": 2}],
    ),
    worker("sew-03", "Liu Yang", availableTo=(TODAY + dt.timedelta(days=2)).isoformat()),
]  # fmt: skip
SECRETS = [w["name"] for w in LENT] + [w["phone"] for w in LENT] + ["wang.fang@example.cn"]
"""What the node keeps with the employer: never at the hub."""


def pseudonym(worker_id: str) -> str:
    return hashlib.sha256(f"{NODE}{worker_id}".encode()).hexdigest()[:16]


async def hub_text(hub: InProcessService) -> str:
    """Everything the hub stores, as text: every row of every table."""
    async with hub_state(hub.app).db.sessionmaker() as session:
        rows = []
        for table in HubBase.metadata.sorted_tables:
            rows += [repr(tuple(row)) for row in (await session.execute(select(table))).all()]
    return "\n".join(rows)


async def test_a_node_publishes_workforce_offers_that_another_org_reads_through_the_hub(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with (
        hub_factory() as hub,
        node_factory(
            hub=hub, data_products=[KEY], data_publish_interval_s=3600, workforce_rematch=False
        ) as node,
    ):
        hub_state(hub.app).data_live.transport = node.transport
        lender, lender_org = await factory_headers(hub, "Humen Knitwear Co")
        posted = (await node.graphql(POST_WORKERS, {"workers": LENT}, headers=lender))[
            "postWorkers"
        ]
        assert posted["__typename"] == "PostWorkersSuccess", posted
        ids = {w["pseudonym"]: w["id"] for w in posted["workers"]}
        publisher = node_state(node.app).data_publisher
        assert publisher is not None
        await publisher.publish()

        product, rows = await _at_hub(hub, KEY)
        assert product is not None
        assert rows == await _node_rows(node, KEY)
        for data in rows.values():
            validate_row(list(PRODUCTS[KEY].schema), data)
        offers = {k: v for k, v in rows.items() if v["kind"] == "offer"}
        assert sorted(offers) == sorted(f"offer:{pseudonym(i)}" for i in ids.values())
        first = offers[f"offer:{pseudonym(ids['sew-01'])}"]
        assert first == {
            "kind": "offer", "worker": pseudonym(ids["sew-01"]), "region": "CN-ZJ",
            "home_area": "Humen", "skills": [f"{SEW}:3"], "certificates": ["sewing_safety"],
            "safety_trained": True, "available_from": TODAY.isoformat(),
            "available_to": (TODAY + dt.timedelta(days=30)).isoformat(),
            "shifts": ["day", "night"], "radius_km": 15, "wage_floor": 220,
            "skill": None, "week": None, "workers": None, "worker_days": None,
        }  # fmt: skip
        assert offers[f"offer:{pseudonym(ids['sew-02'])}"]["skills"] == ["ironing:2", f"{SEW}:4"]

        # Worker-days per skill and week: each worker once a day from today to the last day.
        expected: dict[tuple[str, str], int] = {}
        for lent in LENT:
            day, last = TODAY, dt.date.fromisoformat(lent["availableTo"])
            while day <= last:
                for skill in lent["skills"]:
                    cell = (skill["skill"], iso_week(day))
                    expected[cell] = expected.get(cell, 0) + 1
                day += dt.timedelta(days=1)
        totals = {
            (v["skill"], v["week"]): v["worker_days"]
            for v in rows.values()
            if v["kind"] == "skill-week"
        }
        assert totals == expected
        assert rows[f"skill-week:{SEW}:{iso_week(TODAY)}"]["workers"] == 3

        # Nothing the employer keeps reaches the hub: not in the rows, not anywhere it stores.
        stored = await hub_text(hub)
        assert pseudonym(ids["sew-01"]) in stored  # the dump holds the rows
        assert all(secret not in stored for secret in SECRETS)
        assert "sew-01" not in stored  # the pseudonym the node's own factories see
        assert all(lender_org not in repr(data) for data in rows.values())
        assert all(str(w["homeLat"])[:6] not in repr(rows) for w in LENT)
        assert {f.name for f in PRODUCTS[KEY].schema}.isdisjoint(
            {"name", "phone", "email", "contact", "employer", "employer_org", "home_lat"}
        )

        # A factory of another organization finds the product and is agreed automatically.
        borrower = bearer(
            await token_for(
                hub, org="Dalang Garments Ltd", org_kind="factory",
                scopes=["exchange:read", "exchange:write"],
            )
        )  # fmt: skip
        catalog = await hub.graphql(
            '{ dataProducts(search: "workers") { edges { node { key node offers { id } } } } }',
            headers=borrower,
        )
        (edge,) = catalog["dataProducts"]["edges"]
        assert (edge["node"]["key"], edge["node"]["node"]) == (KEY, NODE)
        contract = await hub.graphql(
            "mutation($o: UUID!) { requestDataContract(input: {offerId: $o, "
            "purpose: SUPPLY_MATCHING}) { id state } }",
            {"o": edge["node"]["offers"][0]["id"]},
            headers=borrower,
        )
        assert contract["requestDataContract"]["state"] == "FINALIZED"
        cid = contract["requestDataContract"]["id"]

        async def query(q: dict[str, Any]) -> list[dict[str, Any]]:
            answer = await hub.graphql(GOVERNED, {"id": cid, "q": q}, headers=borrower)
            found: list[dict[str, Any]] = answer["governedData"]["rows"]
            return found

        kind = {"field": "kind", "value": "offer"}
        read = await query({"filters": [kind], "fields": ["worker", "skills", "wage_floor"]})
        assert sorted(r["worker"] for r in read) == sorted(pseudonym(i) for i in ids.values())
        assert {r["wage_floor"] for r in read} == {220}
        weekly = {
            "filters": [{"field": "kind", "value": "skill-week"}],
            "groupBy": ["skill"],
            "aggregates": [{"fn": "SUM", "field": "worker_days"}],
        }
        by_skill = {r["skill"]: r["sum_worker_days"] for r in await query(weekly)}
        assert by_skill == {
            skill: sum(n for (s, _), n in expected.items() if s == skill)
            for skill in {s for s, _ in expected}
        }

        # A worker deleted on request leaves the offers at the next sync; fresh reads at once.
        gone = await node.graphql(
            "mutation($id: UUID!) { deleteWorker(id: $id) { __typename } }",
            {"id": ids["sew-03"]}, headers=lender,
        )  # fmt: skip
        assert gone["deleteWorker"]["__typename"] == "DeleteWorkerSuccess"
        fresh = await query({"filters": [kind], "fields": ["worker"], "fresh": True})
        assert pseudonym(ids["sew-03"]) not in {r["worker"] for r in fresh}
        assert len(await query({"filters": [kind], "fields": ["worker"]})) == 3
        await publisher.publish()
        synced = await query({"filters": [kind], "fields": ["worker"]})
        assert sorted(r["worker"] for r in synced) == sorted(
            pseudonym(ids[p]) for p in ("sew-01", "sew-02")
        )
