"""Factory vision through the node's APIs: factory staff train per-SKU models, switch a station
between them in one call and roll back; inspections come back with score, verdict, heatmap,
boxes and time and become quality records; kept images stay with the factory and the node;
bad uploads are refused without a trace."""

from __future__ import annotations

import base64
from typing import Any

import cv2
import numpy as np

from tests.conftest import HubFactory, NodeFactory
from tests.nodes import active_factory, factory_client, operator_headers
from tests.support import InProcessService, bearer, client_token, create_client
from yunfab_demo.synthetic import Sku, generate

NODE_URL = "http://zj-textile.test"
SIZE = 128
BRACKET = Sku("bracket", "metal", seed=3)
COVER = Sku("cover", "plastic", seed=4)

STATION = """
mutation($input: StationInput!) { createStation(input: $input) { id slug modelId } }
"""
TRAIN = """
mutation($input: TrainVisionModelInput!) {
  trainVisionModel(input: $input) {
    id sku number kind digest metrics { name number text }
    lineage { source node data { digest goodImages defectImages { label count } } }
  }
}
"""
ACTIVATE = """
mutation($s: UUID!, $m: UUID!) {
  activateVisionModel(stationId: $s, modelId: $m) { modelId previousModelId model { sku } }
}
"""
ROLLBACK = """
mutation($s: UUID!) { rollbackStation(stationId: $s) { modelId previousModelId model { sku } } }
"""
INSPECT = """
mutation($s: UUID!, $image: String!, $batch: String) {
  inspectPart(stationId: $s, image: $image, batch: $batch) {
    heatmapPng totalMs
    record { id sku batch score verdict boxes { x y w h peak } elapsedMs imageKept }
  }
}
"""
RECORDS = """
query($f: UUID!, $batch: String) {
  qualityRecords(factoryId: $f, batch: $batch) {
    totalCount edges { node { sku batch verdict stationId } }
  }
}
"""
MODELS = "query($f: UUID!) { visionModels(factoryId: $f) { sku number kind } }"


def png(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", image)
    assert ok
    return encoded.tobytes()


def b64(image: np.ndarray) -> str:
    return base64.b64encode(png(image)).decode()


def decoded(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return np.asarray(image)


def flawed(image: np.ndarray) -> np.ndarray:
    """A dark gouge no good part has."""
    out = image.copy()
    cv2.line(out, (70, 30), (100, 52), (20, 20, 20), 4)
    return out


async def factory_staff(
    hub: InProcessService, node: InProcessService, operator: dict[str, str], name: str
) -> tuple[dict[str, str], dict[str, Any]]:
    """Headers of a factory's own people (factories:write) and their active factory."""
    client_id, secret, org = await factory_client(hub, name)
    factory = await active_factory(node.client, operator, organization_id=org)
    staff = bearer(await client_token(hub, client_id, secret, "factories:write", NODE_URL))
    return staff, factory


async def station_running(
    node: InProcessService,
    staff: dict[str, str],
    factory_id: str,
    slug: str,
    good: list[np.ndarray],
    **station: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new station running a bracket model trained (through GraphQL) on `good`."""
    created = (
        await node.graphql(
            STATION,
            {"input": {"factoryId": factory_id, "slug": slug, "name": slug, **station}},
            headers=staff,
        )
    )["createStation"]
    model = (
        await node.graphql(
            TRAIN,
            {"input": {"factoryId": factory_id, "sku": "bracket",
                       "good": [b64(image) for image in good]}},
            headers=staff,
        )
    )["trainVisionModel"]  # fmt: skip
    await node.graphql(ACTIVATE, {"s": created["id"], "m": model["id"]}, headers=staff)
    return created, model


async def test_staff_train_switch_inspect_and_roll_back(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator = await operator_headers(hub, NODE_URL)
        staff, factory = await factory_staff(hub, node, operator, "Ningbo Brackets")
        station = (
            await node.graphql(
                STATION,
                {"input": {"factoryId": factory["id"], "slug": "line-1-end", "name": "Line 1 end"}},
                headers=staff,
            )
        )["createStation"]
        assert station["modelId"] is None

        # The bracket's model from a multipart upload of good photos...
        brackets = [s.image for s in generate(BRACKET, good=14, size=SIZE, seed=0)]
        files = [
            ("good", (f"{i}.png", png(image), "image/png")) for i, image in enumerate(brackets[:10])
        ]
        uploaded = await node.client.post(
            "/api/v1/vision/models",
            data={"factory_id": factory["id"], "sku": "bracket"},
            files=files,
            headers=staff,
        )
        assert uploaded.status_code == 201, uploaded.text
        bracket = uploaded.json()
        assert (bracket["sku"], bracket["number"], bracket["kind"]) == ("bracket", 1, "anomaly")
        assert bracket["metrics"]["image_threshold"] > 0
        assert bracket["lineage"]["data"]["good_images"] == 10
        assert len(bracket["lineage"]["data"]["digest"]) == 64

        # ...and the cover's through GraphQL, base64.
        covers = [s.image for s in generate(COVER, good=12, size=SIZE, seed=0)]
        cover = (
            await node.graphql(
                TRAIN,
                {"input": {"factoryId": factory["id"], "sku": "cover",
                           "good": [b64(image) for image in covers[:10]]}},
                headers=staff,
            )
        )["trainVisionModel"]  # fmt: skip
        assert (cover["sku"], cover["number"]) == ("cover", 1)
        metrics = {m["name"]: m for m in cover["metrics"]}
        assert metrics["image_threshold"]["number"] > 0
        assert metrics["calibration"]["text"] == "good-only"
        assert metrics["timings.train_s"]["number"] > 0
        assert (cover["lineage"]["source"], cover["lineage"]["data"]["goodImages"]) == (
            "trained",
            10,
        )
        assert len(cover["lineage"]["data"]["digest"]) == 64

        # Nothing is inspected before a model is active.
        idle = await node.client.post(
            f"/api/v1/stations/{station['id']}/inspections",
            files={"image": ("part.png", png(brackets[11]), "image/png")},
            headers=staff,
        )
        assert idle.status_code == 409
        assert idle.json()["error"] == "no_active_model"

        active = (
            await node.graphql(ACTIVATE, {"s": station["id"], "m": bracket["id"]}, headers=staff)
        )["activateVisionModel"]
        assert active["model"]["sku"] == "bracket"

        good = await node.client.post(
            f"/api/v1/stations/{station['id']}/inspections",
            data={"batch": "B-0007"},
            files={"image": ("part.png", png(brackets[11]), "image/png")},
            headers=staff,
        )
        assert good.status_code == 200, good.text
        answer = good.json()
        assert answer["record"]["verdict"] == "good"
        assert answer["record"]["batch"] == "B-0007"
        assert answer["record"]["elapsedMs"] > 0
        assert decoded(base64.b64decode(answer["heatmapPng"])).shape[:2] == (SIZE, SIZE)

        bad = (
            await node.graphql(
                INSPECT,
                {"s": station["id"], "image": b64(flawed(brackets[12])), "batch": "B-0007"},
                headers=staff,
            )
        )["inspectPart"]  # fmt: skip
        assert bad["record"]["verdict"] == "defective"
        assert bad["record"]["score"] > answer["record"]["score"]
        box = bad["record"]["boxes"][0]
        assert box["x"] < 100
        assert box["x"] + box["w"] > 70
        assert box["y"] < 52
        assert bad["record"]["imageKept"]

        # The line changes parts: one call, and the station inspects covers.
        switched = (
            await node.graphql(ACTIVATE, {"s": station["id"], "m": cover["id"]}, headers=staff)
        )["activateVisionModel"]
        assert switched["model"]["sku"] == "cover"
        assert switched["previousModelId"] == bracket["id"]
        on_cover = (
            await node.graphql(
                INSPECT, {"s": station["id"], "image": b64(covers[11])}, headers=staff
            )
        )["inspectPart"]
        assert (on_cover["record"]["sku"], on_cover["record"]["verdict"]) == ("cover", "good")

        back = (await node.graphql(ROLLBACK, {"s": station["id"]}, headers=staff))[
            "rollbackStation"
        ]
        assert back["model"]["sku"] == "bracket"
        forward = (await node.graphql(ROLLBACK, {"s": station["id"]}, headers=staff))[
            "rollbackStation"
        ]
        assert forward["model"]["sku"] == "cover"

        records = (
            await node.graphql(RECORDS, {"f": factory["id"], "batch": "B-0007"}, headers=staff)
        )["qualityRecords"]
        assert records["totalCount"] == 2
        assert [e["node"]["verdict"] for e in records["edges"]] == ["defective", "good"]
        assert {e["node"]["stationId"] for e in records["edges"]} == {station["id"]}
        models = (await node.graphql(MODELS, {"f": factory["id"]}, headers=operator))[
            "visionModels"
        ]
        assert sorted((m["sku"], m["number"]) for m in models) == [("bracket", 1), ("cover", 1)]

        # Labelled defects too: version 2 has a supervised head that names the defect.
        flaws = generate(
            BRACKET, good=0, defective=8, defects=("crack", "scratch"), size=SIZE, seed=5
        )
        labelled = [
            (f"defects.{sample.label}", (f"d{i}.png", png(sample.image), "image/png"))
            for i, sample in enumerate(flaws)
        ]
        again = await node.client.post(
            "/api/v1/vision/models",
            data={"factory_id": factory["id"], "sku": "bracket", "seed": "1"},
            files=files + labelled,
            headers=staff,
        )
        assert again.status_code == 201, again.text
        second = again.json()
        assert (second["number"], second["kind"]) == (2, "anomaly+supervised")
        assert second["lineage"]["data"]["defect_images"] == {"crack": 4, "scratch": 4}
        assert second["metrics"]["supervised"]["accuracy"] > 0.5
        await node.graphql(ACTIVATE, {"s": station["id"], "m": second["id"]}, headers=staff)
        unseen = generate(BRACKET, good=0, defective=2, defects=("crack",), size=SIZE, seed=9)
        named = (
            await node.graphql(
                INSPECT.replace("verdict boxes", "verdict defectClass boxes"),
                {"s": station["id"], "image": b64(unseen[0].image)},
                headers=staff,
            )
        )["inspectPart"]["record"]
        assert named["verdict"] == "defective"
        assert named["defectClass"] == "crack"


async def test_kept_images_stay_with_the_factory_and_the_node(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator = await operator_headers(hub, NODE_URL)
        staff, factory = await factory_staff(hub, node, operator, "Ningbo Brackets")
        other_staff, _ = await factory_staff(hub, node, operator, "Cixi Castings")
        brackets = [s.image for s in generate(BRACKET, good=8, size=SIZE, seed=0)]
        station, _ = await station_running(node, staff, factory["id"], "cell-3", brackets[:7])
        record = (
            await node.graphql(
                INSPECT, {"s": station["id"], "image": b64(brackets[7])}, headers=staff
            )
        )["inspectPart"]["record"]
        path = f"/api/v1/quality-records/{record['id']}/image"

        for allowed in (staff, operator):
            response = await node.client.get(path, headers=allowed)
            assert response.status_code == 200
            assert response.headers["content-type"] == "image/jpeg"
            assert decoded(response.content).shape[:2] == (SIZE, SIZE)
        # A buyer, a platform of the region and another factory: denied, whatever their scopes.
        # Another factory's people may not even see this factory: for them there is nothing
        # there, the same answer as for a record or a station not on the node. The buyer reads
        # factory profiles, so it is told no.
        buyer_id, buyer_secret = await create_client(
            hub, org="Hangzhou Buyers", org_kind="consumer",
            scopes=["orders:write", "factories:read"], region="CN-ZJ",
        )  # fmt: skip
        buyer = bearer(
            await client_token(hub, buyer_id, buyer_secret, "orders:write factories:read", NODE_URL)
        )
        for stranger, (status, error, code) in [
            (buyer, (403, "forbidden", "FORBIDDEN")),
            (other_staff, (404, "quality_record_not_found", "STATION_NOT_FOUND")),
        ]:
            denied = await node.client.get(path, headers=stranger)
            assert (denied.status_code, denied.json()["error"]) == (status, error)
            inspect = await node.graphql(
                INSPECT,
                {"s": station["id"], "image": b64(brackets[7])},
                headers=stranger,
                expect_errors=True,
            )
            assert inspect["errors"][0]["extensions"]["code"] == code
        assert (await node.client.get(path)).status_code == 401

        # Bad uploads are refused with a reason and leave no record behind.
        for image, code in ((base64.b64encode(b"not an image").decode(), "INVALID_IMAGE"),
                            ("%%%", "INVALID_INPUT")):  # fmt: skip
            refused = await node.graphql(
                INSPECT, {"s": station["id"], "image": image}, headers=staff, expect_errors=True
            )
            assert refused["errors"][0]["extensions"]["code"] == code
        huge = np.zeros(40, np.uint8).tobytes()
        header = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + (60000).to_bytes(4, "big") * 2
        bomb = await node.client.post(
            f"/api/v1/stations/{station['id']}/inspections",
            files={"image": ("bomb.png", header + huge, "image/png")},
            headers=staff,
        )
        assert bomb.status_code == 422
        assert "too many" in bomb.json()["detail"]
        # Who may train is settled before an upload is decoded: a caller without a token gets
        # 401 for a junk upload, not a decoding error.
        anonymous = await node.client.post(
            "/api/v1/vision/models",
            data={"factory_id": factory["id"], "sku": "bracket"},
            files=[("good", ("junk.png", b"junk", "image/png"))],
        )
        assert anonymous.status_code == 401
        for setting in (
            {"privacyJson": ["mask"]},
            {"countingJson": "line"},
            {"counting": {"line": {"a": {"x": 1, "y": 1}, "b": {"x": 1, "y": 1}}}},
            {"privacy": {"zones": [[{"x": 1, "y": 1}]]}, "privacyJson": {"mode": "mask"}},
        ):
            odd = await node.graphql(
                STATION,
                {"input": {"factoryId": factory["id"], "slug": "odd", "name": "Odd", **setting}},
                headers=staff,
                expect_errors=True,
            )
            assert odd["errors"][0]["extensions"]["code"] == "INVALID_INPUT", setting
        too_few = await node.graphql(
            TRAIN,
            {"input": {"factoryId": factory["id"], "sku": "bracket", "good": [b64(brackets[0])]}},
            headers=staff,
            expect_errors=True,
        )
        assert too_few["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
        records = (await node.graphql(RECORDS, {"f": factory["id"]}, headers=staff))[
            "qualityRecords"
        ]
        assert records["totalCount"] == 1
        models = (await node.graphql(MODELS, {"f": factory["id"]}, headers=staff))["visionModels"]
        assert len(models) == 1


TYPED_STATION = """
mutation($input: StationInput!) {
  createStation(input: $input) { id privacy { mode zones { x y } style } counting { minArea } }
}
"""
CONFIGURE = """
mutation($s: UUID!, $counting: StationCountingInput, $json: JSON) {
  configureStationCounting(stationId: $s, workOrderId: null, counting: $counting,
                           countingJson: $json) {
    counting { line { a { x y } b { x y } direction } zone { x y } minArea maxArea }
    countingJson
  }
}
"""


async def test_a_stations_privacy_and_counting_round_trip_typed(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator = await operator_headers(hub, NODE_URL)
        staff, factory = await factory_staff(hub, node, operator, "Ningbo Brackets")
        zone = [{"x": 0, "y": 0}, {"x": 40, "y": 0}, {"x": 40, "y": 30}]
        privacy = {"mode": "MASK", "zones": [zone], "style": "BLUR"}
        station = (
            await node.graphql(
                TYPED_STATION,
                {"input": {"factoryId": factory["id"], "slug": "gate", "name": "Gate",
                           "privacy": privacy}},
                headers=staff,
            )
        )["createStation"]  # fmt: skip
        assert (station["privacy"], station["counting"]) == (privacy, None)
        typed = {"zone": zone, "minArea": 200, "maxArea": 5000}
        configured = (
            await node.graphql(CONFIGURE, {"s": station["id"], "counting": typed}, headers=staff)
        )["configureStationCounting"]
        assert configured["counting"] == {"line": None, **typed}
        assert configured["countingJson"] == {
            "zone": [[0, 0], [40, 0], [40, 30]], "min_area": 200, "max_area": 5000,
        }  # fmt: skip
        # The deprecated JSON form still works, and reads back typed.
        line = {"line": {"a": [1, 2], "b": [3, 4]}}
        legacy = (await node.graphql(CONFIGURE, {"s": station["id"], "json": line}, headers=staff))[
            "configureStationCounting"
        ]
        assert legacy["counting"]["line"] == {
            "a": {"x": 1, "y": 2}, "b": {"x": 3, "y": 4}, "direction": "BOTH",
        }  # fmt: skip
        both = await node.graphql(
            CONFIGURE, {"s": station["id"], "counting": typed, "json": line},
            headers=staff, expect_errors=True,
        )  # fmt: skip
        assert both["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
