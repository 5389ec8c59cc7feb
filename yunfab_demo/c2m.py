"""The demo's C2M scenario on the moulding node (issue #21): a cycling-accessories brand sells
configurable mudguards and licence-plate frames online; its two years of weekly sales (seeded,
`demand_forecast.synthetic`) go to the node, are forecast, and become production proposals that
the node operator accepts into orders planned over the node's small factories.

Played through the node's public APIs, as the brand's systems and the operator's console would:

1. the operator imports the products' base routings (processes the node's factories offer);
2. the brand creates its products (options: colour, size, a printed logo, an e-coat finish) and
   SKUs, and sets its stock;
3. it uploads its sales up to four weeks ago (REST, CSV), forecasts and plans;
4. the last four weeks' sales come in: the first forecast is scored on them, the brand forecasts
   again and re-plans (the frozen weeks stay, later weeks move);
5. the operator accepts the proposals of the next two weeks that can still be made in time:
   one order per variant and week, each allocated over the factories.

A few products and a short horizon: both forecasts take a few seconds on two cores.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from yunfab_demo.users import BRAND_ORG

HISTORY_WEEKS = 104
LATE_WEEKS = 4
"""Weeks of sales sent after the first forecast: what scores it and moves the re-plan."""
HORIZON = 8
ACCEPT_WEEKS = 2
"""The operator accepts the proposals of the next weeks that can still be made in time."""
SEED = 21
TIMEOUT_S = 120.0

ROUTINGS = (
    """
product = "mudguard-base"
name = "Bicycle mudguard"
unit = "pcs"

[[steps]]
id = "mould"
name = "Mudguard moulding"
process = "injection-moulding"
equipment = "injection-moulding-machine"
hours_per_unit = 0.004
unit_cost = 0.55
yield = 0.98

[[steps]]
id = "assemble"
name = "Stays and clips"
process = "assembly"
after = ["mould"]
hours_per_unit = 0.003
unit_cost = 0.2
lag_days = 1

[[steps]]
id = "pack"
name = "Packing"
process = "packing"
after = ["assemble"]
hours_per_unit = 0.001
unit_cost = 0.05
""",
    """
product = "plate-frame-base"
name = "Licence plate frame"
unit = "pcs"

[[steps]]
id = "mould"
name = "Frame moulding"
process = "injection-moulding"
equipment = "injection-moulding-machine"
hours_per_unit = 0.003
unit_cost = 0.4
yield = 0.98

[[steps]]
id = "pack"
name = "Packing"
process = "packing"
after = ["mould"]
hours_per_unit = 0.001
unit_cost = 0.05
lag_days = 1
""",
)

MUDGUARD: dict[str, Any] = {
    "slug": "mudguard",
    "name": "Urban mudguard",
    "baseProduct": "mudguard-base",
    "bom": [{"item": "pp-resin", "quantity": 0.12, "unit": "kg"}],
    "options": [
        {"name": "colour", "kind": "COLOUR", "values": [
            {"value": "black"},
            {"value": "green",
             "bom": [{"item": "masterbatch-green", "quantity": 0.003, "unit": "kg"}]},
        ]},
        {"name": "size", "kind": "SIZE", "values": [
            {"value": "26in"},
            {"value": "700c", "bom": [{"item": "pp-resin", "quantity": 0.14, "unit": "kg"}]},
        ]},
        {"name": "logo", "kind": "PERSONALISATION", "values": [
            {"value": "none"},
            {"value": "printed", "routing": [
                {"op": "ADD", "step": "print", "set": {
                    "name": "Logo printing", "process": "uv-printing",
                    "equipment": "uv-flatbed-printer", "after": ["mould"],
                    "hoursPerUnit": 0.002, "unitCost": 0.15, "lagDays": 1,
                }},
                {"op": "CHANGE", "step": "assemble", "set": {"after": ["print"]}},
            ]},
        ]},
    ],
    "minLot": 100,
    "lotMultiple": 50,
    "serviceLevel": 0.9,
    "frozenWeeks": 2,
}  # fmt: skip
FRAME: dict[str, Any] = {
    "slug": "plate-frame",
    "name": "Licence plate frame",
    "baseProduct": "plate-frame-base",
    "bom": [{"item": "abs-resin", "quantity": 0.08, "unit": "kg"}],
    "options": [
        {"name": "colour", "kind": "COLOUR", "values": [{"value": "black"}, {"value": "silver"}]},
        {"name": "finish", "kind": "MATERIAL", "values": [
            {"value": "matte"},
            {"value": "e-coat", "routing": [
                {"op": "ADD", "step": "coat", "set": {
                    "name": "E-coating", "process": "electrophoresis", "skills": ["e-coating"],
                    "after": ["mould"], "hoursPerUnit": 0.002, "unitCost": 0.12, "lagDays": 1,
                }},
                {"op": "CHANGE", "step": "pack", "set": {"after": ["coat"]}},
            ]},
        ]},
    ],
    "minLot": 50,
    "lotMultiple": 10,
    "serviceLevel": 0.8,
    "frozenWeeks": 2,
}  # fmt: skip


@dataclass(frozen=True)
class DemoSku:
    code: str
    product: str
    options: dict[str, str]
    series: str
    """The seeded generator's series it sells as (product-colour-size)."""


SKUS = (
    DemoSku("MG-BLK-26", "mudguard", {"colour": "black", "size": "26in", "logo": "none"},
            "mudguard-black-26in"),
    DemoSku("MG-BLK-700", "mudguard", {"colour": "black", "size": "700c", "logo": "none"},
            "mudguard-black-700c"),
    DemoSku("MG-GRN-26", "mudguard", {"colour": "green", "size": "26in", "logo": "none"},
            "mudguard-green-26in"),
    DemoSku("MG-GRN-700", "mudguard", {"colour": "green", "size": "700c", "logo": "none"},
            "mudguard-green-700c"),
    DemoSku("MG-BLK-700-LOGO", "mudguard",
            {"colour": "black", "size": "700c", "logo": "printed"}, "mudguard-black-700c-logo"),
    DemoSku("PF-BLK", "plate-frame", {"colour": "black", "finish": "matte"},
            "plate-frame-black-matte"),
    DemoSku("PF-SLV", "plate-frame", {"colour": "silver", "finish": "matte"},
            "plate-frame-silver-matte"),
    DemoSku("PF-BLK-EC", "plate-frame", {"colour": "black", "finish": "e-coat"},
            "plate-frame-black-e-coat"),
)  # fmt: skip
STOCK = {"MG-BLK-700": 400.0, "PF-BLK": 150.0}
CHANNELS = ("tmall", "jd")


class C2MFailed(RuntimeError):
    """The scenario stopped: a call the demo relies on was refused."""


IMPORT_ROUTING = "mutation($text: String!) { importRouting(text: $text) { product version } }"
CREATE_PRODUCT = """
mutation($input: CreateProductInput!) {
  createProduct(input: $input) {
    __typename
    ... on CreateProductSuccess { product { id slug } }
    ... on DemandError { code message }
  }
}
"""
CREATE_SKUS = """
mutation($id: UUID!, $skus: [SkuInput!]!) {
  createSkus(productId: $id, skus: $skus) {
    __typename
    ... on CreateSkusSuccess { skus { code variant } }
    ... on DemandError { code message }
  }
}
"""
SET_STOCK = """
mutation($stock: [StockInput!]!) {
  setStock(stock: $stock) { __typename ... on DemandError { code message } }
}
"""
RUN_FORECAST = """
mutation($horizon: Int!) {
  runForecast(horizon: $horizon, windows: 2) {
    __typename
    ... on RunForecastSuccess { forecast { id firstWeek skus elapsedS reconciliation } }
    ... on DemandError { code message }
  }
}
"""
ACCURACY = """
query($id: UUID!) {
  forecastAccuracy(id: $id) { weeks pooled { mase rmsse bias coverage } }
}
"""
PLAN = """
mutation {
  planProduction {
    __typename
    ... on PlanProductionSuccess {
      plan { id effect { firstPlan unitsBefore unitsAfter keptFrozen moves { before after } } }
    }
    ... on DemandError { code message }
  }
}
"""
PROPOSALS = """
query($brand: String!, $after: String) {
  productionProposals(brand: $brand, status: PROPOSED, first: 100, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { id week quantity late } }
  }
}
"""
ACCEPT = """
mutation($ids: [UUID!]!) {
  acceptProposals(ids: $ids) {
    __typename
    ... on AcceptProposalsSuccess {
      lots { product variant week quantity planned problem order { number } }
    }
    ... on DemandError { code message }
  }
}
"""
VIEWER = "{ viewer { organizationId } }"


def weekly_sales(this_week: dt.date) -> list[dict[str, Any]]:
    """Two years of seeded weekly sales up to last week, per SKU and channel: the generator's
    series (a yearly season, Spring Festival, 618 and Double 11, promotions, returns netted)
    split between two shops, each row dated on its week's Monday."""
    from demand_forecast import synthetic

    made = synthetic.weekly_sales(
        products=(
            synthetic.Product("mudguard", "cycling", ("black", "green"),
                              ("26in", "700c", "700c-logo"), 420.0),
            synthetic.Product("plate-frame", "cycling", ("black", "silver"),
                              ("matte", "e-coat"), 260.0, yearly_growth=0.2),
        ),
        start=(this_week - dt.timedelta(weeks=HISTORY_WEEKS)).isoformat(),
        weeks=HISTORY_WEEKS,
        future_weeks=0,
        seed=SEED,
        slow_share=0.0,
    )  # fmt: skip
    codes = {sku.series: sku.code for sku in SKUS}
    rows: list[dict[str, Any]] = []
    for row in made.history.itertuples(index=False):
        code = codes.get(str(row.unique_id))
        if code is None:
            continue
        total = int(row.y)
        online = round(total * 0.65)
        day = row.ds.date().isoformat()
        for channel, quantity in zip(CHANNELS, (online, total - online), strict=True):
            rows.append({"sku": code, "date": day, "quantity": quantity, "channel": channel,
                         "region": "CN"})  # fmt: skip
    return rows


def as_csv(rows: Sequence[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, ["sku", "date", "quantity", "channel", "region"])
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


class _Node:
    def __init__(self, url: str, client: httpx.Client) -> None:
        self.url = url
        self.client = client

    def graphql(self, token: str, query: str, variables: dict[str, Any] | None = None) -> Any:
        response = self.client.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"authorization": f"Bearer {token}"},
        )
        body = response.json()
        if body.get("errors"):
            error = body["errors"][0]
            code = (error.get("extensions") or {}).get("code", "ERROR")
            name = query.split("(")[0].split("{")[0].strip()
            raise C2MFailed(f"{name}: {code}: {error['message']}")
        data = body["data"]
        # Every demand mutation answers Success | Error: an error is the end of the scenario.
        for value in data.values():
            if isinstance(value, dict) and "code" in value and "message" in value:
                raise C2MFailed(f"{value['code']}: {value['message']}")
        return data

    def upload(self, token: str, rows: Sequence[dict[str, Any]], source: str) -> dict[str, Any]:
        response = self.client.post(
            f"{self.url}/api/v1/demand/sales",
            params={"source": source},
            content=as_csv(rows),
            headers={"authorization": f"Bearer {token}", "content-type": "text/csv"},
        )
        if response.status_code != 201:
            raise C2MFailed(f"sales upload: {response.status_code} {response.text[:500]}")
        answer: dict[str, Any] = response.json()
        return answer


def play(
    node_url: str, *, operator_token: str, brand_token: str, today: dt.date | None = None
) -> dict[str, Any]:
    """The scenario, start to end; returns what the demo prints and keeps (c2m.json)."""
    today = today or dt.datetime.now(dt.UTC).date()
    this_week = today - dt.timedelta(days=today.weekday())
    with httpx.Client(timeout=TIMEOUT_S) as client:
        node = _Node(node_url, client)
        brand = node.graphql(brand_token, VIEWER)["viewer"]["organizationId"]
        for text in ROUTINGS:
            node.graphql(operator_token, IMPORT_ROUTING, {"text": text})
        variants: dict[str, set[str]] = {}
        for spec in (MUDGUARD, FRAME):
            made = node.graphql(brand_token, CREATE_PRODUCT, {"input": spec})["createProduct"]
            skus = [
                {"code": s.code, "options": [{"name": k, "value": v} for k, v in s.options.items()]}
                for s in SKUS
                if s.product == spec["slug"]
            ]
            created = node.graphql(
                brand_token, CREATE_SKUS, {"id": made["product"]["id"], "skus": skus}
            )["createSkus"]["skus"]
            variants[spec["slug"]] = {sku["variant"] for sku in created}
        node.graphql(
            brand_token,
            SET_STOCK,
            {"stock": [{"code": code, "onHand": units} for code, units in STOCK.items()]},
        )

        rows = weekly_sales(this_week)
        cut = (this_week - dt.timedelta(weeks=LATE_WEEKS)).isoformat()
        early = [r for r in rows if r["date"] < cut]
        late = [r for r in rows if r["date"] >= cut]
        node.upload(brand_token, early, "erp-export.csv")
        started = time.monotonic()
        first = node.graphql(brand_token, RUN_FORECAST, {"horizon": HORIZON + LATE_WEEKS})[
            "runForecast"
        ]["forecast"]
        first_s = time.monotonic() - started
        first_plan = node.graphql(brand_token, PLAN)["planProduction"]["plan"]

        node.upload(brand_token, late, "weekly-sales.csv")
        scored = node.graphql(brand_token, ACCURACY, {"id": first["id"]})["forecastAccuracy"]
        started = time.monotonic()
        second = node.graphql(brand_token, RUN_FORECAST, {"horizon": HORIZON})["runForecast"][
            "forecast"
        ]
        second_s = time.monotonic() - started
        replan = node.graphql(brand_token, PLAN)["planProduction"]["plan"]

        proposals: list[dict[str, Any]] = []
        after = None
        while True:
            page = node.graphql(operator_token, PROPOSALS, {"brand": brand, "after": after})[
                "productionProposals"
            ]
            proposals += [edge["node"] for edge in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        # This week's lots are mostly late (their release has passed, their week begun): the
        # operator takes those that can still be made in time, over the next weeks.
        horizon_end = (this_week + dt.timedelta(weeks=ACCEPT_WEEKS + 1)).isoformat()
        chosen = [p["id"] for p in proposals if p["week"] < horizon_end and not p["late"]]
        lots = (
            node.graphql(operator_token, ACCEPT, {"ids": chosen})["acceptProposals"]["lots"]
            if chosen
            else []
        )
    effect = replan["effect"]
    moved = sum(abs(m["after"] - m["before"]) for m in effect["moves"])
    pooled = scored["pooled"] or {}
    return {
        "brand": brand,
        "brand_name": BRAND_ORG,
        "products": 2,
        "skus": len(SKUS),
        "variants": sum(len(v) for v in variants.values()),
        "sales_rows": len(rows),
        "sales_weeks": HISTORY_WEEKS,
        "first_forecast": first["id"],
        "first_forecast_s": round(first_s, 1),
        "first_plan": first_plan["id"],
        "scored_weeks": scored["weeks"],
        "mase": pooled.get("mase"),
        "coverage": pooled.get("coverage"),
        "forecast": second["id"],
        "forecast_s": round(second_s, 1),
        "horizon": HORIZON,
        "reconciliation": second["reconciliation"],
        "plan": replan["id"],
        "units_before": effect["unitsBefore"],
        "units_after": effect["unitsAfter"],
        "kept_frozen": effect["keptFrozen"],
        "units_moved": moved,
        "proposals": len(proposals),
        "accepted": len(chosen),
        "lots": len(lots),
        "allocated": sum(1 for lot in lots if lot["planned"]),
        "orders": [lot["order"]["number"] for lot in lots if lot.get("order")],
        "problems": [lot["problem"] for lot in lots if lot["problem"]],
    }
