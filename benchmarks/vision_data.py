"""Inspection on a real image set in class-folder layout, beside a plain PatchCore probe on the
same split (the `--data DIR` mode of `benchmarks.vision`):

    python -m benchmarks.vision --data DIR [--limit-train 100] [--limit-test N] [--quick]
        [--threads 2]

DIR holds `train/good/`, `test/good/`, `test/<defect>/` (any number of defect folders) and,
optionally, `ground_truth/<defect>/<name>_mask.png` (MVTec AD's layout; `<name>.png` too).

The production model is trained as `yunfab vision train` trains it, from the first
`--limit-train` good training images only (its own split keeps 20 % of them to set the
threshold), and scored on every test image; images are read as the CLI reads them and handed
over at their own size, so the model prepares them as a node would. The reference beside it is
the plain probe the issue (#20) measured the model against: the frozen EfficientNet-Lite0
stages the model reads (blocks 2 and 4, the stride-4 map averaged onto the stride-8 grid), each
test patch's distance to its nearest patch among all the training images' patches (no coreset,
no colour bank, no neighbourhood pooling, no blur, border cells included), the image's score its
largest patch distance. The probe keeps the working resolution it was measured at, about 256x256
pixels with the aspect kept (`REFERENCE_AREA`), while the model's follows
`vision_ml.features.INPUT_AREA`: both are printed.

Prints per defect type and overall: image AUROC of both, pixel AUROC when masks exist, training
time and the median inference time per image (the two timed in turns on each test image, on the
same cores) and, for the model, per tile: `INPUT_AREA` pixels at its working resolution, a large
shot kept nearer its own resolution being worked as up to two tiles; the time goal is per tile.
`--quick` (under a minute) trains from 20 images and tests 10 good and 10 defective ones (defect
types in turn). Ends with one JSON line.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch.nn import functional as F

from vision_ml import features, metrics
from vision_ml.datasets import GOOD, IMAGE_SUFFIXES, DatasetError, read_image, read_mask
from vision_ml.training import Example, evaluate, train

GOALS = {"image_auroc_min": 0.90, "train_s_max": 120.0, "inference_ms_max": 20.0}
QUICK = {"train": 20, "test_good": 10, "test_defective": 10}
MASKS = "ground_truth"
REFERENCE = (
    "EfficientNet-Lite0 blocks 2+4 patches at about 256x256 pixels, nearest neighbour among all "
    "training patches, image score = largest patch distance"
)
REFERENCE_AREA = 256 * 256
_QUERY_CHUNK = 256


def _image_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES
    )


def _mask_for(root: Path, defect: str, image: Path) -> Path | None:
    """MVTec's `<name>_mask.<ext>` first, then `<name>.<ext>`."""
    folder = root / MASKS / defect
    for stem in (f"{image.stem}_mask", image.stem):
        for path in _image_files(folder):
            if path.stem == stem:
                return path
    return None


def _in_turns(files: dict[str, list[Path]], count: int) -> dict[str, list[Path]]:
    """The first `count` files taking the defect types in turn, so each type keeps some."""
    chosen: dict[str, list[Path]] = {label: [] for label in files}
    for index in range(max((len(f) for f in files.values()), default=0)):
        for label, paths in files.items():
            if sum(map(len, chosen.values())) < count and index < len(paths):
                chosen[label].append(paths[index])
    return {label: paths for label, paths in chosen.items() if paths}


def load_split(
    root: Path,
    *,
    limit_train: int,
    test_good: int | None = None,
    test_defective: int | None = None,
) -> tuple[list[np.ndarray], list[Example]]:
    """The good training images (first `limit_train` by name) and the labelled test images,
    good first, masks attached where the dataset has them."""
    train_files = _image_files(root / "train" / GOOD)[:limit_train]
    if len(train_files) < 3:
        raise DatasetError(f"{root / 'train' / GOOD} needs at least 3 good images")
    test = root / "test"
    good_files = _image_files(test / GOOD)[:test_good]
    defect_files = {
        folder.name: _image_files(folder)
        for folder in sorted(test.iterdir() if test.is_dir() else [])
        if folder.is_dir() and folder.name != GOOD and not folder.name.startswith(".")
    }
    defect_files = {label: paths for label, paths in defect_files.items() if paths}
    if test_defective is not None:
        defect_files = _in_turns(defect_files, test_defective)
    if not good_files or not defect_files:
        raise DatasetError(f"{test} needs good/ and at least one defect folder with images")
    tests = [Example(GOOD, read_image(path)) for path in good_files]
    for label, paths in defect_files.items():
        for path in paths:
            image = read_image(path)
            mask_path = _mask_for(root, label, path)
            mask = None if mask_path is None else read_mask(mask_path)
            if mask is not None and mask.shape != image.shape[:2]:
                raise DatasetError(f"mask {mask_path} does not match the size of {path}")
            tests.append(Example(label, image, mask))
    return [read_image(path) for path in train_files], tests


class NearestPatchBaseline:
    """The plain probe: every training patch kept, nearest-neighbour distance, max over cells."""

    def __init__(self, images: Sequence[np.ndarray], *, area: int = REFERENCE_AREA) -> None:
        self.area = area
        with torch.inference_mode():
            grids = [self._grid(image) for image in images]
            self.memory = torch.cat([g.reshape(-1, g.shape[-1]) for g in grids])
            self.norms = (self.memory * self.memory).sum(dim=1)

    def _grid(self, image: np.ndarray) -> torch.Tensor:
        """(grid_h, grid_w, 64): block 2 averaged 2x2 onto block 4's stride-8 grid, then block 4."""
        batch = features.prepare(image, self.area)[None]
        batch = batch.contiguous(memory_format=torch.channels_last)
        fine, coarse = features.backbone()(batch)
        stacked = torch.cat([F.avg_pool2d(fine, 2), coarse], dim=1)
        return stacked[0].permute(1, 2, 0).contiguous()

    def distances(self, image: np.ndarray) -> torch.Tensor:
        """(grid_h, grid_w): each cell's distance to its nearest training patch."""
        with torch.inference_mode():
            grid = self._grid(image)
            patches = grid.reshape(-1, grid.shape[-1])
            nearest = []
            for start in range(0, patches.shape[0], _QUERY_CHUNK):
                chunk = patches[start : start + _QUERY_CHUNK]
                squared = (chunk * chunk).sum(dim=1, keepdim=True) + self.norms[None, :]
                squared = torch.addmm(squared, chunk, self.memory.T, alpha=-2.0)
                nearest.append(squared.amin(dim=1).clamp_min_(0.0).sqrt_())
            return torch.cat(nearest).reshape(grid.shape[:2])


def _per_type(scores: np.ndarray, labels: Sequence[str], types: Sequence[str]) -> dict[str, float]:
    defective = np.array([label != GOOD for label in labels])
    found = {}
    for name in types:
        chosen = ~defective | np.array([label == name for label in labels])
        found[name] = metrics.auroc(scores[chosen], defective[chosen])
    return found


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def bench_data(
    root: Path,
    *,
    limit_train: int = 100,
    test_good: int | None = None,
    test_defective: int | None = None,
) -> dict[str, Any]:
    """Train both on the split, score every test image with both, and return the figures."""
    train_images, tests = load_split(
        root, limit_train=limit_train, test_good=test_good, test_defective=test_defective
    )
    model = train(root.name, train_images, holdout=0.2, seed=0)
    started = time.perf_counter()
    baseline = NearestPatchBaseline(train_images)
    baseline_train_s = time.perf_counter() - started

    inspections, baseline_maps = [], []
    model_ms, baseline_ms = [], []
    for item in tests:
        started = time.perf_counter()
        inspections.append(model.inspect(item.image))
        between = time.perf_counter()
        baseline_maps.append(baseline.distances(item.image))
        model_ms.append((between - started) * 1000.0)
        baseline_ms.append((time.perf_counter() - between) * 1000.0)
    report = evaluate(model, tests, inspections)

    labels = [item.label for item in tests]
    types = sorted(set(labels) - {GOOD})
    truth = np.array([label != GOOD for label in labels])
    baseline_scores = np.array([float(cells.max()) for cells in baseline_maps])
    baseline_pixel = None
    masked = [i for i, item in enumerate(tests) if item.label == GOOD or item.mask is not None]
    if any(tests[i].mask is not None for i in masked):
        maps = [
            cv2.resize(
                baseline_maps[i].numpy(),
                (tests[i].image.shape[1], tests[i].image.shape[0]),
                interpolation=cv2.INTER_LINEAR,
            )
            for i in masked
        ]
        baseline_pixel = metrics.pixel_auroc(maps, [tests[i].mask for i in masked])
    sizes = sorted({item.image.shape[:2] for item in tests} | {i.shape[:2] for i in train_images})
    working = sorted({model.anomaly.params.input_size(h, w) for h, w in sizes})
    reference_working = sorted({features.input_size(h, w, REFERENCE_AREA) for h, w in sizes})
    counts = {label: labels.count(label) for label in [GOOD, *types]}
    # A tile is INPUT_AREA pixels at the working resolution: a strip kept at its own resolution
    # costs several, and the time goal is per tile.
    tiles = statistics.median(
        max(1.0, h * w / features.INPUT_AREA)
        for h, w in (model.anomaly.params.input_size(*t.image.shape[:2]) for t in tests)
    )
    false_alarms = sum(
        i.verdict == "defective"
        for i, item in zip(inspections, tests, strict=True)
        if item.label == GOOD
    )
    model_row: dict[str, Any] = {
        "image_auroc": _rounded(report["image_auroc"]),
        "per_type_auroc": {k: round(v, 4) for k, v in report["per_class_auroc"].items()},
        "pixel_auroc": _rounded(report.get("pixel_auroc")),
        "train_s": model.metrics["timings"]["train_s"],
        "inference_ms": round(statistics.median(model_ms), 2),
        "tiles": round(tiles, 2),
        "inference_ms_per_tile": round(statistics.median(model_ms) / tiles, 2),
        "memory_bank": model.params["memory_bank"],
        "fit_images": model.params["fit_images"],
        "threshold": _rounded(model.image_threshold),
        "recall": _rounded(report.get("recall")),
        "false_alarms": f"{false_alarms}/{counts[GOOD]}",
    }
    reference_row: dict[str, Any] = {
        "name": REFERENCE,
        "image_auroc": round(metrics.auroc(baseline_scores, truth), 4),
        "per_type_auroc": {
            k: round(v, 4) for k, v in _per_type(baseline_scores, labels, types).items()
        },
        "pixel_auroc": _rounded(baseline_pixel),
        "train_s": round(baseline_train_s, 3),
        "inference_ms": round(statistics.median(baseline_ms), 2),
        "memory_bank": int(baseline.memory.shape[0]),
        "fit_images": len(train_images),
    }
    auroc = model_row["image_auroc"] or 0.0
    return {
        "benchmark": "vision",
        "data": root.name,
        "threads": torch.get_num_threads(),
        "train_images": len(train_images),
        "test_images": counts,
        "image_sizes": [f"{w}x{h}" for h, w in sizes],
        "working_resolution": [f"{w}x{h}" for h, w in working],
        "reference_working_resolution": [f"{w}x{h}" for h, w in reference_working],
        "goals": GOALS,
        "met": {
            "image_auroc": auroc >= GOALS["image_auroc_min"],
            "train_s": model_row["train_s"] <= GOALS["train_s_max"],
            "inference_ms": model_row["inference_ms_per_tile"] <= GOALS["inference_ms_max"],
            "beats_reference": auroc >= reference_row["image_auroc"],
        },
        "model": model_row,
        "reference": reference_row,
    }


def print_table(result: dict[str, Any]) -> None:
    model, reference = result["model"], result["reference"]
    counts = result["test_images"]
    print(
        f"{result['data']}: trained on {result['train_images']} good images"
        f" (model: {model['fit_images']} in the bank, the rest calibrate), tested on"
        f" {counts[GOOD]} good + {sum(counts.values()) - counts[GOOD]} defective;"
        f" images {', '.join(result['image_sizes'])}, working resolution"
        f" {', '.join(result['working_resolution'])} (reference"
        f" {', '.join(result['reference_working_resolution'])}); {result['threads']} threads"
    )
    print(f"{'':24s} {'images':>6s}  {'model':>8s}  {'reference':>9s}")

    def row(name: str, images: str, ours: Any, theirs: Any, unit: str = ".3f") -> None:
        def cell(value: Any, width: int) -> str:
            return f"{'-':>{width}s}" if value is None else f"{value:>{width}{unit}}"

        print(f"{name:24s} {images:>6s}  {cell(ours, 8)}  {cell(theirs, 9)}")

    for name, value in model["per_type_auroc"].items():
        row(f"image AUROC {name}", str(counts[name]), value, reference["per_type_auroc"][name])
    row(
        "image AUROC all", str(sum(counts.values())), model["image_auroc"], reference["image_auroc"]
    )
    row("pixel AUROC", "", model["pixel_auroc"], reference["pixel_auroc"])
    row("train s", "", model["train_s"], reference["train_s"], ".1f")
    row("inference ms/image", "", model["inference_ms"], reference["inference_ms"], ".1f")
    row("inference ms/tile", "", model["inference_ms_per_tile"], None, ".1f")
    row("memory bank patches", "", model["memory_bank"], reference["memory_bank"], "d")
    print(
        f"model at its calibrated threshold {model['threshold']}: recall {model['recall']},"
        f" false alarms {model['false_alarms']}"
    )
    print(f"reference: {REFERENCE}", flush=True)
