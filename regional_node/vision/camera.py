"""A station's camera stream counted in time windows, each window's count sent to the node as
progress on the station's work order (`yunfab vision watch`).

Frames are read with OpenCV (a file, an RTSP/HTTP URL, or a camera index), counted in memory and
dropped: nothing of a frame is stored or sent, only the number of items per window. A window is
reported with its start time as the key, so a report retried after a lost answer moves the work
order once; windows in which nothing was counted are not reported.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import cv2
import httpx
import numpy as np

from regional_node.vision.counting import Frame, ItemCounter

REPORT = """
mutation($s: UUID!, $n: Int!, $from: DateTime!, $to: DateTime!) {
  reportCameraCount(stationId: $s, count: $n, windowStart: $from, windowEnd: $to) {
    counted reported workOrder { id made status }
  }
}
"""
STATION = "query($id: UUID!) { station(id: $id) { slug counting: countingJson workOrderId } }"


@dataclass(frozen=True)
class Window:
    start: dt.datetime
    end: dt.datetime
    count: int


def frames(source: str, *, realtime: bool) -> Iterator[tuple[float, Frame]]:
    """(seconds since the first frame, frame) from a video file, stream URL or camera index.

    `realtime` takes the wall clock (live cameras); otherwise the file's own frame rate."""
    capture = cv2.VideoCapture(int(source) if source.isdigit() else source)
    if not capture.isOpened():
        raise ValueError(f"OpenCV cannot open {source!r} as a video source")
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    began = time.monotonic()
    index = 0
    try:
        while True:
            ok, image = capture.read()
            if not ok:
                return
            when = time.monotonic() - began if realtime else index / fps
            yield when, np.asarray(image, np.uint8)
            index += 1
    finally:
        capture.release()


def windows(
    stream: Iterable[tuple[float, Frame]],
    counter: ItemCounter,
    *,
    started_at: dt.datetime,
    window_s: float,
) -> Iterator[Window]:
    """Counts per `window_s` of video time from `started_at`; the last window may be shorter.
    Windows are yielded as soon as a frame past their end arrives."""
    if started_at.tzinfo is None:
        raise ValueError("started_at needs a time zone")
    if window_s <= 0:
        raise ValueError("window_s must be positive")
    index = 0
    counted = 0
    last = 0.0
    for when, frame in stream:
        while when >= (index + 1) * window_s:
            yield _window(started_at, index, window_s, counted)
            index += 1
            counted = 0
        counted += len(counter.update(frame, when))
        last = when
    end = max(last, index * window_s + 1e-3)
    yield Window(
        started_at + dt.timedelta(seconds=index * window_s),
        started_at + dt.timedelta(seconds=end),
        counted,
    )


def _window(started_at: dt.datetime, index: int, window_s: float, count: int) -> Window:
    return Window(
        started_at + dt.timedelta(seconds=index * window_s),
        started_at + dt.timedelta(seconds=(index + 1) * window_s),
        count,
    )


class NodeReporter:
    """Sends window counts to the node's GraphQL API with a client-credentials token for the
    node, fetched from the hub and renewed before it expires; retries what may succeed."""

    def __init__(
        self,
        node_url: str,
        hub_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str = "factories:write",
        audience: str | None = None,
        attempts: int = 5,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.node_url = node_url.rstrip("/")
        self.token_url = f"{hub_url.rstrip('/')}/oauth/token"
        self.credentials = (client_id, client_secret)
        self.scope = scope
        self.audience = (audience or node_url).rstrip("/")
        """The node's public URL, which its tokens name; the URL reached may differ (a proxy)."""
        self.attempts = attempts
        self.sleep = sleep
        self._http = httpx.Client(timeout=30, transport=transport)
        self._token: str | None = None
        self._expires = 0.0

    def close(self) -> None:
        self._http.close()

    def _bearer(self) -> dict[str, str]:
        if self._token is None or time.time() > self._expires - 60:
            response = self._http.post(
                self.token_url,
                data={"grant_type": "client_credentials", "scope": self.scope,
                      "resource": self.audience},
                auth=self.credentials,
            )  # fmt: skip
            if response.status_code != 200:
                raise PermissionError(f"the hub refused the camera's credentials: {response.text}")
            body = response.json()
            self._token = body["access_token"]
            self._expires = time.time() + float(body.get("expires_in", 300))
        return {"authorization": f"Bearer {self._token}"}

    def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        delay = 1.0
        for attempt in range(self.attempts):
            try:
                response = self._http.post(
                    f"{self.node_url}/graphql",
                    json={"query": query, "variables": variables},
                    headers=self._bearer(),
                )
            except httpx.TransportError:
                if attempt == self.attempts - 1:
                    raise
            else:
                if response.status_code < 500:
                    body: dict[str, Any] = response.json()
                    if body.get("errors"):
                        error = body["errors"][0]
                        code = error.get("extensions", {}).get("code", "ERROR")
                        raise RuntimeError(f"{code}: {error.get('message')}")
                    data: dict[str, Any] = body["data"]
                    return data
                if attempt == self.attempts - 1:
                    response.raise_for_status()
            self.sleep(delay)
            delay = min(delay * 2, 30.0)
        raise AssertionError("unreachable")

    def station(self, station_id: str) -> dict[str, Any]:
        station: dict[str, Any] = self.graphql(STATION, {"id": station_id})["station"]
        return station

    def report(self, station_id: str, window: Window) -> dict[str, Any]:
        variables = {
            "s": station_id,
            "n": window.count,
            "from": window.start.isoformat(),
            "to": window.end.isoformat(),
        }
        result: dict[str, Any] = self.graphql(REPORT, variables)["reportCameraCount"]
        return result
