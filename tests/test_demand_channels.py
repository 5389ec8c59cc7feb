"""Channels as a level of the hierarchy: a forecast made `by: CHANNEL` puts each SKU's sales
channels below it (`<product>/<sku code>/<channel>`, sales without one under `unassigned`),
reconciled channel -> SKU -> product -> brand, and its accuracy is scored on the same series;
the default stays by region."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest

from tests.conftest import HubFactory, NodeFactory
from tests.test_demand import RECORD, SERIES, SKUS, THIS_WEEK
from tests.test_demand_feeds import _brand_at_node

WEEKS = 14
CODES = [code for code, _ in SKUS["bell"]][:2]
RUN = """
mutation($by: ForecastLevel!) {
  runForecast(horizon: 2, windows: 1, by: $by) {
    __typename
    ... on RunForecastSuccess { forecast { id by } }
    ... on DemandError { code message }
  }
}
"""
CHANNEL_SERIES = SERIES.replace("level region", "level region channel")
ACCURACY = "query($id: UUID) { forecastAccuracy(id: $id) { weeks series { series } } }"


def _sales() -> list[dict[str, Any]]:
    """Two bells over fourteen weeks: the black one on Tmall (about three times as much) and
    JD, the red one on Tmall and, now and then, with no channel named."""
    rng = random.Random(5)
    rows: list[dict[str, Any]] = []
    for week in range(WEEKS, 0, -1):
        day = (THIS_WEEK - dt.timedelta(weeks=week)).isoformat()
        rows.append({"sku": CODES[0], "date": day, "quantity": 30 + rng.randint(-4, 4),
                     "channel": "tmall", "region": "CN-ZJ"})  # fmt: skip
        rows.append({"sku": CODES[0], "date": day, "quantity": 10 + rng.randint(-2, 2),
                     "channel": "jd", "region": "CN-ZJ"})  # fmt: skip
        rows.append({"sku": CODES[1], "date": day, "quantity": 12 + rng.randint(-3, 3),
                     "channel": "tmall", "region": "CN-GD"})  # fmt: skip
        if week % 3 == 0:
            rows.append({"sku": CODES[1], "date": day, "quantity": 2, "region": "CN-GD"})
    return rows


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_forecast_by_channel_reconciles_channels_under_their_sku(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        _, headers = await _brand_at_node(hub, node)
        brand = headers["brand"]
        recorded = (await node.graphql(RECORD, {"rows": _sales()}, headers=brand))["recordSales"]
        assert recorded["__typename"] == "RecordSalesSuccess", recorded

        made = (await node.graphql(RUN, {"by": "CHANNEL"}, headers=brand))["runForecast"]
        assert made["__typename"] == "RunForecastSuccess", made
        assert made["forecast"]["by"] == "CHANNEL"
        run = (await node.graphql(CHANNEL_SERIES, {"id": made["forecast"]["id"]}, headers=brand))[
            "forecastRun"
        ]
        series = {edge["node"]["name"]: edge["node"] for edge in run["series"]["edges"]}
        black, red = (f"bell/{code}" for code in CODES)
        below = {name: s for name, s in series.items() if s["level"] == "CHANNEL"}
        assert set(below) == {f"{black}/tmall", f"{black}/jd", f"{red}/tmall", f"{red}/unassigned"}
        assert below[f"{black}/jd"]["channel"] == "jd"
        assert below[f"{black}/jd"]["region"] is None
        assert {s["level"] for s in series.values()} == {"TOTAL", "PRODUCT", "SKU", "CHANNEL"}

        def means(name: str) -> list[float]:
            return [point["mean"] for point in series[name]["points"]]

        for week in range(2):
            assert means(black)[week] == pytest.approx(
                means(f"{black}/tmall")[week] + means(f"{black}/jd")[week], rel=1e-6
            )
            assert means(red)[week] == pytest.approx(
                means(f"{red}/tmall")[week] + means(f"{red}/unassigned")[week], rel=1e-6
            )
            assert means("bell")[week] == pytest.approx(means(black)[week] + means(red)[week])
            # Tmall sells the black bell about three times as much as JD.
            assert means(f"{black}/tmall")[week] > 2 * means(f"{black}/jd")[week]

        # The default is by region, as before.
        plain = (await node.graphql(RUN, {"by": "REGION"}, headers=brand))["runForecast"]
        by_region = (
            await node.graphql(CHANNEL_SERIES, {"id": plain["forecast"]["id"]}, headers=brand)
        )["forecastRun"]
        levels = {edge["node"]["level"] for edge in by_region["series"]["edges"]}
        assert "CHANNEL" not in levels
        assert "REGION" in levels

        # Anything else below a SKU is refused.
        refused = (await node.graphql(RUN, {"by": "SKU"}, headers=brand))["runForecast"]
        assert refused["code"] == "INVALID_INPUT"

        # This week's sales come in: the channel run is scored on its own series, channels
        # included.
        this_week = THIS_WEEK.isoformat()
        actuals = [
            {
                "sku": CODES[0],
                "date": this_week,
                "quantity": 29,
                "channel": "tmall",
                "region": "CN-ZJ",
            },
            {
                "sku": CODES[0],
                "date": this_week,
                "quantity": 11,
                "channel": "jd",
                "region": "CN-ZJ",
            },
            {
                "sku": CODES[1],
                "date": this_week,
                "quantity": 12,
                "channel": "tmall",
                "region": "CN-GD",
            },
        ]
        recorded = (await node.graphql(RECORD, {"rows": actuals}, headers=brand))["recordSales"]
        assert recorded["__typename"] == "RecordSalesSuccess", recorded
        accuracy = await node.graphql(ACCURACY, {"id": made["forecast"]["id"]}, headers=brand)
        assert accuracy["forecastAccuracy"]["weeks"] == 1
        scored = {s["series"] for s in accuracy["forecastAccuracy"]["series"]}
        assert {f"{black}/tmall", f"{black}/jd", black, "total"} <= scored
