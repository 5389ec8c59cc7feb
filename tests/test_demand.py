"""C2M demand on a node through its APIs: a brand's configurable products and SKUs, sales
uploaded (bad rows refused by row, nothing stored), forecasts (quantiles in order, means that
add up the SKU -> product -> total hierarchy), net requirements as production proposals with
lot sizes, accepted into orders the orders domain plans over the node's factories, a re-plan
that keeps the frozen horizon; one brand never sees another's."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections import defaultdict
from typing import Any

import pytest

from demand_forecast import synthetic
from tests.conftest import HubFactory, NodeFactory
from tests.nodes import active_factory, operator_headers
from tests.support import InProcessService, bearer, client_token, create_client
from tests.test_graphql_dataloaders import statements

NODE_URL = "http://zj-textile.test"
TODAY = dt.datetime.now(dt.UTC).date()
THIS_WEEK = TODAY - dt.timedelta(days=TODAY.weekday())
HISTORY_WEEKS = 60
HORIZON = 6

ROUTING = """
product = "bell-base"
name = "Bicycle bell"
unit = "pcs"

[[steps]]
id = "mould"
process = "moulding"
hours_per_unit = 0.01
unit_cost = 0.5

[[steps]]
id = "assemble"
process = "assembly"
after = ["mould"]
hours_per_unit = 0.02
unit_cost = 0.3
lag_days = 1
"""

# Colour changes the bill only; chrome adds a plating step between moulding and assembly.
BELL: dict[str, Any] = {
    "slug": "bell",
    "name": "Bicycle bell",
    "baseProduct": "bell-base",
    "bom": [{"item": "pc-resin", "quantity": 0.05, "unit": "kg"}],
    "options": [
        {"name": "colour", "kind": "COLOUR", "values": [
            {"value": "black"},
            {"value": "red", "bom": [{"item": "masterbatch-red", "quantity": 0.002, "unit": "kg"}]},
        ]},
        {"name": "finish", "kind": "MATERIAL", "values": [
            {"value": "plain"},
            {"value": "chrome", "routing": [
                {"op": "ADD", "step": "plate", "set": {
                    "process": "plating", "after": ["mould"], "hoursPerUnit": 0.01,
                    "unitCost": 0.4, "lagDays": 1,
                }},
                {"op": "CHANGE", "step": "assemble", "set": {"after": ["plate"]}},
            ]},
        ]},
    ],
    "minLot": 50,
    "lotMultiple": 10,
    "serviceLevel": 0.9,
    "frozenWeeks": 2,
}  # fmt: skip
GRIP: dict[str, Any] = {
    "slug": "grip",
    "name": "Handlebar grip",
    "baseProduct": "bell-base",
    "options": [{"name": "size", "kind": "SIZE", "values": [{"value": "s"}, {"value": "l"}]}],
    "minLot": 20,
    "lotMultiple": 5,
    "serviceLevel": 0.8,
    "frozenWeeks": 2,
}
SKUS = {
    "bell": [
        ("BELL-BLK", {"colour": "black", "finish": "plain"}),
        ("BELL-RED", {"colour": "red", "finish": "plain"}),
        ("BELL-CHR", {"colour": "black", "finish": "chrome"}),
    ],
    "grip": [("GRIP-S", {"size": "s"}), ("GRIP-L", {"size": "l"})],
}

CREATE_PRODUCT = """
mutation($input: CreateProductInput!) {
  createProduct(input: $input) {
    __typename
    ... on CreateProductSuccess { product { id slug options { name kind values { value } } } }
    ... on DemandError { code message }
  }
}
"""
CREATE_SKUS = """
mutation($id: UUID!, $skus: [SkuInput!]!) {
  createSkus(productId: $id, skus: $skus) {
    __typename
    ... on CreateSkusSuccess {
      skus { id code variant bom { item quantity } routing { id process after } }
    }
    ... on DemandError { code message }
  }
}
"""
SET_STOCK = """
mutation($stock: [StockInput!]!) {
  setStock(stock: $stock) { __typename ... on SetStockSuccess { skus { code stockOnHand } } }
}
"""
FORECAST = """
mutation($brand: String, $horizon: Int!) {
  runForecast(brand: $brand, horizon: $horizon, windows: 1) {
    __typename
    ... on RunForecastSuccess { forecast { id firstWeek historyEnd skus chosenModels { series } } }
    ... on DemandError { code message }
  }
}
"""
PROMOTED = """
mutation($horizon: Int!, $promotions: [PromotionInput!]) {
  runForecast(horizon: $horizon, windows: 1, promotions: $promotions) {
    __typename
    ... on RunForecastSuccess { forecast { id promotions { sku week promotion } } }
    ... on DemandError { code message }
  }
}
"""
SERIES = """
query($id: UUID!) {
  forecastRun(id: $id) {
    id
    series(first: 100) {
      edges { node { name level region model points { week mean q50 q80 q90 q95 lo90 hi90
                                                     actual } } }
    }
  }
}
"""
PLAN = """
mutation($brand: String) {
  planProduction(brand: $brand) {
    __typename
    ... on PlanProductionSuccess {
      plan {
        id
        effect {
          firstPlan keptFrozen unitsBefore unitsAfter moves { sku week before after frozen }
          factories { factoryId factory before after change }
        }
      }
      autoAccepted { quantity }
    }
    ... on DemandError { code message }
  }
}
"""
PROPOSALS = """
query($brand: String, $status: ProposalStatus) {
  productionProposals(brand: $brand, status: $status, first: 100) {
    totalCount
    edges { node {
      id week release quantity requirement demand safety stock serviceLevel frozen variant
      status orderId sku { code product { slug } }
    } }
  }
}
"""
ACCEPT = """
mutation($ids: [UUID!]!) {
  acceptProposals(ids: $ids) {
    __typename
    ... on AcceptProposalsSuccess {
      proposals { id status orderId }
      lots { product variant week quantity planned problem proposalIds
             order { id number buyerOrg product quantity stage dueDate } }
    }
    ... on DemandError { code message }
  }
}
"""
SALES_COUNT = "query($brand: String) { salesHistory(brand: $brand, first: 1) { totalCount } }"


SYNTHETIC = (
    synthetic.Product("bell", "bikes", ("black", "red"), ("plain", "chrome"), 300.0),
    synthetic.Product("grip", "bikes", ("std",), ("s", "l"), 150.0, yearly_growth=0.0),
)
CODES = {
    "bell-black-plain": "BELL-BLK",
    "bell-red-plain": "BELL-RED",
    "bell-black-chrome": "BELL-CHR",
    "grip-std-s": "GRIP-S",
    "grip-std-l": "GRIP-L",
}
"""The generator's series as the brand's SKU codes (its red chrome bell is not sold here)."""


def weekly_sales(seed: int = 7, weeks: int = HISTORY_WEEKS) -> list[dict[str, Any]]:
    """Seeded weekly sales of every SKU up to last week (demand_forecast.synthetic: a yearly
    season, the calendar's peaks and dips, promotions, returns netted), and a few returns of
    their own in a channel of their own."""
    made = synthetic.weekly_sales(
        products=SYNTHETIC,
        start=(THIS_WEEK - dt.timedelta(weeks=weeks)).isoformat(),
        weeks=weeks,
        future_weeks=0,
        seed=seed,
        slow_share=0.0,
    )
    rows: list[dict[str, Any]] = []
    for row in made.history.itertuples(index=False):
        code = CODES.get(str(row.unique_id))
        if code is not None:
            day = row.ds.date().isoformat()
            rows.append({"sku": code, "date": day, "quantity": int(row.y),
                         "channel": "tmall", "region": "CN-ZJ"})  # fmt: skip
    for index in range(0, len(rows), 97):
        rows.append({**rows[index], "quantity": -2, "channel": "returns"})
    return rows


def as_csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, ["sku", "date", "quantity", "channel", "region"])
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


async def brand_client(
    hub: InProcessService, name: str, scope: str = "orders:write"
) -> tuple[dict[str, str], str]:
    """A brand's client at the hub: its headers for the node, and its organization id."""
    client_id, secret = await create_client(hub, org=name, org_kind="consumer", scopes=[scope])
    at_hub = bearer(await client_token(hub, client_id, secret, scope))
    org = (await hub.graphql("{ viewer { organizationId } }", headers=at_hub))["viewer"]
    return bearer(await client_token(hub, client_id, secret, scope, NODE_URL)), org[
        "organizationId"
    ]


async def capacity(node: InProcessService, operator: dict[str, str], days: int = 63) -> None:
    """Three factories that mould, plate and assemble for the weeks ahead."""
    for index, processes in enumerate(
        [("moulding", "assembly"), ("moulding", "plating"), ("plating", "assembly")]
    ):
        factory = await active_factory(node.client, operator, slug=f"c2m-{index}")
        entries = [
            {"process": process, "day": (TODAY + dt.timedelta(d)).isoformat(),
             "availableHours": 16, "hourlyRate": 30.0 + index}
            for process in processes
            for d in range(days)
        ]  # fmt: skip
        await node.graphql(
            "mutation($id: UUID!, $days: [CapacityDayInput!]!) "
            "{ setFactoryCapacity(factoryId: $id, days: $days) }",
            {"id": factory["id"], "days": entries},
            headers=operator,
        )


async def c2m_setup(hub: InProcessService, node: InProcessService) -> dict[str, Any]:
    """The operator's routing and factories, a brand with two configurable products and their
    SKUs, and the brand's sales history."""
    operator = await operator_headers(hub, NODE_URL)
    await node.graphql(
        "mutation($text: String!) { importRouting(text: $text) { version } }",
        {"text": ROUTING},
        headers=operator,
    )
    await capacity(node, operator)
    brand, brand_id = await brand_client(hub, "Ding Dong Bikes")
    skus: dict[str, dict[str, Any]] = {}
    products: dict[str, str] = {}
    for spec in (BELL, GRIP):
        made = (await node.graphql(CREATE_PRODUCT, {"input": spec}, headers=brand))["createProduct"]
        assert made["__typename"] == "CreateProductSuccess", made
        products[spec["slug"]] = made["product"]["id"]
        result = (
            await node.graphql(
                CREATE_SKUS,
                {"id": made["product"]["id"], "skus": [
                    {"code": code, "options": [{"name": k, "value": v} for k, v in chosen.items()]}
                    for code, chosen in SKUS[spec["slug"]]
                ]},
                headers=brand,
            )
        )["createSkus"]  # fmt: skip
        assert result["__typename"] == "CreateSkusSuccess", result
        skus.update({sku["code"]: sku for sku in result["skus"]})
    return {
        "operator": operator,
        "brand": brand,
        "brand_id": brand_id,
        "skus": skus,
        "products": products,
    }


async def upload(node: InProcessService, headers: dict[str, str], body: bytes, **params: str):
    return await node.client.post(
        "/api/v1/demand/sales",
        content=body,
        params=params,
        headers={**headers, "content-type": "text/csv"},
    )


def _points(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {edge["node"]["name"]: edge["node"] for edge in run["series"]["edges"]}


async def test_products_sales_forecast_plan_and_orders(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        setup = await c2m_setup(hub, node)
        brand, operator, skus = setup["brand"], setup["operator"], setup["skus"]

        # Variants: red changes the bill only (same routing as black); chrome adds a step.
        assert skus["BELL-BLK"]["variant"] == skus["BELL-RED"]["variant"] == ""
        assert skus["BELL-CHR"]["variant"] != ""
        assert {line["item"] for line in skus["BELL-RED"]["bom"]} == {"pc-resin", "masterbatch-red"}
        chrome = {s["id"]: s for s in skus["BELL-CHR"]["routing"]}
        assert chrome["plate"]["process"] == "plating"
        assert chrome["assemble"]["after"] == ["plate"]

        # An upload with bad rows is refused as a whole, naming each row and column.
        rows = weekly_sales()
        bad = [*rows[:3], {"sku": "NOPE", "date": rows[0]["date"], "quantity": 1},
               {"sku": "BELL-BLK", "date": "2025-13-01", "quantity": 4},
               {"sku": "BELL-BLK", "date": rows[1]["date"], "quantity": "ten"},
               dict(rows[2])]  # fmt: skip
        refused = await upload(node, brand, as_csv(bad))
        assert refused.status_code == 422, refused.text
        body = refused.json()
        assert body["error"] == "sales_invalid"
        found = {(p["row"], p["column"]) for p in body["problems"]}
        # Line 1 is the header: the bad rows are lines 5 to 8.
        assert {(5, "sku"), (6, "date"), (7, "quantity"), (8, None)} <= found, body
        assert any("duplicates row 4" in p["message"] for p in body["problems"])
        assert (await node.graphql(SALES_COUNT, headers=brand))["salesHistory"]["totalCount"] == 0

        accepted = await upload(node, brand, as_csv(rows), source="erp-export.csv")
        assert accepted.status_code == 201, accepted.text
        assert accepted.json()["rows"] == len(rows)
        stored = await node.graphql(SALES_COUNT, headers=brand)
        assert stored["salesHistory"]["totalCount"] == len(rows)
        # The same file again: every row is already there, nothing more is stored.
        again = await upload(node, brand, as_csv(rows[:2]))
        assert again.status_code == 422
        assert "already imported" in again.json()["problems"][0]["message"]

        # Stock the brand holds, netted against the forecast.
        await node.graphql(
            SET_STOCK, {"stock": [{"code": "BELL-BLK", "onHand": 150}]}, headers=brand
        )

        made = (await node.graphql(FORECAST, {"horizon": HORIZON}, headers=brand))["runForecast"]
        assert made["__typename"] == "RunForecastSuccess", made
        run = made["forecast"]
        assert run["firstWeek"] == THIS_WEEK.isoformat()
        assert run["skus"] == 5
        series = _points(
            (await node.graphql(SERIES, {"id": run["id"]}, headers=brand))["forecastRun"]
        )
        # The sales name a region (CN-ZJ): each SKU's region is a series below it.
        by_region = {name for name, item in series.items() if item["level"] == "REGION"}
        assert set(series) - by_region == {"total", "bell", "grip", *(
            f"{p}/{c}" for p in ("bell", "grip") for c, _ in SKUS[p])}  # fmt: skip
        assert by_region == {f"{p}/{c}/CN-ZJ" for p in ("bell", "grip") for c, _ in SKUS[p]}
        assert {series[name]["region"] for name in by_region} == {"CN-ZJ"}
        assert series["total"]["region"] is None
        for item in series.values():
            assert len(item["points"]) == HORIZON
            assert item["model"]
            for point in item["points"]:
                assert point["q50"] <= point["q80"] <= point["q90"] <= point["q95"]
                assert point["lo90"] <= point["hi90"]
        # Reconciled: SKUs add up to their product, products to the brand's total.
        for week in range(HORIZON):

            def mean(name: str, week: int = week) -> float:
                return float(series[name]["points"][week]["mean"])

            for product in ("bell", "grip"):
                parts = sum(mean(f"{product}/{code}") for code, _ in SKUS[product])
                assert math.isclose(parts, mean(product), rel_tol=1e-6, abs_tol=1e-6)
            assert math.isclose(mean("bell") + mean("grip"), mean("total"), rel_tol=1e-6)
            for name in by_region:
                sku = name.rsplit("/", 1)[0]
                assert math.isclose(mean(name), mean(sku), rel_tol=1e-6, abs_tol=1e-6)

        # The plan: net requirements, sized into lots.
        planned = (await node.graphql(PLAN, {}, headers=brand))["planProduction"]
        assert planned["__typename"] == "PlanProductionSuccess", planned
        assert planned["plan"]["effect"]["firstPlan"] is True
        assert planned["plan"]["effect"]["factories"] == []  # nothing accepted yet
        proposals = [
            e["node"]
            for e in (await node.graphql(PROPOSALS, {}, headers=brand))["productionProposals"][
                "edges"
            ]
        ]
        assert proposals
        specs = {"bell": BELL, "grip": GRIP}
        for p in proposals:
            spec = specs[p["sku"]["product"]["slug"]]
            assert p["quantity"] >= spec["minLot"]
            assert p["quantity"] % spec["lotMultiple"] == 0
            assert p["quantity"] >= p["requirement"] > 0
            assert p["quantity"] - p["requirement"] < max(spec["minLot"], spec["lotMultiple"])
            assert p["serviceLevel"] == spec["serviceLevel"]
        # Week by week, against the forecast: the first week's requirement is the quantile at
        # the service level less the stock on hand.
        first = {p["sku"]["code"]: p for p in proposals if p["week"] == THIS_WEEK.isoformat()}
        blk = series["bell/BELL-BLK"]["points"][0]
        if "BELL-BLK" in first:
            assert math.isclose(first["BELL-BLK"]["requirement"], blk["q90"] - 150, rel_tol=1e-6)
        else:
            assert blk["q90"] <= 150
        grip_s = series["grip/GRIP-S"]["points"][0]
        assert math.isclose(first["GRIP-S"]["requirement"], grip_s["q80"], rel_tol=1e-6)
        _check_requirements(proposals, series, stock={"BELL-BLK": 150.0})

        # Another brand sees none of it.
        other, _ = await brand_client(hub, "Other Bikes")
        hidden = await node.graphql(SERIES, {"id": run["id"]}, headers=other, expect_errors=True)
        assert hidden["errors"][0]["extensions"]["code"] == "FORECAST_NOT_FOUND"
        assert (await node.graphql(PROPOSALS, {}, headers=other))["productionProposals"][
            "totalCount"
        ] == 0
        denied = await node.graphql(
            PROPOSALS, {"brand": setup["brand_id"]}, headers=other, expect_errors=True
        )
        assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"

        # The brand may not accept; the operator accepts the weeks after the frozen horizon.
        later = [
            p for p in proposals if p["week"] >= (THIS_WEEK + dt.timedelta(weeks=2)).isoformat()
        ]
        ids = [p["id"] for p in later]
        refused_accept = await node.graphql(ACCEPT, {"ids": ids}, headers=brand, expect_errors=True)
        assert refused_accept["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        result = (await node.graphql(ACCEPT, {"ids": ids}, headers=operator))["acceptProposals"]
        assert result["__typename"] == "AcceptProposalsSuccess", result
        assert {p["status"] for p in result["proposals"]} == {"ACCEPTED"}
        lots = result["lots"]
        # One order per product variant and week: black and red bells share a lot.
        keys = {(p["sku"]["product"]["slug"], p["variant"], p["week"]) for p in later}
        assert len(lots) == len(keys)
        for lot in lots:
            members = [p for p in later if p["id"] in lot["proposalIds"]]
            assert lot["quantity"] == sum(p["quantity"] for p in members)
            order = lot["order"]
            assert order["buyerOrg"] == setup["brand_id"]
            assert order["quantity"] == lot["quantity"]
            assert lot["planned"], lot["problem"]
            assert order["stage"] == "PLANNED"
            assert order["dueDate"] < lot["week"]
            if lot["variant"]:
                assert order["product"] == f"c2m-{lot['product']}-{lot['variant']}"
            else:
                assert order["product"] == "bell-base"
        # The brand follows them as a buyer follows its orders.
        theirs = await node.graphql("{ orders(first: 50) { edges { node { id stage } } } }",
                                    headers=brand)  # fmt: skip
        assert {e["node"]["id"] for e in theirs["orders"]["edges"]} == {
            lot["order"]["id"] for lot in lots
        }
        # Accepted once: not again.
        twice = (await node.graphql(ACCEPT, {"ids": ids[:1]}, headers=operator))["acceptProposals"]
        assert twice == {"__typename": "AcceptProposalsError", "code": "PROPOSAL_CLOSED",
                         "message": twice["message"]}  # fmt: skip

        # Promotions recorded with a forecast, one of them ahead in the horizon: stored with the
        # run (by their Monday); a SKU not the brand's is refused.
        ahead = THIS_WEEK + dt.timedelta(weeks=1, days=2)
        promotions = [
            {"sku": "BELL-BLK", "week": (THIS_WEEK - dt.timedelta(weeks=3)).isoformat()},
            {"sku": "BELL-BLK", "week": ahead.isoformat(), "promotion": 0.3},
        ]
        promoted = (
            await node.graphql(PROMOTED, {"horizon": HORIZON, "promotions": promotions},
                               headers=brand)
        )["runForecast"]  # fmt: skip
        assert promoted["__typename"] == "RunForecastSuccess", promoted
        assert promoted["forecast"]["promotions"] == [
            {"sku": "BELL-BLK", "week": (THIS_WEEK - dt.timedelta(weeks=3)).isoformat(),
             "promotion": 1.0},
            {"sku": "BELL-BLK", "week": (THIS_WEEK + dt.timedelta(weeks=1)).isoformat(),
             "promotion": 0.3},
        ]  # fmt: skip
        unknown = [{"sku": "NOPE", "week": ahead.isoformat()}]
        refused_promotion = (
            await node.graphql(PROMOTED, {"horizon": HORIZON, "promotions": unknown},
                               headers=brand)
        )["runForecast"]  # fmt: skip
        assert refused_promotion["__typename"] == "RunForecastError"
        assert "NOPE" in refused_promotion["message"]


def _check_requirements(
    proposals: list[dict[str, Any]], series: dict[str, dict[str, Any]], *, stock: dict[str, float]
) -> None:
    """Each SKU's proposals are the net requirements worked out again from its forecast: the
    week's mean plus safety (quantile less mean) less the projected stock, sized into lots."""
    lots = {
        "bell": (BELL["minLot"], BELL["lotMultiple"]),
        "grip": (GRIP["minLot"], GRIP["lotMultiple"]),
    }
    levels = {"bell": "q90", "grip": "q80"}
    made: dict[str, dict[str, int]] = defaultdict(dict)
    for p in proposals:
        made[p["sku"]["code"]][p["week"]] = p["quantity"]
    for product, codes in SKUS.items():
        minimum, multiple = lots[product]
        for code, _ in codes:
            on_hand = stock.get(code, 0.0)
            for point in series[f"{product}/{code}"]["points"]:
                mean = max(point["mean"], 0.0)
                short = max(mean + max(point[levels[product]] - mean, 0.0) - on_hand, 0.0)
                quantity = 0
                if short > 1e-9:
                    quantity = (
                        math.ceil(max(math.ceil(short - 1e-9), minimum) / multiple) * multiple
                    )
                assert made[code].get(point["week"], 0) == quantity, (code, point["week"])
                on_hand += quantity - mean


RECORD = """
mutation($rows: [SalesRowInput!]!, $brand: String) {
  recordSales(rows: $rows, brand: $brand) {
    __typename
    ... on RecordSalesSuccess { salesImport { rows firstDay lastDay warnings { sku weeks } } }
    ... on RecordSalesError { code message problems { row column message } moreProblems }
  }
}
"""
ACCURACY = """
query($id: UUID) {
  forecastAccuracy(id: $id) {
    weeks pooled { mase rmsse bias coverage } series { series weeks figures { mase coverage } }
  }
}
"""
AUTO_ACCEPT = """
mutation($id: UUID!, $upTo: Int) {
  setAutoAccept(productId: $id, upTo: $upTo) {
    __typename ... on SetAutoAcceptSuccess { product { autoAcceptUpTo } }
  }
}
"""


def _rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**row, "quantity": float(row["quantity"])} for row in rows]


async def _proposals(node: InProcessService, headers: dict[str, str], **where: Any) -> list[Any]:
    data = await node.graphql(PROPOSALS, where, headers=headers)
    return [edge["node"] for edge in data["productionProposals"]["edges"]]


async def test_actuals_score_the_forecast_and_a_replan_keeps_the_frozen_horizon(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        setup = await c2m_setup(hub, node)
        brand, operator = setup["brand"], setup["operator"]
        history = weekly_sales()
        # The brand's data stops two weeks short: its last two weeks come in later, as actuals.
        cut = (THIS_WEEK - dt.timedelta(weeks=2)).isoformat()
        earlier = [r for r in history if r["date"] < cut]
        actuals = [r for r in history if r["date"] >= cut]
        assert (await upload(node, brand, as_csv(earlier))).status_code == 201

        # Increments through GraphQL are checked as uploads are: refused whole, rows named.
        bad = [*_rows(actuals[:2]), {"sku": "BELL-XXL", "date": cut, "quantity": 1.0}]
        refused = (await node.graphql(RECORD, {"rows": bad}, headers=brand))["recordSales"]
        assert refused["__typename"] == "RecordSalesError"
        assert refused["code"] == "SALES_INVALID"
        assert refused["problems"] == [
            {"row": 3, "column": "sku", "message": refused["problems"][0]["message"]}
        ]
        assert "BELL-XXL" in refused["problems"][0]["message"]

        first = (await node.graphql(FORECAST, {"horizon": HORIZON}, headers=brand))["runForecast"]
        run = first["forecast"]
        assert run["firstWeek"] == cut
        none_yet = await node.graphql(ACCURACY, {"id": run["id"]}, headers=brand)
        assert none_yet["forecastAccuracy"] == {"weeks": 0, "pooled": None, "series": []}

        planned = (await node.graphql(PLAN, {}, headers=brand))["planProduction"]
        assert planned["__typename"] == "PlanProductionSuccess", planned
        before = await _proposals(node, brand, status="PROPOSED")
        # Weeks already gone are not proposed; those left start this week.
        assert min(p["week"] for p in before) >= THIS_WEEK.isoformat()
        # The operator accepts one black bell lot beyond the frozen horizon (it shares its lot
        # with the red bells of its week): an order with work orders at the node's factories.
        frozen_until = (THIS_WEEK + dt.timedelta(weeks=2)).isoformat()
        blacks = [p for p in before if p["sku"]["code"] == "BELL-BLK" and p["week"] >= frozen_until]
        reds = {p["week"] for p in before if p["sku"]["code"] == "BELL-RED"}
        chosen = min(blacks, key=lambda p: (p["week"] not in reds, p["week"]))
        lot_week = chosen["week"]
        taken = (await node.graphql(ACCEPT, {"ids": [chosen["id"]]}, headers=operator))[
            "acceptProposals"
        ]
        assert taken["__typename"] == "AcceptProposalsSuccess", taken
        assert taken["lots"][0]["planned"], taken["lots"][0]["problem"]
        before = [p for p in before if p["id"] != chosen["id"]]

        recorded = (await node.graphql(RECORD, {"rows": _rows(actuals)}, headers=brand))[
            "recordSales"
        ]
        assert recorded["__typename"] == "RecordSalesSuccess", recorded
        assert recorded["salesImport"]["rows"] == len(actuals)
        scored = (await node.graphql(ACCURACY, {"id": run["id"]}, headers=brand))[
            "forecastAccuracy"
        ]
        assert scored["weeks"] == 2
        pooled = scored["pooled"]
        assert pooled["mase"] > 0
        assert pooled["rmsse"] > 0
        assert 0 <= pooled["coverage"] <= 1
        assert {s["series"] for s in scored["series"]} >= {"total", "bell", "grip/GRIP-S"}
        assert all(s["weeks"] == 2 for s in scored["series"])
        shown = _points(
            (await node.graphql(SERIES, {"id": run["id"]}, headers=brand))["forecastRun"]
        )
        weeks = shown["total"]["points"]
        assert weeks[0]["actual"] == sum(r["quantity"] for r in actuals if r["date"] == cut)
        assert weeks[2]["actual"] is None

        # The operator accepts small lots of grips at once from now on; the brand's own plan
        # cannot accept anything, the operator's does.
        rule = (
            await node.graphql(AUTO_ACCEPT, {"id": setup["products"]["grip"], "upTo": 10_000},
                               headers=brand, expect_errors=True)
        )  # fmt: skip
        assert rule["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        rule = await node.graphql(
            AUTO_ACCEPT, {"id": setup["products"]["grip"], "upTo": 10_000}, headers=operator
        )
        assert rule["setAutoAccept"]["product"]["autoAcceptUpTo"] == 10_000

        # A new forecast from the fuller history, planned again by the operator: open proposals
        # in the frozen horizon (this week and next) stay as they were, later ones move.
        second = (
            await node.graphql(FORECAST, {"horizon": HORIZON, "brand": setup["brand_id"]},
                               headers=operator)
        )["runForecast"]["forecast"]  # fmt: skip
        assert second["firstWeek"] == THIS_WEEK.isoformat()
        replanned = (await node.graphql(PLAN, {"brand": setup["brand_id"]}, headers=operator))[
            "planProduction"
        ]
        assert replanned["__typename"] == "PlanProductionSuccess", replanned
        effect = replanned["plan"]["effect"]
        assert effect["firstPlan"] is False
        # The factories working on the accepted bell lot gain or lose its week's change in the
        # plain bells' proposals, in shares that add up to it.
        lot_change = sum(
            m["after"] - m["before"] for m in effect["moves"]
            if m["week"] == lot_week and m["sku"] in ("BELL-BLK", "BELL-RED")
        )  # fmt: skip
        if lot_change:
            assert effect["factories"], effect
            assert math.isclose(sum(f["change"] for f in effect["factories"]), lot_change,
                                abs_tol=0.1 * len(effect["factories"]))  # fmt: skip
        else:
            assert effect["factories"] == []
        kept = [p for p in before if p["week"] < frozen_until]
        assert effect["keptFrozen"] == len(kept) > 0
        assert all(not m["frozen"] and m["week"] >= frozen_until for m in effect["moves"])
        assert effect["unitsBefore"] == sum(p["quantity"] for p in before)
        now_open = {p["id"]: p for p in await _proposals(node, operator, status="PROPOSED",
                                                         brand=setup["brand_id"])}  # fmt: skip
        for p in kept:
            if p["sku"]["product"]["slug"] == "grip":
                continue  # not auto-accepted: they were made by the brand's plan
            assert now_open[p["id"]]["quantity"] == p["quantity"]
            assert now_open[p["id"]]["frozen"] is True
        superseded = await _proposals(node, brand, status="SUPERSEDED")
        assert {p["id"] for p in superseded} == {
            p["id"] for p in before if p["week"] >= frozen_until
        }
        # Every new grip proposal was accepted under the rule, and planned as an order.
        assert replanned["autoAccepted"]
        grips = [p for p in await _proposals(node, brand, status="ACCEPTED")
                 if p["id"] != chosen["id"]]  # fmt: skip
        assert grips
        assert {p["sku"]["product"]["slug"] for p in grips} == {"grip"}
        assert all(p["orderId"] for p in grips)
        assert not [p for p in now_open.values() if p["sku"]["product"]["slug"] == "grip"
                    and p["week"] >= frozen_until]  # fmt: skip
        # Planned again now that grips are orders with work orders: any factory said to gain or
        # lose work is one of the node's, and its change is after less before.
        third = (await node.graphql(PLAN, {"brand": setup["brand_id"]}, headers=operator))[
            "planProduction"
        ]
        assert third["__typename"] == "PlanProductionSuccess", third
        listed = await node.graphql(
            "{ factories(first: 50) { edges { node { name } } } }", headers=operator
        )
        names = {e["node"]["name"] for e in listed["factories"]["edges"]}
        for moved in third["plan"]["effect"]["factories"]:
            assert moved["factory"] in names
            assert math.isclose(moved["change"], moved["after"] - moved["before"], abs_tol=0.11)


SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
"""Authorization and input checks do not depend on the database: one is enough."""

UPDATE_PRODUCT = """
mutation($id: UUID!, $input: UpdateProductInput!) {
  updateProduct(id: $id, input: $input) {
    __typename
    ... on UpdateProductSuccess { product { minLot options { name values { value } } } }
    ... on DemandError { code message }
  }
}
"""
DELETE_PRODUCT = """
mutation($id: UUID!) {
  deleteProduct(id: $id) { __typename ... on DemandError { code message } }
}
"""


@SQLITE
async def test_uploads_are_authorized_before_they_are_read_and_refusals_are_typed(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        setup = await c2m_setup(hub, node)
        brand, brand_id = setup["brand"], setup["brand_id"]
        rows = weekly_sales(weeks=10)
        other, _ = await brand_client(hub, "Other Bikes")
        reader, _ = await brand_client(hub, "Reading Bikes", scope="orders:read")

        # Nobody's body is read before they are known and allowed: anonymous, another brand
        # sending as this one, the body over the cap (by its declared length).
        anonymous = await node.client.post("/api/v1/demand/sales", content=as_csv(rows))
        assert anonymous.status_code == 401
        foreign = await upload(node, other, as_csv(rows), brand=brand_id)
        assert foreign.status_code == 403
        assert foreign.json()["error"] == "forbidden"
        huge = await node.client.post(
            "/api/v1/demand/sales",
            content=b"x" * (32 * 1024 * 1024 + 1),
            headers={**brand, "content-type": "text/csv"},
        )
        assert huge.status_code == 413
        assert (await node.graphql(SALES_COUNT, headers=brand))["salesHistory"]["totalCount"] == 0

        # A file that is not what it says: the header is checked first.
        unknown = await upload(node, brand, b"sku;date;qty\nBELL-BLK;2025-01-06;3\n")
        assert unknown.status_code == 422
        assert unknown.json()["problems"][0]["row"] == 1

        # Parquet, when pyarrow is there, with the same columns.
        import pyarrow as pa  # type: ignore[import-untyped]
        import pyarrow.parquet as pq  # type: ignore[import-untyped]

        table = pa.table({
            "sku": [r["sku"] for r in rows],
            "date": [dt.date.fromisoformat(r["date"]) for r in rows],
            "quantity": [float(r["quantity"]) for r in rows],
            "channel": [r["channel"] for r in rows],
        })  # fmt: skip
        data = io.BytesIO()
        pq.write_table(table, data)
        stored = await node.client.post(
            "/api/v1/demand/sales",
            content=data.getvalue(),
            headers={**brand, "content-type": "application/vnd.apache.parquet"},
        )
        assert stored.status_code == 201, stored.text
        assert stored.json()["rows"] == len(rows)

        # The operator sees the brand's sales; a reader of another organization none of them.
        count = await node.graphql(SALES_COUNT, {"brand": brand_id}, headers=setup["operator"])
        assert count["salesHistory"]["totalCount"] == len(rows)
        # ... and that read of another organization's data is on the audit trail.
        audit = await node.graphql(
            '{ auditLog(action: "node.demand.sales.read") '
            "{ edges { node { resource outcome } } } }",
            headers=setup["operator"],
        )
        assert {"resource": f'["{brand_id}"]', "outcome": "allow"} in [
            edge["node"] for edge in audit["auditLog"]["edges"]
        ]
        assert (await node.graphql(SALES_COUNT, headers=reader))["salesHistory"]["totalCount"] == 0

        # Expected failures come back typed, with their codes; nothing is written.
        again = (await node.graphql(CREATE_PRODUCT, {"input": BELL}, headers=brand))[
            "createProduct"
        ]
        assert again["__typename"] == "CreateProductError"
        assert again["code"] == "CONFLICT"
        nowhere = {**GRIP, "slug": "grip-2", "baseProduct": "no-such-routing"}
        missing = (await node.graphql(CREATE_PRODUCT, {"input": nowhere}, headers=brand))[
            "createProduct"
        ]
        assert missing["code"] == "PRODUCT_INVALID"
        assert "no-such-routing" in missing["message"]
        paint = [{"op": "REMOVE", "step": "paint"}]
        removing = {**GRIP, "slug": "grip-3", "options": [
            {"name": "size", "kind": "SIZE", "values": [{"value": "s", "routing": paint}]}
        ]}  # fmt: skip
        invalid = (await node.graphql(CREATE_PRODUCT, {"input": removing}, headers=brand))[
            "createProduct"
        ]
        assert invalid["code"] == "PRODUCT_INVALID"
        assert "no step paint" in invalid["message"]
        wrong = (
            await node.graphql(
                CREATE_SKUS,
                {"id": setup["products"]["bell"], "skus": [
                    {"code": "BELL-GRN", "options": [{"name": "colour", "value": "green"},
                                                     {"name": "finish", "value": "plain"}]}
                ]},
                headers=brand,
            )
        )["createSkus"]  # fmt: skip
        assert wrong["code"] == "PRODUCT_INVALID"
        assert "green" in wrong["message"]

        # Another brand cannot change (or even find) this brand's product.
        hidden = (
            await node.graphql(
                UPDATE_PRODUCT, {"id": setup["products"]["grip"], "input": {"minLot": 1}},
                headers=other,
            )
        )["updateProduct"]  # fmt: skip
        assert hidden["code"] == "PRODUCT_NOT_FOUND"
        # The brand can, as long as its SKUs stay valid choices.
        dropped = (
            await node.graphql(
                UPDATE_PRODUCT,
                {"id": setup["products"]["grip"], "input": {"options": [
                    {"name": "size", "kind": "SIZE", "values": [{"value": "s"}]}]}},
                headers=brand,
            )
        )["updateProduct"]  # fmt: skip
        assert dropped["code"] == "PRODUCT_INVALID"
        assert "GRIP-L" in dropped["message"]
        changed = (
            await node.graphql(
                UPDATE_PRODUCT, {"id": setup["products"]["grip"], "input": {"minLot": 40}},
                headers=brand,
            )
        )["updateProduct"]  # fmt: skip
        assert changed["product"]["minLot"] == 40
        # Products with sales are kept.
        kept = (await node.graphql(DELETE_PRODUCT, {"id": setup["products"]["bell"]},
                                   headers=brand))["deleteProduct"]  # fmt: skip
        assert kept["code"] == "PRODUCT_IN_USE"


SKU_PAGE = """
query($first: Int!) {
  skus(first: $first) {
    edges { node {
      code variant
      product { slug skus { code } }
      bom { item }
      routing { id }
    } }
  }
}
"""


@SQLITE
async def test_a_page_of_skus_reads_each_relation_once_whatever_its_size(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        setup = await c2m_setup(hub, node)
        reads = []
        for first in (2, 5):
            with statements(("demand_products", "demand_skus", "routings")) as seen:
                page = await node.graphql(SKU_PAGE, {"first": first}, headers=setup["brand"])
            reads.append(seen)
            rows = [edge["node"] for edge in page["skus"]["edges"]]
            assert [row["code"] for row in rows] == sorted(CODES.values())[:first]
            for row in rows:
                product = row["product"]["slug"]
                assert {s["code"] for s in row["product"]["skus"]} == {c for c, _ in SKUS[product]}
                assert row["routing"]
                assert ("plate" in {s["id"] for s in row["routing"]}) == (row["code"] == "BELL-CHR")
        assert reads[0] == reads[1], reads
        # The page itself and the products' SKUs; the products; the base routings.
        assert reads[1] == {"demand_skus": 2, "demand_products": 1, "routings": 1}
