"""Item counting on synthetic footage: a textured, slightly noisy static scene with items
(textured squares) moving along known paths, so the true count of every scene is known."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from vision_ml.counting import (
    CountEvent,
    CountKind,
    CountLine,
    CountZone,
    ItemCounter,
    LineDirection,
    count_video,
)

WIDTH, HEIGHT = 320, 240
LEAD_IN = 15  # frames of empty scene before anything moves: the background model learns it
# Drawn bottom to top, so that facing from a to b the left side is the screen's left and
# LEFT_TO_RIGHT means moving rightwards on screen.
LINE_X = 160
UPWARD_LINE = ((LINE_X, 230), (LINE_X, 10))


@dataclass(frozen=True)
class Item:
    """A square moving through `waypoints` at `speed` px a frame from frame `start`."""

    waypoints: Sequence[tuple[float, float]]
    speed: float
    start: int = LEAD_IN
    size: int = 22
    colour: tuple[int, int, int] = (40, 60, 230)

    def position(self, frame: int) -> tuple[float, float] | None:
        travelled = (frame - self.start) * self.speed
        if travelled < 0:
            return None
        for (x0, y0), (x1, y1) in zip(self.waypoints, self.waypoints[1:], strict=False):
            leg = math.hypot(x1 - x0, y1 - y0)
            if travelled <= leg:
                t = travelled / leg
                return x0 + t * (x1 - x0), y0 + t * (y1 - y0)
            travelled -= leg
        return None


def scene(items: Sequence[Item], frames: int, *, seed: int = 3, gray: bool = False) -> list:
    rng = np.random.default_rng(seed)
    texture = rng.integers(70, 190, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    background = cv2.GaussianBlur(texture, (0, 0), 1.5).astype(np.int16)
    # Sensor noise: a few noisy copies of the scene, taken in turn (cheaper than fresh noise).
    noisy = [
        np.clip(background + rng.normal(0.0, 2.0, background.shape), 0, 255).astype(np.uint8)
        for _ in range(7)
    ]
    out = []
    for index in range(frames):
        frame = noisy[index % len(noisy)].copy()
        for item in items:
            where = item.position(index)
            if where is None:
                continue
            x, y, half = round(where[0]), round(where[1]), item.size // 2
            cv2.rectangle(frame, (x - half, y - half), (x + half, y + half), item.colour, -1)
            cv2.rectangle(frame, (x - half // 2, y - half // 2), (x, y), (240, 240, 240), -1)
        out.append(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if gray else frame)
    return out


def frames_needed(items: Sequence[Item]) -> int:
    end = 0
    for item in items:
        length = sum(
            math.hypot(x1 - x0, y1 - y0)
            for (x0, y0), (x1, y1) in zip(item.waypoints, item.waypoints[1:], strict=False)
        )
        end = max(end, item.start + math.ceil(length / item.speed) + 2)
    return end + 8


def run(items: Sequence[Item], counter: ItemCounter, *, gray: bool = False) -> list[CountEvent]:
    return count_video(scene(items, frames_needed(items), gray=gray), counter)


def crossing(y: float, speed: float, start: int = LEAD_IN, *, leftwards: bool = False) -> Item:
    """Appears 70 px before the line and leaves the picture past it."""
    path = [(LINE_X - 70.0, y), (WIDTH + 15.0, y)]
    if leftwards:
        path = [(LINE_X + 70.0, y), (-15.0, y)]
    return Item(path, speed, start)


def test_counts_crossings_in_the_configured_direction_at_various_speeds() -> None:
    items = [
        crossing(50, 2.0),
        crossing(120, 6.0, start=20),
        crossing(190, 14.0, start=30),
        crossing(120, 5.0, start=50, leftwards=True),
    ]
    counter = ItemCounter(CountLine(*UPWARD_LINE, direction=LineDirection.LEFT_TO_RIGHT))

    events = run(items, counter)

    assert counter.count == counter.line_count == len(events) == 3
    assert all(event.kind is CountKind.LINE for event in events)
    assert len({event.track_id for event in events}) == 3
    # Each count lands on the frame where that item's centre passed the line.
    by_row = sorted(events, key=lambda event: event.position[1])
    for event, item in zip(by_row, items[:3], strict=True):
        before, after = item.position(event.frame_index - 1), item.position(event.frame_index)
        assert before is not None
        assert after is not None
        assert before[0] < LINE_X + 2
        assert after[0] >= LINE_X - 2
        assert event.timestamp_s == pytest.approx(event.frame_index / counter.fps)


def test_both_directions_and_the_other_direction() -> None:
    items = [crossing(60, 5.0), crossing(170, 7.0, start=40, leftwards=True)]
    both = ItemCounter(CountLine(*UPWARD_LINE))
    leftwards = ItemCounter(CountLine(*UPWARD_LINE, direction=LineDirection.RIGHT_TO_LEFT))

    assert len(run(items, both)) == 2
    events = run(items, leftwards)
    assert len(events) == 1
    assert events[0].position[1] == pytest.approx(170, abs=3)


def test_an_item_going_back_and_forth_over_the_line_counts_once() -> None:
    wobble = Item(
        [(90, 120), (185, 120), (135, 120), (190, 120), (140, 120), (200, 120), (WIDTH + 15, 120)],
        4.0,
    )
    for direction in LineDirection:
        counter = ItemCounter(CountLine(*UPWARD_LINE, direction=direction))
        events = run([wobble], counter)
        assert len(events) == 1, direction


def test_two_items_crossing_together_count_twice() -> None:
    items = [crossing(60, 6.0), crossing(180, 6.0)]
    counter = ItemCounter(CountLine(*UPWARD_LINE, direction=LineDirection.LEFT_TO_RIGHT))

    events = run(items, counter)

    assert len(events) == 2
    assert events[0].frame_index == events[1].frame_index
    assert events[0].track_id != events[1].track_id
    assert sorted(round(event.position[1]) for event in events) == [60, 180]


def test_crossings_beyond_the_end_of_the_line_do_not_count() -> None:
    short_line = CountLine((LINE_X, 230), (LINE_X, 130))
    counter = ItemCounter(short_line)

    events = run([crossing(60, 5.0), crossing(190, 5.0, start=40)], counter)

    assert len(events) == 1
    assert events[0].position[1] == pytest.approx(190, abs=3)


def test_counts_items_entering_a_zone_once() -> None:
    bin_zone = CountZone(((200, 140), (300, 140), (300, 230), (200, 230)))
    items = [
        Item([(-15, 185), (250, 185)], 6.0),  # rides into the bin and stays in view
        Item([(250, -15), (250, 170), (230, 200), (270, 200), (240, 175)], 4.0, start=35),
        Item([(-15, 60), (WIDTH + 15, 60)], 8.0, start=20),  # passes above the bin
    ]
    counter = ItemCounter(zone=bin_zone)

    events = run(items, counter)

    assert counter.zone_count == len(events) == 2
    assert all(event.kind is CountKind.ZONE for event in events)
    assert all(bin_zone.contains(event.position) for event in events)


def test_line_and_zone_together_on_gray_frames() -> None:
    counter = ItemCounter(
        CountLine(*UPWARD_LINE, direction=LineDirection.LEFT_TO_RIGHT),
        CountZone(((200, 0), (WIDTH, 0), (WIDTH, HEIGHT), (200, HEIGHT))),
    )

    events = run([crossing(80, 5.0), crossing(170, 9.0, start=30)], counter, gray=True)

    assert (counter.line_count, counter.zone_count) == (2, 2)
    assert [event.kind for event in events].count(CountKind.LINE) == 2


def test_a_lighting_change_is_not_counted() -> None:
    items = [crossing(120, 6.0, start=70)]
    frames = scene(items, frames_needed(items))
    for index in range(40, len(frames)):  # lights switched on at frame 40
        frames[index] = cv2.add(frames[index], np.full_like(frames[index], 60))
    counter = ItemCounter(CountLine(*UPWARD_LINE))

    events = count_video(frames, counter)

    assert len(events) == 1
    assert events[0].frame_index > 70


def test_counts_from_a_video_file(tmp_path: Path) -> None:
    items = [crossing(60, 4.0), crossing(180, 9.0, start=25), crossing(120, 6.0, start=50)]
    frames = scene(items, frames_needed(items))
    path = tmp_path / "conveyor.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 20.0, (WIDTH, HEIGHT))
    assert writer.isOpened()
    for frame in frames:
        writer.write(frame)
    writer.release()
    counter = ItemCounter(CountLine(*UPWARD_LINE, direction=LineDirection.LEFT_TO_RIGHT))

    events = count_video(path, counter)

    assert counter.frame_index == len(frames) - 1
    assert len(events) == 3
    assert [event.timestamp_s for event in events] == [
        pytest.approx(event.frame_index / 20.0) for event in events
    ]


def test_rejects_what_cannot_be_counted(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="line, a zone"):
        ItemCounter()
    with pytest.raises(ValueError, match="distinct"):
        CountLine((5, 5), (5, 5))
    with pytest.raises(FileNotFoundError):
        count_video(tmp_path / "missing.avi", ItemCounter(CountLine((0, 0), (9, 9))))
    not_video = tmp_path / "notes.avi"
    not_video.write_text("not a video")
    with pytest.raises(ValueError, match="cannot open"):
        count_video(not_video, ItemCounter(CountLine((0, 0), (9, 9))))


def test_line_sides_follow_the_documented_convention() -> None:
    across = CountLine((0, 100), (200, 100))  # drawn left to right: left is above
    down = CountLine((100, 0), (100, 200))  # drawn top to bottom: left is the screen's right
    assert across.side((50, 20)) == -1
    assert across.side((50, 180)) == 1
    assert down.side((180, 50)) == -1
    assert down.side((20, 50)) == 1
    assert across.side((50, 100)) == 0


def test_a_stream_is_counted_in_contiguous_windows() -> None:
    import datetime as dt

    from vision_ml.camera import windows

    items = [crossing(60, 8.0), crossing(180, 8.0, start=60), crossing(120, 8.0, start=64)]
    stream = [(index / 20.0, frame) for index, frame in enumerate(scene(items, 110))]
    counter = ItemCounter(CountLine(*UPWARD_LINE, direction=LineDirection.LEFT_TO_RIGHT))
    began = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)

    counted = list(windows(stream, counter, started_at=began, window_s=2.0))

    # 110 frames at 20 fps: two whole 2 s windows and a short last one, end to end.
    assert [w.start for w in counted] == [began + dt.timedelta(seconds=s) for s in (0, 2, 4)]
    assert counted[0].end == counted[1].start
    assert counted[1].end == counted[2].start
    assert counted[-1].end == began + dt.timedelta(seconds=109 / 20)
    # Crossings 70 px from the start at 8 px a frame: frame 24 (1.2 s), frames 69 and 73.
    assert [w.count for w in counted] == [1, 2, 0]
    with pytest.raises(ValueError, match="time zone"):
        list(windows(stream, counter, started_at=began.replace(tzinfo=None), window_s=2.0))
