"""Progress from cameras: a station's camera counts items crossing its line, and the counts
move the factory's work order, so the buyer sees the order progress without anyone typing it."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import cv2

from regional_node.vision.camera import NodeReporter
from regional_node.vision.service import counter
from tests.conftest import HubFactory, NodeFactory
from tests.nodes import factory_client
from tests.support import bearer, client_token, create_client, served
from tests.test_orders import DISPATCH, ORDER, PLACE, PLAN, START, _order, _setup
from tests.test_vision_counting import (
    HEIGHT,
    UPWARD_LINE,
    WIDTH,
    crossing,
    frames_needed,
    scene,
)
from vision_ml.camera import frames, windows
from yunfab.processes import free_port

NODE_URL = "http://zj-textile.test"
STATION = """
mutation($input: StationInput!) {
  createStation(input: $input) {
    id workOrderId
    counting { line { a { x y } b { x y } direction } zone { x y } minArea maxArea }
    privacy { mode zones { x y } style }
  }
}
"""
COUNT = """
mutation($s: UUID!, $n: Int!, $from: DateTime!, $to: DateTime!) {
  reportCameraCount(stationId: $s, count: $n, windowStart: $from, windowEnd: $to) {
    counted reported workOrder { id made status produced }
  }
}
"""
TYPED_LINE = {
    "a": {"x": UPWARD_LINE[0][0], "y": UPWARD_LINE[0][1]},
    "b": {"x": UPWARD_LINE[1][0], "y": UPWARD_LINE[1][1]},
    "direction": "LEFT_TO_RIGHT",
}


def clip(path: str) -> bytes:
    items = [crossing(60, 4.0), crossing(180, 9.0, start=25), crossing(120, 6.0, start=50)]
    writer = cv2.VideoWriter(path, cv2.VideoWriter.fourcc(*"MJPG"), 20.0, (WIDTH, HEIGHT))
    assert writer.isOpened()
    for frame in scene(items, frames_needed(items)):
        writer.write(frame)
    writer.release()
    with open(path, "rb") as file:
        return file.read()


async def test_counted_crossings_move_a_work_order(
    hub_factory: HubFactory, node_factory: NodeFactory, tmp_path: Path
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        client_id, secret, org = await factory_client(hub, "Keqiao Weavers")
        staff = bearer(await client_token(hub, client_id, secret, "factories:write", NODE_URL))
        setup = await _setup(hub, node, first_factory_org=org)
        operator, buyer = setup["operator"], setup["buyer"]
        mill = setup["factories"][0]
        order_id = (await node.graphql(PLACE, _order(), headers=buyer))["placeOrder"]["id"]
        await node.graphql(PLAN, {"id": order_id}, headers=operator)
        work_orders = (await node.graphql(DISPATCH, {"id": order_id}, headers=operator))[
            "dispatchOrder"
        ]
        weaving = next(w for w in work_orders if w["factoryId"] == mill["id"])

        station = (
            await node.graphql(
                STATION,
                {"input": {"factoryId": mill["id"], "slug": "loom-exit", "name": "Loom exit",
                           "counting": {"line": TYPED_LINE}, "workOrderId": weaving["id"],
                           "privacy": {"mode": "COUNTS_ONLY"}}},
                headers=staff,
            )
        )["createStation"]  # fmt: skip
        assert station["workOrderId"] == weaving["id"]
        assert station["counting"] == {
            "line": TYPED_LINE, "zone": None, "minArea": 150, "maxArea": None,
        }  # fmt: skip
        assert station["privacy"] == {"mode": "COUNTS_ONLY", "zones": [], "style": "FILL"}

        # A minute of counting on the third day of the order.
        day = START + dt.timedelta(days=2)
        start = dt.datetime.combine(day, dt.time(9, 0), dt.UTC)
        window = {"s": station["id"], "n": 12, "from": start.isoformat(),
                  "to": (start + dt.timedelta(minutes=1)).isoformat()}  # fmt: skip
        counted = (await node.graphql(COUNT, window, headers=staff))["reportCameraCount"]
        assert counted["reported"] is True
        assert counted["workOrder"]["made"] == 12
        assert counted["workOrder"]["status"] == "IN_PRODUCTION"
        assert counted["workOrder"]["produced"] == {day.isoformat(): 12}
        # The counter sends the same window again (its answer was lost): counted once.
        again = (await node.graphql(COUNT, window, headers=staff))["reportCameraCount"]
        assert (again["reported"], again["workOrder"]["made"]) == (False, 12)

        # A recorded clip: three items cross the line left to right, the clip itself is not kept.
        video = clip(str(tmp_path / "loom-exit.avi"))
        later = start + dt.timedelta(hours=1)
        response = await node.client.post(
            f"/api/v1/stations/{station['id']}/clips",
            data={"started_at": later.isoformat()},
            files={"video": ("loom-exit.avi", video, "video/x-msvideo")},
            headers=staff,
        )
        assert response.status_code == 200, response.text
        assert response.json()["counted"] == 3
        assert response.json()["workOrder"]["made"] == 15

        # `yunfab vision watch`: the same camera's stream, counted in 2 s windows over HTTP.
        def watch(hub_url: str, node_url: str) -> list[dict[str, Any]]:
            reporter = NodeReporter(node_url, hub_url, client_id, secret, audience=NODE_URL)
            try:
                config = reporter.station(station["id"])
                items = counter(config["counting"])
                stream = frames(str(tmp_path / "loom-exit.avi"), realtime=False)
                began = later + dt.timedelta(hours=1)
                return [
                    reporter.report(station["id"], window)
                    for window in windows(stream, items, started_at=began, window_s=2.0)
                    if window.count
                ]
            finally:
                reporter.close()

        async with (
            served(hub.app, free_port(), lifespan="off") as hub_url,
            served(node.app, free_port(), lifespan="off") as node_url,
        ):
            reports = await asyncio.to_thread(watch, hub_url, node_url)
        assert sum(r["counted"] for r in reports) == 3
        assert all(r["reported"] for r in reports)
        assert reports[-1]["workOrder"]["made"] == 18

        # The buyer sees the order move, and why.
        seen = (await node.graphql(ORDER, {"id": order_id}, headers=operator))["order"]
        assert seen["stage"] == "IN_PRODUCTION"
        mine = next(w for w in seen["workOrders"] if w["id"] == weaving["id"])
        assert mine["made"] == 18
        buyer_view = (
            await node.graphql(
                "query($id: UUID!) { order(id: $id) { stage events { kind } } }",
                {"id": order_id},
                headers=buyer,
            )
        )["order"]
        assert buyer_view["stage"] == "IN_PRODUCTION"
        assert [e["kind"] for e in buyer_view["events"]].count("work_order") == 2 + len(reports)

        # Counts for no work order, or from someone else's factory, are refused.
        bystander_id, bystander_secret = await create_client(
            hub, org="Another Mill", org_kind="factory", scopes=["factories:write"]
        )
        bystander = bearer(
            await client_token(hub, bystander_id, bystander_secret, "factories:write", NODE_URL)
        )
        refused = await node.graphql(
            COUNT, {**window, "n": 5}, headers=bystander, expect_errors=True
        )
        assert refused["errors"][0]["extensions"]["code"] == "STATION_NOT_FOUND"
        await node.graphql(
            "mutation($s: UUID!) {"
            " configureStationCounting(stationId: $s, workOrderId: null) { id } }",
            {"s": station["id"]},
            headers=staff,
        )
        idle = await node.graphql(COUNT, {**window, "n": 5}, headers=staff, expect_errors=True)
        assert idle["errors"][0]["extensions"]["code"] == "NO_WORK_ORDER"
