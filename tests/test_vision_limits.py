"""How much memory an upload can make the node spend: an image's size is read from its header
and refused before it is decoded (a decompression bomb is a small file declaring a huge image),
larger images are reduced as they are decoded, and one training decodes a bounded number of
pixels in all, refused with a reason beyond it."""

from __future__ import annotations

import base64
import os
import struct
import subprocess
import sys
import zlib
from typing import Any

import cv2
import numpy as np
import pytest

from regional_node.state import node_state
from regional_node.vision import service
from tests.conftest import HubFactory, NodeFactory
from tests.nodes import active_factory, operator_headers
from tests.test_vision_api import (
    BRACKET,
    INSPECT,
    NODE_URL,
    SIZE,
    TRAIN,
    decoded,
    factory_staff,
    flawed,
    png,
    station_running,
)
from vision_ml.datasets import decode_reduced
from vision_ml.headers import declared_size
from yunfab_demo.synthetic import generate


def blank_png(width: int, height: int) -> bytes:
    """A valid grey PNG of zeros: a few hundred bytes per megapixel, compressed row by row so
    the test never holds the decoded image either."""
    packer = zlib.compressobj(6)
    row = bytes(width + 1)  # filter byte, then the row's pixels
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">II5B", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body) + _chunk(b"IEND")


def _chunk(kind: bytes, data: bytes = b"") -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def declared_only(width: int, height: int) -> bytes:
    """A PNG header declaring `width` x `height`, then junk: decoding it can only fail, so a
    refusal that names its size was made from the header alone."""
    header = struct.pack(">II5B", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + b"not compressed pixels" * 10


@pytest.mark.parametrize("extension", [".png", ".jpg", ".bmp", ".webp", ".tiff"])
def test_the_header_declares_the_size(extension: str) -> None:
    image = np.zeros((23, 37, 3), np.uint8)
    data = cv2.imencode(extension, image)[1].tobytes()
    assert declared_size(data) == (37, 23)
    assert declared_size(data[:10]) is None  # cut short: unknown, never a guess


def test_images_are_reduced_as_they_are_decoded() -> None:
    photo = cv2.resize(generate(BRACKET, good=1, size=SIZE, seed=0)[0].image, (1600, 1200))
    for extension in (".jpg", ".png"):
        image, size = decode_reduced(cv2.imencode(extension, photo)[1].tobytes(), reduce_to=100_000)
        assert size == (1600, 1200)
        assert 90_000 < image.shape[0] * image.shape[1] <= 100_000
        assert abs(image.shape[1] / image.shape[0] - 4 / 3) < 0.01
    # A phone's portrait JPEG, stored landscape with an EXIF rotation: upright, either way.
    jpeg = cv2.imencode(".jpg", photo)[1].tobytes()
    rotate_90 = struct.pack(">HHIHH", 0x0112, 3, 1, 6, 0)
    tiff = b"MM\x00*\x00\x00\x00\x08" + struct.pack(">H", 1) + rotate_90 + struct.pack(">I", 0)
    app1 = b"\xff\xe1" + struct.pack(">H", len(tiff) + 8) + b"Exif\x00\x00" + tiff
    portrait, size = decode_reduced(jpeg[:2] + app1 + jpeg[2:], reduce_to=100_000)
    assert size == (1200, 1600)
    assert portrait.shape[0] > portrait.shape[1]


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_training_decodes_a_bounded_number_of_pixels(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with (
        hub_factory() as hub,
        node_factory(hub=hub, vision_max_training_megapixels=1) as node,
    ):
        operator = await operator_headers(hub, NODE_URL)
        staff, factory = await factory_staff(hub, node, operator, "Ningbo Brackets")
        brackets = [s.image for s in generate(BRACKET, good=12, size=SIZE, seed=0)]

        def upload(images: list[bytes]) -> dict[str, Any]:
            return {
                "data": {"factory_id": factory["id"], "sku": "bracket"},
                "files": [
                    ("good", (f"{i}.png", data, "image/png")) for i, data in enumerate(images)
                ],
                "headers": staff,
            }

        # Two files declaring 0.64 Mpx each put the job over its megapixel: refused from their
        # headers (their bodies are junk, so a decode would have failed differently).
        over = [png(image) for image in brackets[:10]] + [declared_only(800, 800)] * 2
        refused = await node.client.post("/api/v1/vision/models", **upload(over))
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"] == "training_too_large"
        assert "1,443,840 pixels" in refused.json()["detail"]
        answer = await node.graphql(
            TRAIN,
            {"input": {"factoryId": factory["id"], "sku": "bracket",
                       "good": [base64.b64encode(data).decode() for data in over]}},
            headers=staff, expect_errors=True,
        )  # fmt: skip
        assert answer["errors"][0]["extensions"]["code"] == "TRAINING_TOO_LARGE"

        # A decompression bomb (a 90 KB PNG of 8000x8000 zeros) is refused on its own.
        bomb = blank_png(8000, 8000)
        assert len(bomb) < 200_000
        exploded = await node.client.post(
            "/api/v1/vision/models", **upload([png(image) for image in brackets[:5]] + [bomb])
        )
        assert exploded.status_code == 422
        assert exploded.json()["error"] == "invalid_image"
        assert "8000x8000 pixels, too many" in exploded.json()["detail"]

        # Moderate images within the bound still train (12 x 0.016 Mpx).
        trained = await node.client.post(
            "/api/v1/vision/models", **upload([png(image) for image in brackets])
        )
        assert trained.status_code == 201, trained.text
        assert trained.json()["lineage"]["data"]["good_images"] == 12


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_large_inspection_images_are_reduced_as_they_are_decoded(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with (
        hub_factory() as hub,
        node_factory(hub=hub, vision_inspect_megapixels=1) as node,
    ):
        operator = await operator_headers(hub, NODE_URL)
        staff, factory = await factory_staff(hub, node, operator, "Ningbo Brackets")
        brackets = [s.image for s in generate(BRACKET, good=9, size=SIZE, seed=0)]
        side = 9 * SIZE  # 1152 x 1152: 1.3 Mpx, over the station's megapixel
        half = side // 2  # the left half, in the pixels of the image as sent
        zone = [{"x": 0, "y": 0}, {"x": half, "y": 0}, {"x": half, "y": side}, {"x": 0, "y": side}]
        station, _ = await station_running(
            node, staff, factory["id"], "cell-3", brackets[:8],
            privacy={"mode": "MASK", "zones": [zone]},
        )  # fmt: skip

        large = cv2.resize(flawed(brackets[8]), (side, side), interpolation=cv2.INTER_LINEAR)
        answer = await node.client.post(
            f"/api/v1/stations/{station['id']}/inspections",
            files={"image": ("part.png", png(large), "image/png")},
            headers=staff,
        )
        assert answer.status_code == 200, answer.text
        record = answer.json()["record"]
        # The record speaks of the image as sent: its size, and boxes in its pixels (the
        # gouge runs from (70, 30) to (100, 52) before the image was made 9 times larger).
        assert (record["width"], record["height"]) == (side, side)
        assert record["verdict"] == "defective"
        box = record["boxes"][0]
        assert box["x"] < 100 * 9
        assert box["x"] + box["w"] > 70 * 9
        assert box["y"] < 52 * 9
        # What was decoded, inspected and kept is at most a megapixel, its zone still masked.
        kept = decoded((await node.client.get(
            f"/api/v1/quality-records/{record['id']}/image", headers=staff
        )).content)  # fmt: skip
        assert kept.shape[0] == kept.shape[1]
        assert 900_000 < kept.shape[0] * kept.shape[1] <= 1_000_000
        middle = kept.shape[1] // 2
        assert kept[:, : middle - 2].max() < 30
        assert kept[:, middle + 2 :].mean() > 30

        # A decompression bomb is refused from its header, with a reason.
        bomb = blank_png(8000, 8000)
        refused = await node.graphql(
            INSPECT,
            {"s": station["id"], "image": base64.b64encode(bomb).decode()},
            headers=staff,
            expect_errors=True,
        )
        assert refused["errors"][0]["extensions"]["code"] == "INVALID_IMAGE"
        assert "8000x8000 pixels, too many" in refused["errors"][0]["message"]


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_images_whose_header_is_not_read_are_refused_undecoded(
    hub_factory: HubFactory, node_factory: NodeFactory
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator = await operator_headers(hub, NODE_URL)
        staff, factory = await factory_staff(hub, node, operator, "Ningbo Brackets")
        brackets = [s.image for s in generate(BRACKET, good=9, size=SIZE, seed=0)]
        station, _ = await station_running(node, staff, factory["id"], "cell-4", brackets[:8])
        # A Radiance HDR decodes to float32 (12 bytes a pixel) whatever its file's size; no
        # header of these formats is read, so none of them is decoded.
        hdr = cv2.imencode(".hdr", brackets[8].astype(np.float32) / 255)[1].tobytes()
        ppm = cv2.imencode(".ppm", brackets[8])[1].tobytes()
        assert cv2.imdecode(np.frombuffer(hdr, np.uint8), cv2.IMREAD_UNCHANGED) is not None

        for name, data in (("part.hdr", hdr), ("part.ppm", ppm)):
            inspected = await node.client.post(
                f"/api/v1/stations/{station['id']}/inspections",
                files={"image": (name, data, "application/octet-stream")},
                headers=staff,
            )
            assert inspected.status_code == 422, inspected.text
            assert inspected.json()["error"] == "invalid_image"
            assert "not a PNG, JPEG, BMP, WebP or TIFF image" in inspected.json()["detail"]
            answer = await node.graphql(
                INSPECT,
                {"s": station["id"], "image": base64.b64encode(data).decode()},
                headers=staff,
                expect_errors=True,
            )
            assert answer["errors"][0]["extensions"]["code"] == "INVALID_IMAGE"

            good = [png(image) for image in brackets[:4]] + [data]
            trained = await node.client.post(
                "/api/v1/vision/models",
                data={"factory_id": factory["id"], "sku": "bracket"},
                files=[("good", (f"{i}", image, "image/png")) for i, image in enumerate(good)],
                headers=staff,
            )
            assert trained.status_code == 422, trained.text
            assert trained.json()["error"] == "invalid_image"
            assert "4: not a PNG, JPEG, BMP, WebP or TIFF image" in trained.json()["detail"]
            answer = await node.graphql(
                TRAIN,
                {"input": {"factoryId": factory["id"], "sku": "bracket",
                           "good": [base64.b64encode(image).decode() for image in good]}},
                headers=staff, expect_errors=True,
            )  # fmt: skip
            assert answer["errors"][0]["extensions"]["code"] == "INVALID_IMAGE"
            assert "good image 4: not a PNG" in answer["errors"][0]["message"]


OPENCV_DECODES = """
import sys
import vision_ml.datasets  # sets OpenCV's own limit before cv2 is imported
import cv2
import numpy as np
side = int(sys.argv[1])
grey = cv2.imencode(".png", np.zeros((side, side + 100), np.uint8))[1]
try:
    print(cv2.imdecode(grey, cv2.IMREAD_GRAYSCALE) is not None)
except cv2.error:
    print(False)
"""


@pytest.mark.parametrize(
    ("megapixels", "side", "decoded"),
    [(None, 7100, False), (None, 7000, True), ("1", 1000, False), ("1", 900, True)],
)
def test_opencv_decodes_no_more_pixels_than_the_node_allows(
    megapixels: str | None, side: int, decoded: bool
) -> None:
    """The second line, for an image whose header misstates its size: OpenCV's own limit is
    the node's `vision_max_megapixels` (50 by default), not its own 2^30 pixels."""
    env = {k: v for k, v in os.environ.items() if k != "OPENCV_IO_MAX_IMAGE_PIXELS"}
    env.pop("YUNFAB_NODE_VISION_MAX_MEGAPIXELS", None)
    if megapixels is not None:
        env["YUNFAB_NODE_VISION_MAX_MEGAPIXELS"] = megapixels
    answer = subprocess.run(
        [sys.executable, "-c", OPENCV_DECODES, str(side)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert answer.stdout.strip() == str(decoded)


def _multipart(parts: list[tuple[str, str | None, bytes]]) -> tuple[bytes, dict[str, str]]:
    """A multipart body with its parts in exactly this order (name, file name or None, data)."""
    boundary = "yunfab-test-boundary"
    body = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{boundary}\r\ncontent-disposition: {disposition}\r\n\r\n".encode()
        body += data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, {"content-type": f"multipart/form-data; boundary={boundary}"}


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_training_is_for_the_one_factory_authorized_and_decodes_in_the_training_slot(
    hub_factory: HubFactory, node_factory: NodeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with hub_factory() as hub, node_factory(hub=hub) as node:
        operator = await operator_headers(hub, NODE_URL)
        staff, factory = await factory_staff(hub, node, operator, "Ningbo Brackets")
        other = await active_factory(node.client, operator)
        images = [png(s.image) for s in generate(BRACKET, good=4, size=SIZE, seed=0)]
        files = [("good", f"{i}.png", data) for i, data in enumerate(images)]
        own, elsewhere = factory["id"].encode(), other["id"].encode()

        # A second factory_id, before the files or after them (once the first was authorized),
        # is refused before any image is decoded.
        twice_before = [("factory_id", None, own), ("factory_id", None, elsewhere)]
        one_then_files = [("factory_id", None, own), ("sku", None, b"b"), *files]
        for parts in (
            [*twice_before, ("sku", None, b"b"), *files],
            [*one_then_files, ("factory_id", None, elsewhere)],
        ):
            body, headers = _multipart(parts)
            answer = await node.client.post(
                "/api/v1/vision/models", content=body, headers={**staff, **headers}
            )
            assert answer.status_code == 422, answer.text
            assert answer.json() == {"error": "invalid_input", "detail": "factory_id: send it once"}

        # Uploads are decoded in the training slot, one at a time, as they train.
        training = node_state(node.app).runtime.vision._training
        in_slot: list[bool] = []
        decode = service.training_data

        def training_data(*args: Any) -> service.TrainingData:
            in_slot.append(training.locked())
            return decode(*args)

        monkeypatch.setattr(service, "training_data", training_data)
        body, headers = _multipart([("factory_id", None, own), ("sku", None, b"b"), *files])
        trained = await node.client.post(
            "/api/v1/vision/models", content=body, headers={**staff, **headers}
        )
        assert trained.status_code == 201, trained.text
        await node.graphql(
            TRAIN,
            {"input": {"factoryId": factory["id"], "sku": "b",
                       "good": [base64.b64encode(data).decode() for data in images]}},
            headers=staff,
        )  # fmt: skip
        assert in_slot == [True, True]
