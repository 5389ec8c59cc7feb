"""The supervised head trained beside the anomaly model when labelled defects exist: it names
the defect class on unseen parts, survives a model file, reports held-out metrics, and is
skipped, with the reason, when there are too few labelled defects."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from vision_ml.anomaly import FILE_VERSION
from vision_ml.features import set_threads
from vision_ml.training import Example, TrainedModel, evaluate, train
from yunfab_cli.vision import vision_app
from yunfab_demo.synthetic import Sku, generate, write_dataset

SIZE = 128
SKU = Sku("bracket", "metal", seed=3)
CLASSES = ("scratch", "stain")


@pytest.fixture(scope="module", autouse=True)
def _two_threads() -> None:
    set_threads(2)


@pytest.fixture(scope="module")
def good_images() -> list[np.ndarray]:
    return [sample.image for sample in generate(SKU, good=12, size=SIZE, seed=0)]


def labelled(count: int, seed: int) -> list[Example]:
    samples = generate(SKU, good=0, defective=count, defects=CLASSES, size=SIZE, seed=seed)
    return [Example(s.label, s.image, s.mask) for s in samples]


@pytest.fixture(scope="module")
def supervised(good_images: list[np.ndarray]) -> TrainedModel:
    return train("bracket", good_images[:10], labelled(8, seed=5), holdout=0.3, seed=1)


def test_head_names_the_class_of_unseen_defects(supervised: TrainedModel) -> None:
    unseen = labelled(8, seed=9)
    results = [supervised.inspect(item.image) for item in unseen]
    right = sum(r.defect_class == item.label for r, item in zip(results, unseen, strict=True))
    assert right >= 7
    assert all(r.verdict == "defective" for r in results)
    probabilities = results[0].class_probabilities
    assert probabilities is not None
    assert set(probabilities) == {"good", *CLASSES}
    assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    summary = results[0].summary()
    assert summary["defect_class"] == results[0].defect_class
    assert summary["class_probabilities"] == probabilities


def test_good_parts_get_no_defect_class(
    supervised: TrainedModel, good_images: list[np.ndarray]
) -> None:
    for image in good_images[10:]:
        result = supervised.inspect(image)
        assert result.verdict == "good"
        assert result.defect_class is None
        assert result.class_probabilities is not None
        assert result.combined_score is not None
        assert result.combined_score < 1.0


def test_head_metrics_are_held_out_and_params_recorded(supervised: TrainedModel) -> None:
    head = supervised.metrics["supervised"]
    assert head["evaluation"].endswith("out-of-fold")
    assert head["images"] == {"good": 10, "scratch": 4, "stain": 4}
    assert set(head["per_class_recall"]) == {"good", *CLASSES}
    assert head["accuracy"] >= 0.75
    assert head["image_auroc"] >= 0.9
    assert 0.5 <= head["head_threshold"]
    params = supervised.params["supervised_head"]
    assert params["classes"] == ["good", *CLASSES]
    assert params["folds"] == 4


def test_evaluation_reports_the_combined_model(
    supervised: TrainedModel, good_images: list[np.ndarray]
) -> None:
    items = [Example("good", image) for image in good_images[10:]] + labelled(4, seed=9)
    report = evaluate(supervised, items)
    assert report["image_auroc"] >= 0.9
    assert set(report["anomaly_per_class_auroc"]) == set(CLASSES)
    assert report["class_accuracy"] >= 0.8
    assert report["head_threshold"] == supervised.metrics["supervised"]["head_threshold"]


def test_model_file_round_trips_the_head(
    supervised: TrainedModel, good_images: list[np.ndarray], tmp_path: Path
) -> None:
    supervised.save(tmp_path / "m.pt")
    loaded = TrainedModel.load(tmp_path / "m.pt")
    assert loaded.head is not None
    assert supervised.head is not None
    assert loaded.head.classes == supervised.head.classes
    assert (loaded.version, loaded.metrics, loaded.params) == (
        supervised.version,
        supervised.metrics,
        supervised.params,
    )
    image = labelled(2, seed=11)[1].image
    before, after = supervised.inspect(image), loaded.inspect(image)
    assert (after.verdict, after.defect_class) == (before.verdict, before.defect_class)
    assert after.class_probabilities == before.class_probabilities
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    assert payload["version"] == FILE_VERSION == 2


def test_good_only_training_has_no_head_and_writes_version_1(
    good_images: list[np.ndarray], tmp_path: Path
) -> None:
    trained = train("bracket", good_images[:6], holdout=0.3, seed=1)
    assert trained.head is None
    assert trained.metrics["supervised"] == {"skipped": "no labelled defect images"}
    assert trained.params["supervised_head"] is None
    result = trained.inspect(good_images[11])
    assert (result.defect_class, result.class_probabilities) == (None, None)
    trained.save(tmp_path / "m.pt")
    assert torch.load(tmp_path / "m.pt", weights_only=True)["version"] == 1
    assert TrainedModel.load(tmp_path / "m.pt").head is None


@pytest.mark.parametrize(
    ("labels", "reason"),
    [
        (["scratch", "stain", "scratch"], "needs at least 4"),
        (["scratch", "scratch", "scratch", "stain"], "stain have fewer than 2"),
    ],
)
def test_too_few_labelled_defects_skip_the_head_with_a_reason(
    good_images: list[np.ndarray], labels: list[str], reason: str
) -> None:
    images = labelled(4, seed=5)
    defects = [Example(label, images[i].image) for i, label in enumerate(labels)]
    trained = train("bracket", good_images[:6], defects, holdout=0.3, seed=1)
    assert trained.head is None
    assert reason in trained.metrics["supervised"]["skipped"]
    assert trained.metrics["calibration"] == "f1"


def test_cli_prints_the_head_metrics(tmp_path: Path) -> None:
    write_dataset(generate(SKU, good=8, size=SIZE, seed=0), tmp_path / "train")
    samples = generate(SKU, good=0, defective=4, defects=CLASSES, size=SIZE, seed=5)
    write_dataset(samples, tmp_path / "defects")
    model = tmp_path / "m.pt"
    runner = CliRunner()
    trained = runner.invoke(
        vision_app,
        [
            *("train", "--sku", "bracket", "--good", str(tmp_path / "train")),
            *("--defects", str(tmp_path / "defects"), "--out", str(model)),
        ],
    )
    assert trained.exit_code == 0, trained.output
    summary = json.loads(trained.stdout)
    assert summary["supervised"]["images"] == {"good": 8, "scratch": 2, "stain": 2}
    assert summary["params"]["supervised_head"]["classes"] == ["good", *CLASSES]

    write_dataset(
        generate(SKU, good=2, defective=2, defects=CLASSES, size=SIZE, seed=7), tmp_path / "test"
    )
    evaluated = runner.invoke(
        vision_app, ["eval", "--model", str(model), "--data", str(tmp_path / "test")]
    )
    assert evaluated.exit_code == 0, evaluated.output
    report = json.loads(evaluated.stdout)
    assert {"class_accuracy", "anomaly_image_auroc", "head_threshold"} <= set(report)
