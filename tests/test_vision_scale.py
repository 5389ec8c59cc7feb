"""The working resolution of an inspection model: a larger shot is worked nearer its own
resolution (up to two tiles for new models, never more than every training image had) instead of
being shrunk to a square's pixels, a small crop is still enlarged, with `level` every image is
brought to one mean brightness, model files keep what they were fitted with, and files whose
area or brightness level is out of bounds are refused."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from regional_node.vision.engine import TRAINING_PIXELS
from vision_ml.anomaly import AnomalyModel, AnomalyParams, ModelFileError
from vision_ml.features import INPUT_AREA, MAX_INPUT_AREA, TILED_AREA, input_size, set_threads
from vision_ml.training import TrainedModel, train
from yunfab_demo.synthetic import Sku, generate

SKU = Sku("strip", "metal", seed=5)


@pytest.fixture(scope="module", autouse=True)
def _two_threads() -> None:
    set_threads(2)


def test_a_strip_keeps_its_resolution_and_a_small_crop_is_enlarged() -> None:
    # Without max_area (files written before it existed) every image becomes about INPUT_AREA.
    assert input_size(500, 1250) == (224, 576)
    # With it, a 500x1250 strip keeps its pixels: a 2 px crack stays 2 px wide.
    assert input_size(500, 1250, max_area=MAX_INPUT_AREA) == (496, 1248)
    assert input_size(256, 4096, max_area=MAX_INPUT_AREA) == (256, 4096)
    # A small crop is still enlarged to INPUT_AREA, aspect kept.
    assert input_size(120, 120, max_area=MAX_INPUT_AREA) == (368, 368)
    assert input_size(91, 293, max_area=MAX_INPUT_AREA) == input_size(91, 293)
    # A 12 MP photo is reduced to MAX_INPUT_AREA.
    height, width = input_size(3000, 4000, max_area=MAX_INPUT_AREA)
    assert INPUT_AREA < height * width <= MAX_INPUT_AREA * 1.02
    assert abs(width / height - 4 / 3) < 0.02


def test_a_strip_model_finds_a_thin_crack_at_its_own_resolution(tmp_path: Path) -> None:
    good = [s.image for s in generate(SKU, good=10, size=256, seed=0)]
    strips = [np.concatenate(good[i : i + 3], axis=1) for i in range(len(good) - 2)]
    model = train("strip", strips, holdout=0.25, seed=0)
    params = model.anomaly.params
    assert 256 * 768 > INPUT_AREA
    # New models work up to TILED_AREA, lowered to what their smallest training image held.
    assert params.max_area == 256 * 768 < TILED_AREA
    assert params.input_size(256, 768) == (256, 768)  # worked at its own resolution
    cracked = strips[0].copy()
    cv2.line(cracked, (300, 40), (330, 150), (25, 25, 25), 2)
    clean = [model.inspect(strip).score for strip in strips]
    found = model.inspect(cracked)
    assert found.score > max(clean)
    assert found.heatmap.shape == cracked.shape[:2]

    path = tmp_path / "strip.pt"
    model.save(path)
    loaded = TrainedModel.load(path)
    assert loaded.anomaly.params == params
    assert loaded.inspect(cracked).score == pytest.approx(found.score, rel=1e-4)


def test_files_with_an_out_of_bounds_area_or_level_are_refused() -> None:
    good = [s.image for s in generate(SKU, good=4, size=96, seed=0)]
    model = AnomalyModel.fit(good)
    # Trained on small images (or on uploads a node reduced as it decoded them), a model sees a
    # large photo at INPUT_AREA as they were: never at more pixels than its good images.
    assert model.params.max_area == INPUT_AREA
    assert model.params.input_size(1000, 1000) == input_size(1000, 1000)
    # One small image among large ones keeps every image at one grid size.
    mixed = [*good[:3], np.zeros((600, 600, 3), np.uint8)]
    assert AnomalyModel.fit(mixed).params.max_area == INPUT_AREA
    tensors, metadata = model.state()
    assert AnomalyModel.from_state(tensors, metadata).params == model.params
    for field, value in (("max_area", 100 * MAX_INPUT_AREA), ("level", 7.0)):
        bad = {**metadata, "params": {**metadata["params"], field: value}}
        with pytest.raises(ModelFileError, match="out of bounds"):
            AnomalyModel.from_state(tensors, bad)
    # A file written before these parameters existed reads as it was written.
    old = {**metadata, "params": dict(metadata["params"])}
    del old["params"]["max_area"], old["params"]["level"]
    legacy = AnomalyModel.from_state(tensors, old)
    assert legacy.params == AnomalyParams(max_area=None, level=None)
    assert legacy.params.input_size(500, 1250) == (224, 576)


def test_a_darker_shot_of_a_good_part_looks_like_the_training_images() -> None:
    good = [s.image for s in generate(SKU, good=8, size=128, seed=0)]
    shot = good[-1]
    darker = (shot.astype(np.float32) * 0.6).round().astype(np.uint8)
    levelled = AnomalyModel.fit(good[:-1], params=AnomalyParams(level=0.45))
    as_shot = AnomalyModel.fit(good[:-1])  # the default: as shot
    assert as_shot.params.level is None
    same = levelled.score(shot).score
    assert levelled.score(darker).score == pytest.approx(same, rel=0.1)
    assert as_shot.score(darker).score > 1.1 * as_shot.score(shot).score


def test_the_node_decodes_training_uploads_at_the_area_a_new_model_works_at() -> None:
    """A long shot uploaded for training on the node is not reduced below what the model would
    work it at (else a node-trained model would see one tile where the CLI's sees two)."""
    assert TRAINING_PIXELS >= TILED_AREA


def test_channels_are_standardised_and_files_without_spreads_take_the_larger_raw_map() -> None:
    """New models put colour on the texture channel's scale by the good images' spread; a file
    written before (no `standardised`, no spreads) keeps taking the larger of the raw maps."""
    good = [s.image for s in generate(SKU, good=6, size=96, seed=0)]
    model = AnomalyModel.fit(good[:-1])
    assert model.params.standardised
    assert model.spreads is not None
    texture_mean, texture_spread, colour_mean, colour_spread = model.spreads
    assert texture_mean > 0
    assert texture_spread > 0
    assert colour_mean > 0
    assert colour_spread > 0
    tensors, metadata = model.state()
    again = AnomalyModel.from_state(tensors, metadata)
    assert again.score(good[-1]).score == pytest.approx(model.score(good[-1]).score, rel=1e-5)
    old = {**metadata, "params": dict(metadata["params"])}
    del old["params"]["standardised"], old["spreads"]
    legacy = AnomalyModel.from_state(tensors, old)
    assert not legacy.params.standardised
    assert legacy.spreads is None
    raw = legacy.score(good[-1])
    assert raw.score > 0
    assert raw.heatmap.shape == good[-1].shape[:2]
    # Grey images: colour is brightness alone, which the texture channels see already; the
    # model scores texture alone, and its file says so.
    assert model.params.colour_weight > 0
    grey = [cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) for image in good[:-1]]
    grey_model = AnomalyModel.fit(grey)
    assert not grey_model.params.standardised
    assert grey_model.spreads is None
    assert grey_model.params.colour_weight == 0.0
    assert grey_model.params.coreset_max > model.params.coreset_max  # a larger texture bank
    test = cv2.cvtColor(good[-1], cv2.COLOR_BGR2GRAY)
    grey_tensors, grey_metadata = grey_model.state()
    reloaded = AnomalyModel.from_state(grey_tensors, grey_metadata)
    assert reloaded.params.colour_weight == 0.0
    assert reloaded.score(test).score == pytest.approx(grey_model.score(test).score, rel=1e-5)
    for spreads in (None, [1.0, 0.0, 1.0, 1.0], [1.0, float("nan"), 1.0, 1.0]):
        with pytest.raises(ModelFileError, match="spreads"):
            AnomalyModel.from_state(tensors, {**metadata, "spreads": spreads})
