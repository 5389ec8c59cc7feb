"""Root causes of defects through the node's GraphQL API: a moulding machine's telemetry and the
quality records of the station that inspects its parts are set side by side, and a planted cause
(parts moulded above 80 °C come out gouged, always at one spot) is found as the machine's mould
temperature, high, split near 80, and as a position cluster in the batch."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import cv2
import numpy as np

from tests.conftest import HubFactory, NodeFactory
from tests.nodes import operator_headers, provision
from tests.test_vision_api import INSPECT, b64, factory_staff, station_running
from yunfab_demo.synthetic import Sku, generate

NODE_URL = "http://zj-textile.test"
SIZE = 128
BRACKET = Sku("bracket", "metal", seed=3)
PARTS = 48
MIDWAY = PARTS // 2
PLANTED_C = 80.0
# Where the gouge lies, as fractions of the image (the centre of its stroke).
GOUGE_CENTRE = (85 / SIZE, 41 / SIZE)

CAUSES = """
query($s: UUID!, $since: DateTime!, $until: DateTime!, $batch: String, $lookback: Float) {
  qualityCauses(stationId: $s, since: $since, until: $until, batch: $batch, lookbackS: $lookback) {
    parts defective defectRate partsWithoutTelemetry notes
    batches { batch parts defective rate }
    candidates {
      metric parts significant direction auroc
      split { threshold riskSide rateAbove rateBelow }
      bins { low high parts }
    }
    notAnalysable { metric reason }
    clusters { batch centre parts qValue explanation }
  }
}
"""


def gouged(image: np.ndarray) -> np.ndarray:
    """The same dark gouge on every hot part: a mould cavity damaged in one place."""
    out = image.copy()
    cv2.line(out, (70, 30), (100, 52), (20, 20, 20), 4)
    return out


def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def test_a_planted_parameter_and_position_cause_is_found(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator = await operator_headers(hub, NODE_URL)
        staff, factory = await factory_staff(hub, node, operator, "Ningbo Brackets")
        other_staff, _ = await factory_staff(hub, node, operator, "Cixi Castings")
        machine = await provision(node.client, operator, factory["id"])
        brackets = [s.image for s in generate(BRACKET, good=16, size=SIZE, seed=0)]
        station, _ = await station_running(
            node, staff, factory["id"], "press-1-end", brackets[:8],
            deviceId=machine["device"]["id"],
        )  # fmt: skip
        unseen = [b64(image) for image in brackets[8:]]
        flawed = [b64(gouged(image)) for image in brackets[8:]]

        rng = np.random.default_rng(7)
        since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        hot = 0
        for i in range(PARTS):
            # The machine reports as each part leaves the mould; the station inspects it next.
            temp = float(rng.uniform(60.0, 100.0))
            reading = {
                "ts": int(time.time() * 1000),
                "metrics": {
                    "mould_temp_c": round(temp, 2),
                    "clamp_force_kn": round(float(rng.normal(800.0, 15.0)), 1),
                },
            }
            sent = await node.client.post(
                "/api/v1/telemetry",
                json={"devices": {machine["username"]: {"readings": [reading]}}},
                auth=(machine["username"], machine["password"]),
            )
            assert sent.json()["accepted"] == 2, sent.text
            if i == MIDWAY:
                # A window opening between a reading and the part it goes with.
                await asyncio.sleep(0.02)
                midway = dt.datetime.now(dt.UTC)
            is_hot = temp > PLANTED_C
            hot += is_hot
            images = flawed if is_hot else unseen
            await node.graphql(
                INSPECT,
                {"s": station["id"], "image": images[i % len(images)], "batch": "B-1"},
                headers=staff,
            )
        until = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
        assert 10 <= hot <= PARTS - 10

        # A lookback shorter than the gap between parts: each part takes the reading sent just
        # before it (the last one in force), not a mean over its neighbours'.
        variables = {
            "s": station["id"], "since": iso(since), "until": iso(until),
            "batch": "B-1", "lookback": 0.001,
        }  # fmt: skip
        report = (await node.graphql(CAUSES, variables, headers=staff))["qualityCauses"]
        assert report["parts"] == PARTS
        assert report["partsWithoutTelemetry"] == 0
        assert abs(report["defective"] - hot) <= 3
        assert [b["batch"] for b in report["batches"]] == ["B-1"]

        by_metric = {c["metric"]: c for c in report["candidates"]}
        assert set(by_metric) == {"mould_temp_c", "clamp_force_kn"}
        temperature = report["candidates"][0]
        assert temperature["metric"] == "mould_temp_c"
        assert temperature["significant"]
        assert temperature["direction"] == "high"
        assert temperature["auroc"] > 0.9
        assert temperature["parts"] == PARTS
        assert temperature["split"]["riskSide"] == "above"
        assert abs(temperature["split"]["threshold"] - PLANTED_C) < 3.0
        assert temperature["split"]["rateAbove"] > 0.8
        assert temperature["split"]["rateBelow"] < 0.2
        assert not by_metric["clamp_force_kn"]["significant"]

        clusters = [c for c in report["clusters"] if c["batch"] == "B-1"]
        assert clusters, report["clusters"]
        cluster = clusters[0]
        x, y = cluster["centre"]
        assert abs(x - GOUGE_CENTRE[0]) < 0.1
        assert abs(y - GOUGE_CENTRE[1]) < 0.1
        assert cluster["parts"] >= hot - 3
        assert cluster["qValue"] <= 0.05

        # The machine last reported before the window opens: that reading is still the one in
        # force for the window's first part (no older than the hour it may be carried).
        later = (await node.graphql(CAUSES, {**variables, "since": iso(midway)}, headers=staff))[
            "qualityCauses"
        ]
        assert later["parts"] == PARTS - MIDWAY
        assert later["partsWithoutTelemetry"] == 0
        assert [c["parts"] for c in later["candidates"]] == [PARTS - MIDWAY] * 2
        assert later["candidates"][0]["metric"] == "mould_temp_c"

        # Another factory's people see nothing of it; a window that ends before it starts is
        # refused with a reason.
        denied = await node.graphql(CAUSES, variables, headers=other_staff, expect_errors=True)
        assert denied["errors"][0]["extensions"]["code"] == "STATION_NOT_FOUND"
        backwards = await node.graphql(
            CAUSES, {**variables, "until": iso(since)}, headers=staff, expect_errors=True
        )
        assert backwards["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
