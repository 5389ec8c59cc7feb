"""`python -m benchmarks.vision --data DIR --quick` on a class-folder set written from the
generator: both the model and the plain reference get an image AUROC per defect type, masks are
found under either name, and --quick keeps its shape (20 training, 10 + 10 test images)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from benchmarks import vision
from yunfab_demo.synthetic import Sku, generate

METAL = Sku("plate", "metal", seed=3)


def _write(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image)


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    root = tmp_path / "plates"
    for i, sample in enumerate(generate(METAL, good=22, size=128, seed=0)):
        _write(root / "train" / "good" / f"{i:03d}.png", sample.image)
    held_out = generate(
        METAL, good=12, defective=12, defects=("scratch", "stain"), size=128, seed=1
    )
    for i, sample in enumerate(held_out):
        _write(root / "test" / sample.label / f"{i:03d}.png", sample.image)
        if sample.mask is not None:
            # MVTec's `<name>_mask.png` for one type, a bare `<name>.png` for the other.
            name = f"{i:03d}_mask.png" if sample.label == "scratch" else f"{i:03d}.png"
            _write(root / "ground_truth" / sample.label / name, sample.mask)
    return root


def test_quick_data_mode_reports_model_and_reference_per_defect_type(
    dataset: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = ["benchmarks.vision", "--data", str(dataset), "--quick", "--threads", "1"]
    monkeypatch.setattr(sys, "argv", argv)
    vision.main()
    lines = capsys.readouterr().out.strip().splitlines()
    result = json.loads(lines[-1])

    assert result["data"] == "plates"
    assert result["quick"] is True
    assert result["train_images"] == 20
    assert result["test_images"] == {"good": 10, "scratch": 5, "stain": 5}
    assert result["image_sizes"] == ["128x128"]
    assert result["working_resolution"] == ["368x368"]
    assert result["reference_working_resolution"] == ["256x256"]
    for row in (result["model"], result["reference"]):
        assert set(row["per_type_auroc"]) == {"scratch", "stain"}
        assert all(0.0 <= value <= 1.0 for value in row["per_type_auroc"].values())
        assert 0.0 <= row["image_auroc"] <= 1.0
        assert row["pixel_auroc"] is not None  # masks found under both names
        assert row["inference_ms"] > 0
    # A generated scratch is plain to both: a broken score or label order would not be.
    assert result["model"]["per_type_auroc"]["scratch"] >= 0.9
    assert result["reference"]["per_type_auroc"]["scratch"] >= 0.9
    assert result["reference"]["memory_bank"] == 20 * 32 * 32  # every training patch
    assert any(line.startswith("image AUROC scratch") for line in lines)


def test_data_mode_refuses_a_folder_without_training_images(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["benchmarks.vision", "--data", str(tmp_path)])
    with pytest.raises(SystemExit) as exited:
        vision.main()
    assert exited.value.code == 2
