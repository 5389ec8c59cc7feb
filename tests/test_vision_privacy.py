"""People masking: real detections on drawn people and a photograph, zones, counts-only mode and
failing closed.

The drawn people are made to fire OpenCV's own detectors, not to look nice: a face is a shaded
oval with soft dark blobs for eyes, brows, nostrils and mouth (what the Haar features measure),
a body a dark-clothed silhouette (what HOG's gradient histograms measure). Tests that need a
detector need OpenCV 4 (opencv-python 5 ships neither; the project pins 4.x); the masking itself
is also tested through a stand-in detector.
"""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import matplotlib
import numpy as np
import pytest

from vision_ml.privacy import (
    Box,
    DetectorUnavailableError,
    MaskStyle,
    PeopleDetector,
    PrivacyMode,
    PrivacyPolicy,
    available_detectors,
    mask_frame,
    merge_overlapping,
)

FILL = (0, 0, 0)
WIDTH, HEIGHT = 640, 480
BACKENDS = available_detectors()
PHOTO = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"


def workshop(seed: int = 5) -> np.ndarray:
    """A plain textured backdrop with a 'machine' in the top-left corner."""
    rng = np.random.default_rng(seed)
    texture = rng.integers(140, 180, (HEIGHT, WIDTH, 1), dtype=np.uint8).repeat(3, axis=2)
    frame = cv2.GaussianBlur(texture, (0, 0), 3)
    cv2.rectangle(frame, (20, 20), (120, 90), (90, 110, 130), -1)
    cv2.circle(frame, (70, 55), 20, (30, 30, 200), -1)
    return frame


def draw_face(frame: np.ndarray, centre: tuple[int, int], size: int) -> Box:
    """A frontal face about `size` px wide; returns its oval's bounding box."""
    cx, cy = centre
    half_w, half_h = size // 2, int(size * 0.65)
    x0, y0 = cx - half_w, cy - half_h
    yy, xx = np.mgrid[y0 : cy + half_h, x0 : cx + half_w].astype(np.float32)
    u, v = (xx - cx) / (size * 0.5), (yy - cy) / (size * 0.65)
    inside = u * u + v * v < 1.0
    lum = 200.0 * (0.4 + 0.6 * np.sqrt(np.clip(1.0 - u * u - v * v, 0.0, 1.0)))

    def shade(dx: float, dy: float, sx: float, sy: float, depth: float) -> None:
        nonlocal lum
        blob = np.exp(
            -(
                ((xx - cx - dx * size) / (sx * size)) ** 2
                + ((yy - cy - dy * size) / (sy * size)) ** 2
            )
            / 2
        )
        lum = lum * (1.0 - depth * blob)

    for side in (-1, 1):
        shade(side * 0.2, -0.08, 0.09, 0.05, 0.6)  # eye
        shade(side * 0.2, -0.2, 0.1, 0.025, 0.6)  # brow
    shade(0.0, 0.16, 0.06, 0.03, 0.35)  # nostrils
    shade(0.0, 0.33, 0.13, 0.03, 0.4)  # mouth
    skin = np.stack([lum * 0.8, lum * 0.9, lum], axis=-1).clip(0, 255).astype(np.uint8)
    patch = frame[y0 : cy + half_h, x0 : cx + half_w]
    patch[inside] = skin[inside]
    return x0, y0, 2 * half_w, 2 * half_h


def draw_person(frame: np.ndarray, top: tuple[int, int], height: int) -> Box:
    """A standing person `height` px tall, head at `top`; returns their bounding box."""
    x, y = top
    u = height / 8.0  # one head height
    skin, shirt, trousers = (150, 170, 200), (60, 60, 70), (40, 40, 50)

    def poly(points: list[tuple[float, float]], colour: tuple[int, int, int]) -> None:
        cv2.fillPoly(frame, [np.array(points, np.int32)], colour)

    cv2.ellipse(frame, (x, int(y + u * 0.5)), (int(u * 0.38), int(u * 0.5)), 0, 0, 360, skin, -1)
    poly(
        [
            (x - u * 0.15, y + u * 0.9),
            (x + u * 0.15, y + u * 0.9),
            (x + u * 0.15, y + u * 1.2),
            (x - u * 0.15, y + u * 1.2),
        ],
        skin,
    )
    poly(
        [
            (x - u, y + u * 1.2),
            (x + u, y + u * 1.2),
            (x + u * 0.8, y + u * 4),
            (x - u * 0.8, y + u * 4),
        ],
        shirt,
    )
    for s in (-1, 1):
        poly(
            [
                (x + s * u * 0.85, y + u * 1.25),
                (x + s * u * 1.15, y + u * 1.4),
                (x + s * u * 1.25, y + u * 4.1),
                (x + s * u * 0.95, y + u * 4.1),
            ],
            shirt,
        )
        cv2.circle(frame, (int(x + s * u * 1.1), int(y + u * 4.25)), int(u * 0.2), skin, -1)
        poly(
            [
                (x + s * u * 0.05, y + u * 4),
                (x + s * u * 0.8, y + u * 4),
                (x + s * u * 0.82, y + u * 7.8),
                (x + s * u * 0.42, y + u * 7.8),
            ],
            trousers,
        )
        cv2.ellipse(
            frame,
            (int(x + s * u * 0.72), int(y + u * 7.9)),
            (int(u * 0.35), int(u * 0.12)),
            0,
            0,
            360,
            (20, 20, 20),
            -1,
        )
    cv2.GaussianBlur(frame, (0, 0), 1.5, dst=frame)
    return int(x - u * 1.35), y, int(u * 2.7), int(u * 8.1)


class StandIn:
    """Reports fixed boxes, for builds without OpenCV's detectors and for exact expectations."""

    def __init__(self, boxes: list[Box] | None = None, error: Exception | None = None) -> None:
        self.boxes = boxes or []
        self.error = error
        self.calls = 0

    def detect(self, frame: np.ndarray) -> list[Box]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return list(self.boxes)


@pytest.fixture(scope="module")
def detector() -> PeopleDetector:
    return PeopleDetector()


def test_the_installed_opencv_ships_the_people_detectors() -> None:
    # opencv-python 5 moved Haar cascades and HOG out to contrib; the project pins 4.x.
    assert {"frontal_face", "hog_body"} <= set(BACKENDS), cv2.__version__


def inner(box: Box, keep: float) -> tuple[slice, slice]:
    """Row and column slices of the central `keep` share of a box."""
    x, y, w, h = box
    dx, dy = int(w * (1 - keep) / 2), int(h * (1 - keep) / 2)
    return slice(y + dy, y + h - dy), slice(x + dx, x + w - dx)


def masked_area(shape: tuple[int, ...], regions: list[Box]) -> np.ndarray:
    covered = np.zeros(shape[:2], bool)
    for x, y, w, h in regions:
        covered[y : y + h, x : x + w] = True
    return covered


def cell_width(region: np.ndarray) -> int:
    """The shortest run of equal pixels along the middle row, ends excluded."""
    row = region[region.shape[0] // 2].reshape(region.shape[1], -1)
    changes = np.flatnonzero((row[1:] != row[:-1]).any(axis=1)) + 1
    return int(np.diff(changes).min()) if len(changes) > 1 else region.shape[1]


def assert_untouched_outside(
    result_frame: np.ndarray, original: np.ndarray, regions: list[Box]
) -> None:
    outside = ~masked_area(original.shape, regions)
    assert outside.any()
    assert np.array_equal(result_frame[outside], original[outside])


def test_masks_a_drawn_face(detector: PeopleDetector) -> None:
    frame = workshop()
    face = draw_face(frame, (330, 250), 110)
    original = frame.copy()

    result = mask_frame(frame, PrivacyPolicy(), detector)

    assert result.frame is not None
    assert not result.failed_closed
    assert result.people == 1
    rows, cols = inner(face, 0.7)  # eyes, nose and mouth
    assert (result.frame[rows, cols] == FILL).all()
    assert np.array_equal(result.frame[20:90, 20:120], original[20:90, 20:120])  # the machine
    assert_untouched_outside(result.frame, original, result.regions)
    assert np.array_equal(frame, original)  # the caller's frame is left as it was


def test_masks_the_face_in_a_photograph(detector: PeopleDetector) -> None:
    loaded = cv2.imread(str(PHOTO))
    assert loaded is not None
    photo = np.asarray(loaded, np.uint8)
    face = (150, 100, 230, 230)  # where Grace Hopper's face is in matplotlib's sample

    result = mask_frame(photo, PrivacyPolicy(), detector)

    assert result.frame is not None
    assert result.people >= 1
    rows, cols = inner(face, 0.9)
    assert (result.frame[rows, cols] == FILL).all()
    assert np.array_equal(result.frame[-40:, :60], photo[-40:, :60])
    assert_untouched_outside(result.frame, photo, result.regions)


def test_large_frames_are_searched_on_a_smaller_copy(detector: PeopleDetector) -> None:
    small = workshop()
    face = draw_face(small, (300, 220), 100)
    frame = np.asarray(cv2.resize(small, (2 * WIDTH, 2 * HEIGHT)), np.uint8)

    result = mask_frame(frame, PrivacyPolicy(), detector)

    assert result.frame is not None
    assert result.people == 1
    x, y, w, h = face
    rows, cols = inner((2 * x, 2 * y, 2 * w, 2 * h), 0.7)
    assert (result.frame[rows, cols] == FILL).all()
    assert_untouched_outside(result.frame, frame, result.regions)


def test_blur_pixelates_beyond_recognition(detector: PeopleDetector) -> None:
    frame = workshop()
    face = draw_face(frame, (330, 250), 110)

    result = mask_frame(frame, PrivacyPolicy(style=MaskStyle.BLUR), detector)

    assert result.frame is not None
    assert result.people == 1
    rows, cols = inner(face, 0.7)
    region = result.frame[rows, cols]
    # A few flat, quantised tiles: nothing of the face's shading is left to undo.
    assert len(np.unique(region.reshape(-1, 3), axis=0)) <= 25
    assert (region % 32 == 16).all()
    assert cell_width(region) >= 16


def test_masks_a_drawn_person(detector: PeopleDetector) -> None:
    frame = workshop()
    person = draw_person(frame, (330, 120), 230)
    original = frame.copy()

    result = mask_frame(frame, PrivacyPolicy(), detector)

    assert result.frame is not None
    assert result.people == 1
    x, y, w, h = person
    assert (result.frame[y : y + h, x : x + w] == FILL).all()  # every pixel of them
    assert np.array_equal(result.frame[20:90, 20:120], original[20:90, 20:120])
    assert_untouched_outside(result.frame, original, result.regions)


def test_nobody_in_view_leaves_the_frame_as_it_was(detector: PeopleDetector) -> None:
    frame = workshop()

    result = mask_frame(frame, PrivacyPolicy(), detector)

    assert result.frame is not None
    assert (result.regions, result.people, result.failed_closed) == ([], 0, False)
    assert np.array_equal(result.frame, frame)
    assert result.frame is not frame


def test_masks_what_the_detector_reports_grown_by_the_margin() -> None:
    frame = workshop()
    draw_face(frame, (330, 250), 110)
    stand_in = StandIn([(280, 190, 100, 100)])

    result = mask_frame(frame, PrivacyPolicy(margin=0.2), stand_in)

    assert result.frame is not None
    assert result.regions == [(260, 170, 140, 140)]
    assert result.people == 1
    assert (result.frame[170:310, 260:400] == FILL).all()
    assert_untouched_outside(result.frame, frame, result.regions)


def test_zones_are_masked_with_nobody_in_view() -> None:
    frame = workshop()
    triangle = ((400, 300), (600, 300), (500, 450))
    policy = PrivacyPolicy(zones=(triangle,), fill_bgr=(0, 128, 255))

    result = mask_frame(frame, policy, StandIn())

    assert result.frame is not None
    assert (result.people, result.regions) == (0, [(400, 300, 201, 151)])
    inside = np.zeros((HEIGHT, WIDTH), np.uint8)
    cv2.fillPoly(inside, [np.array(triangle, np.int32)], 255)
    assert (result.frame[inside > 0] == (0, 128, 255)).all()
    # Corners of the zone's bounding box lie outside the triangle and keep their pixels.
    assert np.array_equal(result.frame[inside == 0], frame[inside == 0])


def test_zones_pixelate_in_blur_style() -> None:
    frame = workshop()
    draw_face(frame, (500, 380), 100)
    zone = ((420, 300), (580, 300), (580, 460), (420, 460))

    result = mask_frame(frame, PrivacyPolicy(zones=(zone,), style=MaskStyle.BLUR), StandIn())

    assert result.frame is not None
    region = result.frame[300:461, 420:581]
    assert (region % 32 == 16).all()
    assert len(np.unique(region.reshape(-1, 3), axis=0)) <= 25
    assert np.array_equal(result.frame[:, :420], frame[:, :420])


def test_counts_only_keeps_no_frame() -> None:
    stand_in = StandIn([(10, 10, 50, 50)])
    policy = PrivacyPolicy(mode=PrivacyMode.COUNTS_ONLY, zones=(((0, 0), (9, 0), (9, 9)),))

    result = mask_frame(workshop(), policy, stand_in)

    assert result.frame is None
    assert (result.regions, result.people, result.failed_closed) == ([], 0, False)
    assert stand_in.calls == 0


@pytest.mark.parametrize("style", list(MaskStyle))
def test_a_failing_detector_masks_the_whole_frame(style: MaskStyle) -> None:
    frame = workshop()

    result = mask_frame(frame, PrivacyPolicy(style=style), StandIn(error=MemoryError("oom")))

    assert result.failed_closed
    assert result.reason == "MemoryError: oom"
    assert result.frame is not None
    assert (result.frame == FILL).all()
    assert result.regions == [(0, 0, WIDTH, HEIGHT)]


def test_no_detector_at_all_fails_closed(tmp_path: Path) -> None:
    with pytest.raises(DetectorUnavailableError):
        PeopleDetector(cascade_dir=tmp_path, bodies=False)  # an empty cascade directory
    frame = workshop()

    result = mask_frame(frame)  # this thread's default detector

    assert result.frame is not None
    if BACKENDS:
        assert not result.failed_closed
        assert np.array_equal(result.frame, frame)
    else:
        assert result.failed_closed
        assert "DetectorUnavailableError" in (result.reason or "")
        assert (result.frame == FILL).all()


def test_gray_frames_are_masked_in_gray() -> None:
    frame = np.asarray(cv2.cvtColor(workshop(), cv2.COLOR_BGR2GRAY), np.uint8)

    result = mask_frame(frame, PrivacyPolicy(fill_bgr=(90, 90, 90)), StandIn([(100, 100, 40, 40)]))

    assert result.frame is not None
    assert result.frame.shape == frame.shape
    assert (result.frame[94:146, 94:146] == 90).all()
    assert_untouched_outside(result.frame, frame, result.regions)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="uint8"):
        mask_frame(np.zeros((10, 10, 3), np.float32), PrivacyPolicy(), StandIn())
    with pytest.raises(ValueError, match="shape"):
        mask_frame(np.zeros((10, 10, 4), np.uint8), PrivacyPolicy(), StandIn())
    with pytest.raises(ValueError, match="3 points"):
        PrivacyPolicy(zones=(((0, 0), (5, 5)),))
    with pytest.raises(ValueError, match="margin"):
        PrivacyPolicy(margin=-0.1)
    with pytest.raises(ValueError, match="MaskStyle"):
        PrivacyPolicy(style="gaussian")  # type: ignore[arg-type]


def test_overlapping_detections_merge_without_losing_coverage() -> None:
    body = (100, 50, 80, 200)
    face = (120, 60, 40, 40)  # inside the body
    beside = (170, 40, 60, 60)  # mostly outside the body: stays apart
    far = (400, 300, 30, 30)
    chain = [(0, 300, 40, 40), (20, 300, 40, 40), (40, 300, 40, 40)]

    merged = merge_overlapping([body, face, beside, far, *chain])

    assert merged == sorted([body, beside, far, (0, 300, 80, 40)])
    before = masked_area((500, 500), [body, face, beside, far, *chain])
    assert not (before & ~masked_area((500, 500), merged)).any()


def test_one_detector_can_be_shared_between_threads(detector: PeopleDetector) -> None:
    frame = workshop()
    draw_face(frame, (330, 250), 110)
    expected = detector.detect(frame)
    results: list[list[Box]] = []

    def work() -> None:
        results.append(detector.detect(frame))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == [expected] * 3
