"""People masking for camera frames, before anything is stored or shown.

Detection uses only what OpenCV itself ships and runs offline: the Haar cascades for frontal and
profile faces (and, optionally, upper bodies) and the HOG + linear SVM people detector. No model
is downloaded. These are old detectors: they miss people who are small, turned away, sitting or
partly hidden, so an operator draws always-masked zones over workstations where people are
expected, and a camera that is only needed for counting runs in `PrivacyMode.COUNTS_ONLY`, which
returns no pixels at all.

The masking fails closed. If no detector can be loaded, or one raises, the whole frame is filled
and `MaskResult.failed_closed` says so; a frame is never passed through unmasked because the
detector could not look at it.

Which OpenCV build provides what (checked on the wheels of 2026):
- `opencv-python(-headless)` 4.x: `CascadeClassifier`, the cascade XML files in
  `cv2.data.haarcascades`, and `HOGDescriptor` with its default people SVM. Everything works.
- `opencv-contrib-python(-headless)` 5.x: `CascadeClassifier` and `HOGDescriptor` (moved to the
  contrib `xobjdetect` module), but the wheel ships no cascade XML files: bodies are detected,
  faces only when `cascade_dir` points at the XML files.
- `opencv-python(-headless)` 5.x: neither. `PeopleDetector()` raises `DetectorUnavailableError`
  and `mask_frame` fills every frame.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
import numpy.typing as npt
import structlog

log = structlog.get_logger(__name__)

Point = tuple[int, int]
Polygon = tuple[Point, ...]
Box = tuple[int, int, int, int]  # x, y, width, height in frame pixels
Frame = npt.NDArray[np.uint8]

FRONTAL_FACE_XML = "haarcascade_frontalface_alt2.xml"
PROFILE_FACE_XML = "haarcascade_profileface.xml"
UPPER_BODY_XML = "haarcascade_upperbody.xml"

# Pixelation keeps at most this many cells along a region's longer side, each at least
# _MIN_CELL pixels wide, and quantises every cell to 8 levels per channel: a face becomes a
# handful of flat tiles. A Gaussian blur would keep enough low-frequency detail to be undone or
# recognised; averaging whole cells discards it.
_MAX_CELLS = 5
_MIN_CELL = 16
_QUANT = 32


class DetectorUnavailableError(RuntimeError):
    """This OpenCV build (or cascade directory) provides none of the requested detectors."""


class PrivacyMode(StrEnum):
    MASK = "mask"
    COUNTS_ONLY = "counts_only"


class MaskStyle(StrEnum):
    FILL = "fill"
    BLUR = "blur"


@dataclass(frozen=True)
class PrivacyPolicy:
    """How one camera's frames are treated.

    `zones` are polygons in frame pixels that are masked on every frame whatever the detectors
    find. `margin` grows each detection by that fraction of its width and height on every side,
    since the cascades box the face from brows to chin and leave hair and ears out.
    """

    mode: PrivacyMode = PrivacyMode.MASK
    zones: tuple[Polygon, ...] = ()
    margin: float = 0.15
    style: MaskStyle = MaskStyle.FILL
    fill_bgr: tuple[int, int, int] = (0, 0, 0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", PrivacyMode(self.mode))
        object.__setattr__(self, "style", MaskStyle(self.style))
        if not 0.0 <= self.margin <= 2.0:
            raise ValueError(f"margin must lie in [0, 2], got {self.margin}")
        for zone in self.zones:
            if len(zone) < 3:
                raise ValueError(f"a zone needs at least 3 points, got {zone!r}")
        if any(not 0 <= c <= 255 for c in self.fill_bgr):
            raise ValueError(f"fill_bgr must hold bytes, got {self.fill_bgr!r}")


@dataclass(frozen=True)
class MaskResult:
    """A masked frame (None in counts-only mode) and what was masked.

    `regions` holds the masked rectangles, detections grown by the margin and each zone's
    bounding box, clipped to the frame. `people` is the number of separate detections after
    merging (a face inside a body box counts once); 0 when the frame failed closed.
    """

    frame: Frame | None
    regions: list[Box]
    people: int
    elapsed_ms: float
    failed_closed: bool = False
    reason: str | None = None


@dataclass
class _Cascade:
    name: str
    classifier: Any
    min_size: int
    flipped_too: bool = False


@dataclass
class _Backends:
    cascades: list[_Cascade] = field(default_factory=list)
    hog: Any = None


class Detector(Protocol):
    def detect(self, frame: Frame) -> list[Box]:
        """Boxes (x, y, w, h) in frame pixels around every person found."""
        ...


class PeopleDetector:
    """Faces (frontal and profile Haar cascades), full bodies (HOG) and optionally upper bodies.

    Classifiers are loaded once per instance. OpenCV's cascade classifier keeps scratch state
    while it runs, so `detect` holds a per-instance lock: share one instance between threads and
    they take turns, or give each thread its own (as `mask_frame` does for its default).

    Frames wider than `max_width` are searched on a downscaled copy and the boxes scaled back;
    HOG's window is 64x128, so a person must be about 130 px tall at that scale to be found.
    Missing pieces (no cascade XML in this build) are logged and listed in `missing`; if none
    of the requested detectors can be loaded the constructor raises `DetectorUnavailableError`,
    or as soon as one is missing when `strict` is set.
    """

    def __init__(
        self,
        *,
        cascade_dir: str | Path | None = None,
        faces: bool = True,
        profiles: bool = True,
        bodies: bool = True,
        upper_bodies: bool = False,
        max_width: int = 640,
        min_face: int = 24,
        body_threshold: float = 0.0,
        strict: bool = False,
    ) -> None:
        if max_width < 64:
            raise ValueError("max_width must be at least 64 px")
        self.max_width = max_width
        self.body_threshold = body_threshold
        self._lock = threading.Lock()
        directory = _cascade_directory(cascade_dir)
        wanted: list[tuple[str, str, int, bool]] = []
        if faces:
            wanted.append(("frontal_face", FRONTAL_FACE_XML, min_face, False))
        if profiles:
            wanted.append(("profile_face", PROFILE_FACE_XML, min_face, True))
        if upper_bodies:
            wanted.append(("upper_body", UPPER_BODY_XML, 2 * min_face, False))
        backends = _Backends()
        missing: list[str] = []
        for name, filename, min_size, flipped in wanted:
            classifier = _load_cascade(directory, filename)
            if classifier is None:
                missing.append(name)
            else:
                backends.cascades.append(_Cascade(name, classifier, min_size, flipped))
        if bodies:
            backends.hog = _load_hog()
            if backends.hog is None:
                missing.append("hog_body")
        self._backends = backends
        self.backends: tuple[str, ...] = tuple(c.name for c in backends.cascades) + (
            ("hog_body",) if backends.hog is not None else ()
        )
        self.missing: tuple[str, ...] = tuple(missing)
        if not self.backends:
            raise DetectorUnavailableError(
                f"OpenCV {cv2.__version__} provides none of {missing}; install an OpenCV build "
                "with CascadeClassifier/HOGDescriptor and pass cascade_dir for the XML files"
            )
        if missing:
            if strict:
                raise DetectorUnavailableError(f"missing detectors: {', '.join(missing)}")
            log.warning("privacy.detectors_missing", missing=missing, loaded=self.backends)

    def detect(self, frame: Frame) -> list[Box]:
        """Boxes around people in frame pixels, overlapping detections merged into one."""
        _check_frame(frame)
        height, width = frame.shape[:2]
        scale = min(1.0, self.max_width / width)
        small = frame
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = np.asarray(cv2.resize(frame, size, interpolation=cv2.INTER_AREA), np.uint8)
        gray = (
            small
            if small.ndim == 2
            else np.asarray(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), np.uint8)
        )
        found: list[Box] = []
        with self._lock:
            if self._backends.cascades:
                # No histogram equalisation: on a low-contrast scene it turns sensor noise into
                # texture that keeps the cascades busy for ten times as long.
                mirrored = np.asarray(cv2.flip(gray, 1), np.uint8)
                for cascade in self._backends.cascades:
                    found += _run_cascade(cascade, gray)
                    if cascade.flipped_too:
                        sw = gray.shape[1]
                        found += [
                            (sw - x - w, y, w, h) for x, y, w, h in _run_cascade(cascade, mirrored)
                        ]
            if self._backends.hog is not None:
                found += self._run_hog(small)
        boxes = [_unscale(box, scale, width, height) for box in found]
        return merge_overlapping(boxes)

    def _run_hog(self, image: Frame) -> list[Box]:
        if image.shape[0] < 128 or image.shape[1] < 64:
            return []
        rects, _weights = self._backends.hog.detectMultiScale(
            image,
            hitThreshold=self.body_threshold,
            winStride=(8, 8),
            padding=(8, 8),
            scale=1.08,
        )
        return [_as_box(r) for r in np.asarray(rects).reshape(-1, 4)]


def mask_frame(
    frame: Frame,
    policy: PrivacyPolicy | None = None,
    detector: Detector | None = None,
) -> MaskResult:
    """A copy of `frame` with people and zones masked; never the input array itself.

    With no `detector`, each calling thread gets its own default `PeopleDetector`.
    """
    started = time.perf_counter()
    policy = policy or PrivacyPolicy()
    _check_frame(frame)
    if policy.mode is PrivacyMode.COUNTS_ONLY:
        return MaskResult(None, [], 0, _elapsed_ms(started))
    height, width = frame.shape[:2]
    out = frame.copy()
    try:
        boxes = (detector or _thread_detector()).detect(frame)
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, DetectorUnavailableError):  # that one is logged once per thread
            log.warning("privacy.failed_closed", reason=reason)
        out[...] = _fill_value(out, policy.fill_bgr)
        return MaskResult(
            out, [(0, 0, width, height)], 0, _elapsed_ms(started), failed_closed=True, reason=reason
        )
    regions: list[Box] = []
    for box in boxes:
        grown = _clip(_grow(box, policy.margin), width, height)
        if grown is None:
            continue
        regions.append(grown)
        _mask_rect(out, grown, policy)
    for zone in policy.zones:
        zone_box = _mask_polygon(out, zone, policy)
        if zone_box is not None:
            regions.append(zone_box)
    return MaskResult(out, regions, len(boxes), _elapsed_ms(started))


def available_detectors(cascade_dir: str | Path | None = None) -> tuple[str, ...]:
    """What a default `PeopleDetector` would run here; empty when masking can only fail closed."""
    try:
        return PeopleDetector(cascade_dir=cascade_dir).backends
    except DetectorUnavailableError:
        return ()


def merge_overlapping(boxes: list[Box], overlap: float = 0.5) -> list[Box]:
    """Replace boxes that overlap by `overlap` of the smaller one with their bounding box.

    This stands in for non-max suppression, which keeps the best box and drops the rest: a
    dropped box may reach past the kept one, and its pixels would then leave unmasked. Merging
    only ever grows the covered area. A face inside its body's box merges into it.
    """
    pending = list(boxes)
    changed = True
    while changed:
        changed = False
        merged: list[Box] = []
        while pending:
            current = pending.pop()
            index = 0
            while index < len(pending):
                if _overlap_of_smaller(current, pending[index]) >= overlap:
                    current = _union(current, pending.pop(index))
                    changed = True
                    index = 0
                else:
                    index += 1
            merged.append(current)
        pending = merged
    return sorted(pending)


_local = threading.local()


def _thread_detector() -> PeopleDetector:
    detector: PeopleDetector | None = getattr(_local, "detector", None)
    if detector is not None:
        return detector
    error: DetectorUnavailableError | None = getattr(_local, "error", None)
    if error is not None:
        raise error
    try:
        detector = PeopleDetector()
    except DetectorUnavailableError as exc:
        # The build will not change while the process runs: remember, do not retry per frame.
        log.error("privacy.no_detectors", reason=str(exc))
        _local.error = exc
        raise
    _local.detector = detector
    return detector


def _cascade_directory(cascade_dir: str | Path | None) -> Path | None:
    if cascade_dir is not None:
        return Path(cascade_dir)
    data = getattr(cv2, "data", None)
    shipped = getattr(data, "haarcascades", None)
    return Path(shipped) if shipped else None


def _load_cascade(directory: Path | None, filename: str) -> Any:
    factory = getattr(cv2, "CascadeClassifier", None)
    if factory is None or directory is None or not (directory / filename).is_file():
        return None
    classifier = factory(str(directory / filename))
    return None if classifier.empty() else classifier


def _load_hog() -> Any:
    factory = getattr(cv2, "HOGDescriptor", None)
    people_svm = getattr(cv2, "HOGDescriptor_getDefaultPeopleDetector", None)
    if factory is None or people_svm is None:
        return None
    hog = factory()
    hog.setSVMDetector(people_svm())
    return hog


def _run_cascade(cascade: _Cascade, gray: Frame) -> list[Box]:
    found = cascade.classifier.detectMultiScale(
        gray,
        scaleFactor=1.1,
        minNeighbors=4,
        minSize=(cascade.min_size, cascade.min_size),
    )
    return [_as_box(r) for r in np.asarray(found).reshape(-1, 4)]


def _as_box(row: npt.NDArray[Any]) -> Box:
    x, y, w, h = (int(v) for v in row)
    return x, y, w, h


def _unscale(box: Box, scale: float, width: int, height: int) -> Box:
    if scale == 1.0:
        return box
    x, y, w, h = box
    x0, y0 = math.floor(x / scale), math.floor(y / scale)
    x1 = min(width, math.ceil((x + w) / scale))
    y1 = min(height, math.ceil((y + h) / scale))
    return x0, y0, x1 - x0, y1 - y0


def _check_frame(frame: Frame) -> None:
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8:
        raise ValueError("a frame must be a uint8 numpy array")
    if not (frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] == 3)):
        raise ValueError(f"a frame must be HxW (gray) or HxWx3 (BGR), got shape {frame.shape}")
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise ValueError("a frame must not be empty")


def _grow(box: Box, margin: float) -> Box:
    x, y, w, h = box
    dx, dy = math.ceil(w * margin), math.ceil(h * margin)
    return x - dx, y - dy, w + 2 * dx, h + 2 * dy


def _clip(box: Box, width: int, height: int) -> Box | None:
    x, y, w, h = box
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(width, x + w), min(height, y + h)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1 - x0, y1 - y0


def _overlap_of_smaller(a: Box, b: Box) -> float:
    ix = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    iy = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if ix <= 0 or iy <= 0:
        return 0.0
    smaller = min(a[2] * a[3], b[2] * b[3])
    return (ix * iy) / smaller if smaller > 0 else 1.0


def _union(a: Box, b: Box) -> Box:
    x0, y0 = min(a[0], b[0]), min(a[1], b[1])
    x1, y1 = max(a[0] + a[2], b[0] + b[2]), max(a[1] + a[3], b[1] + b[3])
    return x0, y0, x1 - x0, y1 - y0


def _fill_value(frame: Frame, bgr: tuple[int, int, int]) -> int | tuple[int, int, int]:
    return round(sum(bgr) / 3) if frame.ndim == 2 else bgr


def _pixelate(region: Frame) -> Frame:
    height, width = region.shape[:2]
    cell = max(_MIN_CELL, math.ceil(max(height, width) / _MAX_CELLS))
    cells = (max(1, math.ceil(width / cell)), max(1, math.ceil(height / cell)))
    small = np.asarray(cv2.resize(region, cells, interpolation=cv2.INTER_AREA), np.uint8)
    small = (small // _QUANT) * _QUANT + _QUANT // 2
    return np.asarray(cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST), np.uint8)


def _mask_rect(out: Frame, box: Box, policy: PrivacyPolicy) -> None:
    x, y, w, h = box
    if policy.style is MaskStyle.FILL:
        out[y : y + h, x : x + w] = _fill_value(out, policy.fill_bgr)
    else:
        out[y : y + h, x : x + w] = _pixelate(out[y : y + h, x : x + w])


def _mask_polygon(out: Frame, zone: Polygon, policy: PrivacyPolicy) -> Box | None:
    height, width = out.shape[:2]
    points = np.array(zone, dtype=np.int32).reshape(-1, 1, 2)
    inside = np.zeros((height, width), np.uint8)
    cv2.fillPoly(inside, [points], 255)
    bounds = _clip(_as_box(np.asarray(cv2.boundingRect(points))), width, height)
    if bounds is None:
        return None
    x, y, w, h = bounds
    selected = inside[y : y + h, x : x + w] > 0
    region = out[y : y + h, x : x + w]
    if policy.style is MaskStyle.FILL:
        region[selected] = _fill_value(out, policy.fill_bgr)
    else:
        region[selected] = _pixelate(region.copy())[selected]
    return bounds


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
