"""Images never leave the node: whatever body the node's hub client is given, one carrying
picture data is refused before a byte goes on the wire; summaries pass."""

from __future__ import annotations

import base64

import cv2
import httpx
import numpy as np
import pytest

from regional_node.hub_link import outbound
from regional_node.hub_link.client import HubClient
from regional_node.hub_link.errors import RawImageOutbound


def encoded(ext: str) -> bytes:
    ok, data = cv2.imencode(ext, np.full((16, 16, 3), 90, np.uint8))
    assert ok
    return data.tobytes()


PICTURES = {
    "png base64": {"inspection": {"image": base64.b64encode(encoded(".png")).decode()}},
    "jpeg url-safe base64": {"frames": [base64.urlsafe_b64encode(encoded(".jpg")).decode()]},
    "bmp base64 in text": {"note": "see " + base64.b64encode(encoded(".bmp")).decode()},
    "tiff base64": {"x": base64.b64encode(encoded(".tiff")).decode()},
    "data uri": {"thumb": "data:image/webp;base64,UklGRg=="},
    "raw bytes": {"frame": b"\x00\x01"},
    "pixel matrix": {"heatmap": [[0.5] * 80 for _ in range(80)]},
    "colour pixels": {"crop": [[[10, 20, 30]] * 70 for _ in range(70)]},
}


@pytest.mark.parametrize("body", PICTURES.values(), ids=PICTURES.keys())
async def test_hub_bound_pictures_are_refused_before_sending(body: dict[str, object]) -> None:
    sent: list[httpx.Request] = []

    def hub(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={})

    client = HubClient("http://hub.test", timeout_s=1, transport=httpx.MockTransport(hub))
    try:
        with pytest.raises(RawImageOutbound) as refused:
            await client._call("POST", "/api/v1/exchange", body)
        assert refused.value.code == "raw_image_outbound"
        assert refused.value.detail.startswith("$.")
        assert sent == []
        # What a node does send (heartbeats) still goes.
        await client.heartbeat("zj-textile")
        assert len(sent) == 1
    finally:
        await client.close()


def test_summaries_pass() -> None:
    outbound.check(
        {
            "quality": {"sku": "bracket", "parts": 1200, "defect_rate": 0.031, "auroc": 0.998},
            "boxes": [[12, 40, 30, 9], [80, 10, 5, 5]],
            "series": [[1_700_000_000_000 + i, 61.5] for i in range(20_000)],
            "digest": "9f" * 32,
            "token": "eyJhbGciOiJFUzI1NiJ9." + "A" * 120,
            "text": "Q" * 200,
        }
    )


def test_pictures_after_other_characters_and_in_keys_are_refused() -> None:
    png = base64.b64encode(encoded(".png")).decode()
    for body in ({"a": "img/" + png}, {"a": "x" + png}, {"k" + png: 1}):
        with pytest.raises(RawImageOutbound):
            outbound.check(body)
