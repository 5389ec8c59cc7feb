"""Root-cause analysis on planted data: a shift of parts whose defect chance jumps above a mould
temperature, and batches with defects piled at one spot of the part or spread over it."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from vision_ml.rootcause import (
    Part,
    analyse,
    benjamini_hochberg,
    mann_whitney_p,
    values_at,
)

SHIFT_START = datetime(2025, 3, 3, 6, 0, tzinfo=UTC)
SHIFT = timedelta(hours=8)


def mould_temperature(minutes: float) -> float:
    """Drifts from 72 to 88 °C over the shift with a slow swing of 3 °C."""
    return 72.0 + 16.0 * minutes / 480.0 + 3.0 * math.sin(2 * math.pi * minutes / 90.0)


def shift_data(
    seed: int = 7, parts: int = 300
) -> tuple[list[Part], dict[str, list[tuple[datetime, float]]]]:
    rng = np.random.default_rng(seed)
    minutes = range(481)
    telemetry = {
        "mould_temp_c": [
            (SHIFT_START + timedelta(minutes=int(m)), mould_temperature(m) + rng.normal(0, 0.3))
            for m in minutes
        ],
        "clamp_force_kn": [
            (SHIFT_START + timedelta(minutes=int(m)), 120.0 + rng.normal(0, 2.0)) for m in minutes
        ],
    }
    made: list[Part] = []
    for i in range(parts):
        at_min = 5.0 + i * 475.0 / parts
        chance = 0.40 if mould_temperature(at_min) > 80.0 else 0.03
        made.append(
            Part(
                at=SHIFT_START + timedelta(minutes=at_min),
                defective=bool(rng.random() < chance),
                batch=f"B{i // 100}",
                device="press-3",
            )
        )
    return made, telemetry


def test_planted_temperature_effect_is_found_and_clamp_force_is_not() -> None:
    parts, telemetry = shift_data()

    report = analyse(parts, telemetry, lookback=timedelta(minutes=5))

    assert report.parts == 300
    assert report.parts_without_telemetry == 0
    by_metric = {c.metric: c for c in report.candidates}
    temp, clamp = by_metric["mould_temp_c"], by_metric["clamp_force_kn"]
    assert report.candidates[0] is temp
    assert temp.significant
    assert temp.q_value < 1e-6
    assert temp.direction == "high"
    assert temp.auroc > 0.75
    assert temp.test == "normal"
    assert temp.split.risk_side == "above"
    assert abs(temp.split.threshold - 80.0) < 1.5
    assert temp.split.rate_above == pytest.approx(0.40, abs=0.1)
    assert temp.split.rate_below < 0.08
    assert "when mould_temp_c >" in temp.explanation
    assert len(temp.bins) == 5
    assert sum(b.parts for b in temp.bins) == 300
    assert temp.bins[-1].rate > 0.3 > 0.1 > temp.bins[0].rate
    assert not clamp.significant
    assert clamp.q_value > 0.05
    assert 0.35 < clamp.auroc < 0.65

    rendered = json.loads(json.dumps(report.as_json()))
    assert rendered["candidates"][0]["metric"] == "mould_temp_c"
    assert rendered["candidates"][0]["split"]["risk_side"] == "above"
    assert [b["batch"] for b in rendered["batches"]] == ["B0", "B1", "B2"]
    assert rendered["defect_rate"] == round(report.defective / 300, 4)


def test_low_values_going_with_defects_point_the_other_way() -> None:
    parts, telemetry = shift_data()
    flow = {"coolant_flow_lpm": [(at, 60.0 - value) for at, value in telemetry["mould_temp_c"]]}

    [candidate] = analyse(parts, flow, lookback=timedelta(minutes=5)).candidates

    assert candidate.direction == "low"
    assert candidate.auroc < 0.25
    assert candidate.split.risk_side == "below"
    assert abs(candidate.split.threshold - (60.0 - 80.0)) < 1.5
    assert "when coolant_flow_lpm <=" in candidate.explanation


def test_non_finite_readings_are_ignored() -> None:
    parts, telemetry = shift_data()
    clean = analyse(parts, telemetry)
    dirty = {
        name: [
            (at, math.nan if i % 7 == 0 else math.inf if i % 11 == 0 else value)
            for i, (at, value) in enumerate(readings)
        ]
        + [(SHIFT_START + timedelta(seconds=30), math.nan)]
        for name, readings in telemetry.items()
    }
    dirty["broken_sensor"] = [(at, math.nan) for at, _ in telemetry["mould_temp_c"]]

    report = analyse(parts, dirty)

    temp = next(c for c in report.candidates if c.metric == "mould_temp_c")
    assert temp.parts == 300
    assert temp.significant
    assert abs(temp.split.threshold - 80.0) < 1.5
    assert abs(temp.auroc - clean.candidates[0].auroc) < 0.02
    [skipped] = report.not_analysable
    assert (skipped.metric, skipped.reason) == ("broken_sensor", "no finite readings")


def test_parts_without_telemetry_are_counted_and_left_out() -> None:
    parts, telemetry = shift_data()
    late_start = SHIFT_START + timedelta(hours=2)
    late = {
        name: [(at, value) for at, value in readings if at >= late_start]
        for name, readings in telemetry.items()
    }
    lookback = timedelta(minutes=10)
    uncovered = sum(1 for p in parts if p.at < late_start)

    report = analyse(parts, late, lookback=lookback, max_age=timedelta(hours=1))

    assert uncovered > 50
    assert report.parts == 300
    assert report.parts_without_telemetry == uncovered
    for candidate in report.candidates:
        assert candidate.parts == 300 - uncovered
        assert candidate.parts_without_value == uncovered
    assert any(f"{uncovered} parts had no reading" in note for note in report.notes)


def test_value_in_force_is_the_window_mean_or_the_last_fresh_reading() -> None:
    stamps = np.array([0.0, 100.0, 200.0, 1000.0])
    values = np.array([1.0, 3.0, 5.0, 7.0])
    times = np.array([-1.0, 200.0, 250.0, 320.0, 700.0, 5000.0, 1000.0])

    got = values_at(times, stamps, values, lookback=150.0, max_age=600.0)

    assert np.isnan(got[0])  # before the first reading
    assert got[1] == pytest.approx(4.0)  # mean of the readings at 100 and 200
    assert got[2] == pytest.approx(4.0)  # the window includes its start
    assert got[3] == pytest.approx(5.0)
    assert got[4] == pytest.approx(5.0)  # carried forward, 500 s old
    assert np.isnan(got[5])  # the last reading is 4000 s old
    assert got[6] == pytest.approx(7.0)  # a reading at the very moment counts


def test_a_constant_or_sparse_metric_is_reported_not_analysable() -> None:
    parts, telemetry = shift_data()
    end = SHIFT_START + SHIFT
    telemetry["line_speed"] = [(at, 1.0) for at, _ in telemetry["mould_temp_c"]]
    telemetry["rare_probe"] = [(end - timedelta(minutes=m), 3.0 + m) for m in range(12)]

    report = analyse(parts, telemetry, lookback=timedelta(minutes=5), max_age=timedelta(0))

    skipped = {s.metric: s for s in report.not_analysable}
    assert set(skipped) == {"line_speed", "rare_probe"}
    assert skipped["line_speed"].reason.startswith("does not vary")
    assert skipped["line_speed"].parts == 300
    assert skipped["rare_probe"].reason.startswith(f"only {skipped['rare_probe'].parts} parts")
    assert {c.metric for c in report.candidates} == {"mould_temp_c", "clamp_force_kn"}
    rendered = report.as_json()["not_analysable"]
    assert isinstance(rendered, list)
    assert {s["metric"] for s in rendered} == {"line_speed", "rare_probe"}


def spot_batch(
    rng: np.random.Generator,
    batch: str,
    *,
    parts: int = 60,
    defective: int = 20,
    spot: tuple[float, float] | None = None,
    at_spot: int = 0,
) -> list[Part]:
    made = []
    for i in range(parts):
        boxes = []
        if i < defective:
            w, h = rng.uniform(0.02, 0.06, size=2)
            if i < at_spot and spot is not None:
                cx, cy = np.clip(rng.normal(spot, 0.01), 0.05, 0.95)
            else:
                cx, cy = rng.uniform(0.05, 0.95, size=2)
            boxes.append((float(cx - w / 2), float(cy - h / 2), float(w), float(h)))
        made.append(
            Part(
                at=SHIFT_START + timedelta(minutes=i),
                defective=i < defective,
                batch=batch,
                defect_class="short_shot" if i < defective else None,
                boxes=boxes,
            )
        )
    return made


def test_a_planted_position_cluster_is_found_and_uniform_defects_give_none() -> None:
    rng = np.random.default_rng(11)
    parts = spot_batch(rng, "B7", spot=(0.31, 0.72), at_spot=14) + spot_batch(rng, "B8")

    report = analyse(parts, {})

    in_b7 = [c for c in report.clusters if c.batch == "B7"]
    assert [c for c in report.clusters if c.batch == "B8"] == []
    [cluster] = in_b7
    assert math.dist(cluster.centre, (0.31, 0.72)) < 0.02
    assert 14 <= cluster.parts <= 15
    assert cluster.scope_parts == 60
    assert cluster.scope_defective == 20
    assert cluster.share_of_defective == pytest.approx(cluster.parts / 20)
    assert cluster.share_of_parts == pytest.approx(cluster.parts / 60)
    assert cluster.q_value < 1e-6
    assert cluster.radius <= 0.1
    assert "defects gather at (0.31, 0.72)" in cluster.explanation
    assert f"in {cluster.parts} of 60 parts of batch B7" in cluster.explanation
    assert "no telemetry given: no parameter analysed" in report.notes
    assert report.candidates == []
    assert report.parts_without_telemetry == 120
    assert [(b.batch, b.parts, b.defective) for b in report.batches] == [
        ("B7", 60, 20),
        ("B8", 60, 20),
    ]
    rendered = json.loads(json.dumps(report.as_json()))
    assert any(c["batch"] == "B7" for c in rendered["clusters"])


def test_uniform_defects_give_no_cluster_across_many_batches() -> None:
    rng = np.random.default_rng(5)
    parts = [p for b in range(20) for p in spot_batch(rng, f"U{b}", defective=30)]

    assert analyse(parts, {}).clusters == []


def test_a_cluster_needs_at_least_k_parts() -> None:
    rng = np.random.default_rng(3)
    parts = spot_batch(rng, "B1", parts=30, defective=8, spot=(0.8, 0.2), at_spot=4)

    [cluster] = analyse(parts, {}, min_cluster_parts=4).clusters
    assert cluster.parts == 4
    assert analyse(parts, {}, min_cluster_parts=5).clusters == []


def test_empty_input_says_there_is_nothing_to_analyse() -> None:
    report = analyse([], {"mould_temp_c": []})

    assert report.parts == 0
    assert report.defect_rate is None
    rendered = report.as_json()
    assert rendered["defect_rate"] is None
    assert rendered["candidates"] == []
    assert rendered["clusters"] == []
    assert "nothing to analyse: no parts" in report.notes


def test_parts_of_another_device_are_left_out() -> None:
    parts, telemetry = shift_data()
    other = [Part(at=p.at, defective=True, device="press-9") for p in parts[:40]]

    report = analyse(parts + other, telemetry, device="press-3")

    assert report.parts == 300
    assert "40 parts from devices other than press-3 left out" in report.notes


def test_naive_datetimes_are_refused() -> None:
    parts, telemetry = shift_data(parts=30)
    naive_part = Part(at=datetime(2025, 3, 3, 7, 0), defective=False)  # noqa: DTZ001
    naive_reading = {"mould_temp_c": [(datetime(2025, 3, 3, 7, 0), 80.0)]}  # noqa: DTZ001

    with pytest.raises(ValueError, match="no time zone"):
        analyse([*parts, naive_part], telemetry)
    with pytest.raises(ValueError, match="no time zone"):
        analyse(parts, naive_reading)


def test_benjamini_hochberg_matches_a_worked_example() -> None:
    assert benjamini_hochberg([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert benjamini_hochberg([0.5, 0.9]) == pytest.approx([0.9, 0.9])
    assert benjamini_hochberg([]) == []


def test_mann_whitney_p_values() -> None:
    # Five against five, fully separated: the exact two-sided p-value is 2 / C(10, 5).
    exact, test = mann_whitney_p([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [0] * 5 + [1] * 5)
    assert test == "permutation"
    assert exact == pytest.approx(2 / 252, abs=0.002)

    rng = np.random.default_rng(1)
    labels = np.arange(100) < 30
    null = [mann_whitney_p(rng.normal(size=100).round(1), labels)[0] for _ in range(400)]
    assert 0.02 < np.mean(np.array(null) < 0.05) < 0.08
    shifted = rng.normal(size=100) + labels * 1.0
    p, test = mann_whitney_p(shifted, labels)
    assert test == "normal"
    assert p < 1e-3
