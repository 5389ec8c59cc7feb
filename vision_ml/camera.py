"""A camera stream counted in time windows (`yunfab vision watch` reports each window's count to
the node as progress on a work order).

Frames are read with OpenCV (a file, an RTSP/HTTP URL, or a camera index), counted in memory and
dropped: nothing of a frame is stored or sent, only the number of items per window.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from vision_ml.counting import Frame, ItemCounter


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
