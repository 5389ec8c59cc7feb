"""Counting items that cross a line or enter a zone in a fixed camera's video.

Anything that moves against a learned background is an item: MOG2 background subtraction with
shadows discarded (on colour frames only: in gray a dark item is indistinguishable from a
shadow), a morphological open (speckle) and close (holes), then connected components of at least
`min_area` pixels. Their centroids are tied from frame to frame by a greedy nearest-first tracker
with a constant-velocity guess, so an item keeps its id while it moves up to `max_distance`
pixels a frame beyond that guess, or disappears for up to `max_missed` frames.
Each track counts at most once per line and once per zone: an item that wobbles on the line,
or goes back and forth over it, is one item.

The background keeps learning at a fixed, slow `learning_rate` after a short warm-up, so a
slow item is not absorbed into the background while it is still in view (with OpenCV's automatic
rate, 1/frames, an item that sits on the same pixels for a few frames of a young model fades).
A frame in which most pixels change at once (lights switched, camera knocked) yields no
detections rather than a burst of phantom items; the background is then learnt afresh over
`warmup_frames` frames, during which nothing is counted.

Nothing here tells an item from a hand or a person walking by: size limits and where the line is
drawn do that work. The work-order side turns `CountEvent`s into progress.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

Point = tuple[int, int]
Polygon = tuple[Point, ...]
Frame = npt.NDArray[np.uint8]


class LineDirection(StrEnum):
    """Which crossings of a `CountLine` count.

    Sides are as seen standing on `a` and facing `b`, in image coordinates (y grows downwards):
    for a line drawn from left to right across the screen the left side is above it; for one
    drawn from top to bottom the left side is the screen's right.
    """

    BOTH = "both"
    LEFT_TO_RIGHT = "left_to_right"
    RIGHT_TO_LEFT = "right_to_left"


class CountKind(StrEnum):
    LINE = "line"
    ZONE = "zone"


@dataclass(frozen=True)
class CountLine:
    """A segment in frame pixels; crossings beyond its ends do not count."""

    a: Point
    b: Point
    direction: LineDirection = LineDirection.BOTH

    def __post_init__(self) -> None:
        object.__setattr__(self, "direction", LineDirection(self.direction))
        if tuple(self.a) == tuple(self.b):
            raise ValueError("a count line needs two distinct points")

    def side(self, point: tuple[float, float]) -> int:
        """-1 on the left, 1 on the right, 0 on the line itself."""
        (ax, ay), (bx, by) = self.a, self.b
        cross = (bx - ax) * (point[1] - ay) - (by - ay) * (point[0] - ax)
        return (cross > 0) - (cross < 0)

    def counts(self, before: int, after: int) -> bool:
        if self.direction is LineDirection.LEFT_TO_RIGHT:
            return before < 0 < after
        if self.direction is LineDirection.RIGHT_TO_LEFT:
            return before > 0 > after
        return before != after


@dataclass(frozen=True)
class CountZone:
    """A polygon in frame pixels; an item counts when its centre enters it.

    A track first seen already inside does not count unless `count_born_inside`: when an item
    that rested in the zone (and became background) is taken away, the uncovered background
    shows up as a new moving blob right there, and would count as an arrival.
    """

    polygon: Polygon
    count_born_inside: bool = False

    def __post_init__(self) -> None:
        if len(self.polygon) < 3:
            raise ValueError("a count zone needs at least 3 points")

    def contains(self, point: tuple[float, float]) -> bool:
        contour = np.array(self.polygon, dtype=np.float32).reshape(-1, 1, 2)
        return cv2.pointPolygonTest(contour, (float(point[0]), float(point[1])), False) >= 0


@dataclass(frozen=True)
class CountEvent:
    kind: CountKind
    track_id: int
    frame_index: int
    timestamp_s: float
    position: tuple[float, float]


@dataclass(frozen=True)
class Detection:
    """A foreground blob: centroid, bounding box (x, y, w, h) and pixel area."""

    position: tuple[float, float]
    box: tuple[int, int, int, int]
    area: int


@dataclass
class _Track:
    id: int
    x: float
    y: float
    vx: float = 0.0
    vy: float = 0.0
    hits: int = 1
    missed: int = 0
    side: int = 0
    side_point: tuple[float, float] = (0.0, 0.0)
    line_counted: bool = False
    zone_counted: bool = False
    seen_outside: bool = False

    def predicted(self) -> tuple[float, float]:
        steps = self.missed + 1
        return self.x + self.vx * steps, self.y + self.vy * steps


@dataclass
class _Totals:
    line: int = 0
    zone: int = 0


class ItemCounter:
    """Feed frames of one fixed camera in order; get the counts they complete.

    Frames may be gray (HxW) or BGR (HxWx3) but must keep one shape for the counter's life.
    `timestamp_s` defaults to `frame_index / fps`.
    """

    def __init__(
        self,
        line: CountLine | None = None,
        zone: CountZone | None = None,
        *,
        min_area: int = 150,
        max_area: int | None = None,
        max_distance: float = 60.0,
        max_missed: int = 5,
        min_hits: int = 2,
        history: int = 500,
        var_threshold: float = 25.0,
        learning_rate: float = 0.002,
        warmup_frames: int = 10,
        max_foreground: float = 0.5,
        fps: float = 25.0,
    ) -> None:
        if line is None and zone is None:
            raise ValueError("an item counter needs a line, a zone, or both")
        if min_area < 1 or max_distance <= 0 or max_missed < 0 or min_hits < 1 or fps <= 0:
            raise ValueError("min_area, max_distance, min_hits and fps must be positive")
        if not 0.0 <= learning_rate <= 1.0:
            raise ValueError("learning_rate must lie in [0, 1]")
        self.line = line
        self.zone = zone
        self.min_area = min_area
        self.max_area = max_area
        self.max_distance = max_distance
        self.max_missed = max_missed
        self.min_hits = min_hits
        self.learning_rate = learning_rate
        self.warmup_frames = warmup_frames
        self.max_foreground = max_foreground
        self.fps = fps
        self.frame_index = -1
        self._history = history
        self._var_threshold = var_threshold
        self._subtractor: cv2.BackgroundSubtractorMOG2 | None = None
        self._learning_until = warmup_frames
        self._open = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        self._close = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
        self._tracks: list[_Track] = []
        self._ids = itertools.count(1)
        self._totals = _Totals()
        self.last_detections: list[Detection] = []

    @property
    def count(self) -> int:
        return self._totals.line + self._totals.zone

    @property
    def line_count(self) -> int:
        return self._totals.line

    @property
    def zone_count(self) -> int:
        return self._totals.zone

    @property
    def active_tracks(self) -> int:
        return len(self._tracks)

    def update(self, frame: Frame, timestamp_s: float | None = None) -> list[CountEvent]:
        """Take the next frame; return the counts it completed, in track order."""
        if frame.dtype != np.uint8 or not (
            frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] == 3)
        ):
            raise ValueError("a frame must be a uint8 gray (HxW) or BGR (HxWx3) array")
        self.frame_index += 1
        when = self.frame_index / self.fps if timestamp_s is None else timestamp_s
        warming = self.frame_index < self._learning_until
        rate = -1.0 if warming else self.learning_rate
        if self._subtractor is None:
            self._subtractor = self._new_subtractor(gray=frame.ndim == 2)
        foreground = np.asarray(self._subtractor.apply(frame, learningRate=rate), np.uint8)
        self.last_detections = []
        if warming:
            return self._track([], when)
        moving = np.where(foreground == 255, 255, 0).astype(np.uint8)  # 127 marks shadows
        if np.count_nonzero(moving) > self.max_foreground * moving.size:
            # The scene changed as a whole: learn it afresh instead of crawling towards it at
            # the slow rate; tracks coast on their misses meanwhile.
            self._subtractor = self._new_subtractor(gray=frame.ndim == 2)
            self._subtractor.apply(frame, learningRate=-1.0)
            self._learning_until = self.frame_index + self.warmup_frames
            return self._track([], when)
        self.last_detections = self._detect(moving)
        return self._track(self.last_detections, when)

    def _new_subtractor(self, *, gray: bool) -> cv2.BackgroundSubtractorMOG2:
        # MOG2 calls a pixel a shadow when it is a darker copy of the background with the same
        # hue. Gray frames have no hue, so every darker item would pass for a shadow.
        return cv2.createBackgroundSubtractorMOG2(
            history=self._history, varThreshold=self._var_threshold, detectShadows=not gray
        )

    def _detect(self, moving: Frame) -> list[Detection]:
        opened = cv2.morphologyEx(moving, cv2.MORPH_OPEN, self._open)
        closed = cv2.morphologyEx(opened, cv2.MORPH_CLOSE, self._close)
        found, _labels, stats, centroids = cv2.connectedComponentsWithStats(closed, connectivity=8)
        detections = []
        for label in range(1, found):
            x, y, w, h, area = (int(v) for v in stats[label])
            if area < self.min_area or (self.max_area is not None and area > self.max_area):
                continue
            cx, cy = (float(v) for v in centroids[label])
            detections.append(Detection((cx, cy), (x, y, w, h), area))
        return detections

    def _track(self, detections: list[Detection], when: float) -> list[CountEvent]:
        pairs: list[tuple[float, int, int]] = []
        for ti, track in enumerate(self._tracks):
            px, py = track.predicted()
            for di, detection in enumerate(detections):
                distance = math.hypot(detection.position[0] - px, detection.position[1] - py)
                if distance <= self.max_distance:
                    pairs.append((distance, ti, di))
        pairs.sort()
        matched_tracks: set[int] = set()
        matched_detections: set[int] = set()
        events: list[CountEvent] = []
        for _distance, ti, di in pairs:
            if ti in matched_tracks or di in matched_detections:
                continue
            matched_tracks.add(ti)
            matched_detections.add(di)
            track = self._tracks[ti]
            x, y = detections[di].position
            steps = track.missed + 1
            vx, vy = (x - track.x) / steps, (y - track.y) / steps
            if track.hits > 1:  # smooth once there is a velocity to smooth
                vx, vy = 0.5 * (vx + track.vx), 0.5 * (vy + track.vy)
            track.x, track.y, track.vx, track.vy = x, y, vx, vy
            track.hits += 1
            track.missed = 0
            events += self._observe(track, when)
        survivors = []
        for ti, track in enumerate(self._tracks):
            if ti not in matched_tracks:
                track.missed += 1
            if track.missed <= self.max_missed:
                survivors.append(track)
        self._tracks = survivors
        for di, detection in enumerate(detections):
            if di in matched_detections:
                continue
            x, y = detection.position
            track = _Track(next(self._ids), x, y)
            self._tracks.append(track)
            events += self._observe(track, when)
        return events

    def _observe(self, track: _Track, when: float) -> list[CountEvent]:
        position = (track.x, track.y)
        events = []
        if self.line is not None:
            side = self.line.side(position)
            if side != 0:
                if (
                    track.side != 0
                    and side != track.side
                    and not track.line_counted
                    and self.line.counts(track.side, side)
                    and _segments_cross(track.side_point, position, self.line.a, self.line.b)
                ):
                    track.line_counted = True
                    self._totals.line += 1
                    events.append(self._event(CountKind.LINE, track, when))
                track.side = side
                track.side_point = position
        if self.zone is not None:
            inside = self.zone.contains(position)
            if not inside:
                track.seen_outside = True
            elif (
                not track.zone_counted
                and track.hits >= self.min_hits
                and (track.seen_outside or self.zone.count_born_inside)
            ):
                track.zone_counted = True
                self._totals.zone += 1
                events.append(self._event(CountKind.ZONE, track, when))
        return events

    def _event(self, kind: CountKind, track: _Track, when: float) -> CountEvent:
        return CountEvent(kind, track.id, self.frame_index, when, (track.x, track.y))


def count_video(
    source: str | Path | Iterable[Frame],
    counter: ItemCounter,
    *,
    max_frames: int | None = None,
) -> list[CountEvent]:
    """Run a video file (read with cv2.VideoCapture) or an iterable of frames through `counter`.

    For a file, timestamps are the frame's index over the file's frame rate.
    """
    events: list[CountEvent] = []
    if not isinstance(source, str | Path):
        for index, frame in enumerate(source):
            if max_frames is not None and index >= max_frames:
                break
            events += counter.update(frame)
        return events
    if not Path(source).is_file():
        raise FileNotFoundError(source)
    capture = cv2.VideoCapture(str(source))
    try:
        if not capture.isOpened():
            raise ValueError(f"OpenCV cannot open {source} as a video")
        fps = capture.get(cv2.CAP_PROP_FPS) or counter.fps
        index = 0
        while max_frames is None or index < max_frames:
            ok, image = capture.read()
            if not ok:
                break
            events += counter.update(np.asarray(image, np.uint8), index / fps)
            index += 1
    finally:
        capture.release()
    return events


def _segments_cross(p: tuple[float, float], q: tuple[float, float], a: Point, b: Point) -> bool:
    """Whether segment p-q meets segment a-b (touching counts)."""

    def orient(o: tuple[float, float], s: tuple[float, float], t: tuple[float, float]) -> float:
        return (s[0] - o[0]) * (t[1] - o[1]) - (s[1] - o[1]) * (t[0] - o[0])

    fa, fb = (float(a[0]), float(a[1])), (float(b[0]), float(b[1]))
    d1, d2 = orient(fa, fb, p), orient(fa, fb, q)
    d3, d4 = orient(p, q, fa), orient(p, q, fb)
    return d1 * d2 <= 0 and d3 * d4 <= 0
