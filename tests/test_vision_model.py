"""Inspection models: metrics by hand, a model that finds and locates a planted defect, model
files, threshold calibration, and `yunfab vision train|eval` on folders the generator wrote."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from vision_ml import metrics
from vision_ml.anomaly import AnomalyModel, ModelFileError
from vision_ml.features import set_threads
from vision_ml.training import Example, TrainedModel, evaluate, train
from yunfab.errors import InvalidInput
from yunfab_cli.vision import vision_app
from yunfab_demo.synthetic import Sku, generate, write_dataset

SIZE = 128
SKU = Sku("bracket", "metal", seed=3)


@pytest.fixture(scope="module", autouse=True)
def _two_threads() -> None:
    set_threads(2)


@pytest.fixture(scope="module")
def good_images() -> list[np.ndarray]:
    return [sample.image for sample in generate(SKU, good=12, size=SIZE, seed=0)]


@pytest.fixture(scope="module")
def model(good_images: list[np.ndarray]) -> AnomalyModel:
    return AnomalyModel.fit(good_images[:8])


def planted(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A dark gouge no good part has, and its mask."""
    flawed = image.copy()
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.line(flawed, (70, 30), (100, 52), (20, 20, 20), 4)
    cv2.line(mask, (70, 30), (100, 52), 255, 4)
    return flawed, mask


def overlaps(box: tuple[int, int, int, int], mask: np.ndarray) -> bool:
    x, y, w, h = box
    return bool(mask[y : y + h, x : x + w].any())


# --- metrics ------------------------------------------------------------------------------------


def test_auroc_counts_ties_as_half() -> None:
    # Defective {2, 3} against good {1, 2}: 3 > both, 2 > 1, 2 ties 2 -> (1 + 1 + 1 + 0.5) / 4.
    assert metrics.auroc([1, 2, 2, 3], [0, 0, 1, 1]) == pytest.approx(0.875)
    assert metrics.auroc([0.1, 0.2, 0.9], [0, 0, 1]) == 1.0
    assert metrics.auroc([0.9, 0.2, 0.1], [0, 0, 1]) == 0.0
    assert metrics.auroc([5, 5, 5, 5], [0, 1, 0, 1]) == 0.5
    with pytest.raises(ValueError, match="both"):
        metrics.auroc([1, 2], [1, 1])


def test_f1_threshold_and_rates() -> None:
    scores, labels = [0.1, 0.3, 0.35, 0.8, 0.9], [0, 0, 1, 1, 1]
    threshold, f1 = metrics.f1_threshold(scores, labels)
    assert threshold == pytest.approx(0.325)  # halfway between 0.35 and the next lower score
    assert f1 == 1.0
    rates = metrics.rates(scores, labels, 0.5)
    assert rates.precision == 1.0
    assert rates.recall == pytest.approx(2 / 3)
    assert rates.accuracy == pytest.approx(0.8)


def test_pixel_auroc_samples_repeatably() -> None:
    rng = np.random.default_rng(0)
    maps = [rng.random((64, 64)).astype(np.float32) for _ in range(3)]
    masks: list[np.ndarray | None] = [None, np.zeros((64, 64), np.uint8), None]
    assert masks[1] is not None
    masks[1][10:20, 10:20] = 255
    maps[1][10:20, 10:20] += 1.0
    full = metrics.pixel_auroc(maps, masks)
    sampled = metrics.pixel_auroc(maps, masks, max_pixels=4000)
    assert full == 1.0
    assert sampled == metrics.pixel_auroc(maps, masks, max_pixels=4000)
    assert sampled > 0.99


# --- the anomaly model --------------------------------------------------------------------------


def test_a_defect_scores_higher_than_good_parts_and_is_located(
    model: AnomalyModel, good_images: list[np.ndarray]
) -> None:
    unseen = good_images[8:]
    good_scores = [model.score(image).score for image in unseen]
    flawed, mask = planted(unseen[0])
    located = model.with_thresholds(max(good_scores) * 1.1, None).score(flawed)

    assert located.score > 1.5 * max(good_scores)
    assert located.verdict == "defective"
    assert located.heatmap.shape == flawed.shape[:2]
    assert located.heatmap.dtype == np.float32
    assert located.boxes
    assert overlaps(located.boxes[0][:4], mask)
    peak = np.unravel_index(np.argmax(located.heatmap), located.heatmap.shape)
    assert cv2.dilate(mask, np.ones((25, 25), np.uint8))[peak]
    assert located.elapsed_ms > 0


def test_any_size_grey_or_with_alpha(model: AnomalyModel, good_images: list[np.ndarray]) -> None:
    odd = cv2.resize(good_images[9], (181, 97))
    grey = cv2.cvtColor(good_images[9], cv2.COLOR_BGR2GRAY)
    alpha = cv2.cvtColor(good_images[9], cv2.COLOR_BGR2BGRA)
    sixteen = good_images[9].astype(np.uint16) * 257
    for image in (odd, grey, alpha, sixteen):
        result = model.score(image)
        assert result.heatmap.shape == image.shape[:2]
        assert np.isfinite(result.score)
    assert model.score(sixteen).score == pytest.approx(model.score(good_images[9]).score, rel=1e-3)
    with pytest.raises(ValueError, match="not an image"):
        model.score(np.zeros((0, 5, 3), np.uint8))


def test_model_files_round_trip_and_refuse_foreign_ones(
    model: AnomalyModel, good_images: list[np.ndarray], tmp_path: Path
) -> None:
    calibrated = model.with_thresholds(1.2, 1.5)
    calibrated.save(tmp_path / "m.pt")
    loaded = AnomalyModel.load(tmp_path / "m.pt")
    assert (loaded.image_threshold, loaded.pixel_threshold) == (1.2, 1.5)
    assert loaded.params == model.params
    image = planted(good_images[10])[0]
    before, after = calibrated.score(image), loaded.score(image)
    assert after.score == before.score
    assert np.array_equal(after.heatmap, before.heatmap)
    assert after.boxes == before.boxes

    (tmp_path / "junk.pt").write_bytes(b"not a model at all")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    for name in ("junk.pt", "other.pt", "missing.pt"):
        with pytest.raises(ModelFileError):
            AnomalyModel.load(tmp_path / name)


# --- training and calibration --------------------------------------------------------------------


def test_good_only_calibration_fits_the_spread_of_enough_held_out_goods(
    good_images: list[np.ndarray],
) -> None:
    trained = train("bracket", good_images, holdout=0.5, seed=2)
    assert trained.params["heldout_images"] == 6
    assert trained.metrics["calibration"] == "good-only"
    assert trained.metrics["calibration_reliable"] is True
    threshold = trained.image_threshold
    assert threshold is not None
    assert threshold >= trained.metrics["heldout_good_score_max"] * 1.02


def test_good_only_calibration_passes_every_held_out_good_image(
    good_images: list[np.ndarray], tmp_path: Path
) -> None:
    trained = train("bracket", good_images[:10], holdout=0.3, seed=1)
    assert trained.metrics["calibration"] == "good-only"
    threshold = trained.image_threshold
    assert threshold is not None
    assert threshold > trained.metrics["heldout_good_score_max"]
    assert trained.params["heldout_images"] == 3
    assert trained.params["fit_images"] == 7
    # Three held-out images show no spread: the threshold is a guess, and the metrics say so.
    assert trained.metrics["calibration_reliable"] is False
    assert trained.metrics["timings"]["train_s"] > 0

    flawed, _ = planted(good_images[11])
    assert trained.inspect(flawed).verdict == "defective"
    assert trained.inspect(good_images[11]).verdict == "good"

    trained.save(tmp_path / "bracket.pt")
    loaded = TrainedModel.load(tmp_path / "bracket.pt")
    assert (loaded.sku, loaded.version, loaded.metrics) == (
        "bracket",
        trained.version,
        trained.metrics,
    )
    AnomalyModel.fit(good_images[:2]).save(tmp_path / "bare.pt")
    with pytest.raises(ModelFileError, match="no inspection model"):
        TrainedModel.load(tmp_path / "bare.pt")


def test_defect_images_set_an_f1_threshold_and_evaluation_reports_per_class(
    good_images: list[np.ndarray],
) -> None:
    samples = generate(SKU, good=0, defective=4, defects=("crack", "scratch"), size=SIZE, seed=5)
    defects = [Example(s.label, s.image, s.mask) for s in samples]
    trained = train("bracket", good_images[:10], defects, holdout=0.3, seed=1)
    assert trained.metrics["calibration"] == "f1"
    assert trained.metrics["image_auroc"] >= 0.9
    assert trained.anomaly.pixel_threshold is not None

    held = [Example("good", image) for image in good_images[10:]]
    report = evaluate(trained, held + defects)
    assert set(report["per_class_auroc"]) == {"crack", "scratch"}
    assert report["counts"] == {"good": 2, "crack": 2, "scratch": 2}
    assert 0.0 <= report["pixel_auroc"] <= 1.0
    assert report["image_auroc"] >= 0.75
    assert {"accuracy", "precision", "recall", "f1", "threshold", "timings"} <= set(report)


def test_training_refuses_too_few_or_mislabelled_images(good_images: list[np.ndarray]) -> None:
    with pytest.raises(InvalidInput, match="at least 3"):
        train("bracket", good_images[:2])
    with pytest.raises(InvalidInput, match="labelled 'good'"):
        train("bracket", good_images[:4], [Example("good", good_images[5])])


# --- the command line -----------------------------------------------------------------------------


def test_cli_trains_and_evaluates_a_generated_folder(tmp_path: Path) -> None:
    write_dataset(generate(SKU, good=8, size=SIZE, seed=0), tmp_path / "train")
    write_dataset(generate(SKU, good=3, defective=3, size=SIZE, seed=2), tmp_path / "test")
    runner = CliRunner()
    model = tmp_path / "bracket.pt"

    trained = runner.invoke(
        vision_app,
        [
            "train",
            "--sku",
            "bracket",
            "--good",
            str(tmp_path / "train" / "good"),
            "--out",
            str(model),
        ],
    )
    assert trained.exit_code == 0, trained.output
    summary = json.loads(trained.stdout)
    assert summary["sku"] == "bracket"
    assert summary["model"] == str(model)
    assert summary["threshold"] > 0
    assert {"version", "timings", "params"} <= set(summary)
    assert model.exists()

    evaluated = runner.invoke(
        vision_app, ["eval", "--model", str(model), "--data", str(tmp_path / "test")]
    )
    assert evaluated.exit_code == 0, evaluated.output
    report = json.loads(evaluated.stdout)
    assert {"image_auroc", "pixel_auroc", "threshold", "timings", "per_class_auroc"} <= set(report)
    assert report["version"] == summary["version"]
    assert report["threshold"] == summary["threshold"]

    write_dataset(generate(SKU, good=0, defective=2, size=SIZE, seed=3), tmp_path / "calib")
    calibrated = runner.invoke(
        vision_app,
        [
            *("train", "--sku", "bracket", "--good", str(tmp_path / "train")),
            *("--defects", str(tmp_path / "calib"), "--out", str(tmp_path / "f1.pt")),
        ],
    )
    assert calibrated.exit_code == 0, calibrated.output
    assert json.loads(calibrated.stdout)["calibration"] == "f1"
    assert json.loads(calibrated.stdout)["params"]["defect_images"] == 2


@pytest.mark.parametrize(
    "args",
    [
        ["train", "--sku", "bracket", "--good", "{tmp}/nowhere", "--out", "{tmp}/m.pt"],
        ["train", "--sku", "../escape", "--good", "{tmp}"],
        ["eval", "--model", "{tmp}/missing.pt", "--data", "{tmp}"],
        ["eval", "--data", "{tmp}"],
    ],
)
def test_cli_bad_input_exits_2_with_one_line(args: list[str], tmp_path: Path) -> None:
    result = CliRunner().invoke(vision_app, [a.format(tmp=tmp_path) for a in args])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert result.output.startswith("yunfab: ")
