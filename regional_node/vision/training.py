"""Training a SKU's inspection model on the node, and measuring it.

The anomaly model is fitted on a training split of the good images; the held-out good images (and
the defect images, when there are any) then set the thresholds, so the threshold is judged on
images the memory bank has never seen:

- with defect images, the image threshold is the F1-optimal one over held-out good and defective
  scores, and the pixel threshold the F1-optimal one over their pixels when masks exist;
- with good images only, the image threshold is the highest held-out good score, or the mean plus
  three standard deviations when that is higher, times `GOOD_ONLY_MARGIN`: with tens of images a
  99th percentile is just the maximum, and good images seen later vary a little more than the
  held-out few. Boxes then use the image threshold too.

Scores are in units of the typical hottest cell of a good image (see `anomaly`), so thresholds
land near 1 whatever the SKU, and a threshold far above 1 says the good images vary a lot.

Defect images only calibrate: they never enter the memory bank. A supervised head over defect
images is not part of this version.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from regional_node.vision import metrics
from regional_node.vision.anomaly import (
    AnomalyModel,
    AnomalyParams,
    Inspection,
    ModelFileError,
    read_model_file,
    write_model_file,
)
from regional_node.vision.datasets import GOOD, split
from yunfab.errors import InvalidInput

GOOD_ONLY_MARGIN = 1.1
MIN_GOOD_IMAGES = 3  # two to fit (leave-one-out scales), one to calibrate


class Labelled(Protocol):
    """An image with its class (`good` or a defect class) and, optionally, a defect mask."""

    @property
    def label(self) -> str: ...
    @property
    def image(self) -> np.ndarray: ...
    @property
    def mask(self) -> np.ndarray | None: ...


@dataclass(frozen=True)
class Example:
    label: str
    image: np.ndarray
    mask: np.ndarray | None = None


@dataclass
class TrainedModel:
    """A SKU's inspection model with how it was made and how well it did when calibrated."""

    sku: str
    anomaly: AnomalyModel
    metrics: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    version: str = ""
    created_at: str = ""

    @property
    def image_threshold(self) -> float | None:
        return self.anomaly.image_threshold

    def inspect(self, image: np.ndarray) -> Inspection:
        return self.anomaly.score(image)

    def save(self, path: Path) -> None:
        tensors, anomaly = self.anomaly.state()
        metadata = {
            "sku": self.sku,
            "version": self.version,
            "created_at": self.created_at,
            "metrics": self.metrics,
            "params": self.params,
            "anomaly": anomaly,
        }
        write_model_file(path, "inspection", tensors, metadata)

    @classmethod
    def load(cls, path: Path) -> TrainedModel:
        tensors, metadata = read_model_file(path)
        if not isinstance(metadata.get("sku"), str) or "anomaly" not in metadata:
            raise ModelFileError(f"{path} holds no inspection model")
        return cls(
            sku=metadata["sku"],
            anomaly=AnomalyModel.from_state(tensors, metadata["anomaly"]),
            metrics=dict(metadata.get("metrics") or {}),
            params=dict(metadata.get("params") or {}),
            version=str(metadata.get("version", "")),
            created_at=str(metadata.get("created_at", "")),
        )


def _version(model: AnomalyModel) -> str:
    """A digest of what decides verdicts (banks, scales, thresholds, parameters): retraining on
    the same images with the same settings gives the same version."""
    tensors, metadata = model.state()
    digest = hashlib.sha256(json.dumps(metadata, sort_keys=True).encode())
    for name in sorted(tensors):
        digest.update(tensors[name].numpy().tobytes())
    return digest.hexdigest()[:12]


def _good_only_threshold(scores: Sequence[float]) -> float:
    spread = statistics.pstdev(scores) if len(scores) > 1 else 0.0
    return max(max(scores), statistics.fmean(scores) + 3.0 * spread) * GOOD_ONLY_MARGIN


def _timings(inspections: Sequence[Inspection]) -> dict[str, float]:
    elapsed = np.array([i.elapsed_ms for i in inspections], dtype=np.float64)
    return {
        "inference_ms_mean": round(float(elapsed.mean()), 3),
        "inference_ms_p50": round(float(np.percentile(elapsed, 50)), 3),
        "inference_ms_p95": round(float(np.percentile(elapsed, 95)), 3),
    }


def train(
    sku: str,
    good_images: Sequence[np.ndarray],
    defect_images: Sequence[Labelled] | None = None,
    *,
    holdout: float = 0.2,
    seed: int = 0,
    anomaly_params: AnomalyParams | None = None,
) -> TrainedModel:
    """Fit on good images, calibrate on held-out ones (and defects), and record how it went."""
    if not sku.strip():
        raise InvalidInput("a SKU name is required")
    if len(good_images) < MIN_GOOD_IMAGES:
        raise InvalidInput(
            f"training needs at least {MIN_GOOD_IMAGES} good images, got {len(good_images)}"
        )
    if not 0.0 < holdout < 1.0:
        raise InvalidInput(f"holdout must lie between 0 and 1, got {holdout}")
    defects = list(defect_images or [])
    if any(item.label == GOOD for item in defects):
        raise InvalidInput(f"defect images may not be labelled {GOOD!r}")
    started = time.perf_counter()
    fitting, calibrating_on = split(
        [Example(GOOD, image) for image in good_images], holdout=holdout, seed=seed
    )
    model = AnomalyModel.fit([item.image for item in fitting], params=anomaly_params, seed=seed)
    fit_s = time.perf_counter() - started

    calibrating = time.perf_counter()
    held = [model.score(item.image) for item in calibrating_on]
    flawed = [model.score(item.image) for item in defects]
    good_scores = [i.score for i in held]
    result: dict[str, Any] = {
        "heldout_good_score_mean": statistics.fmean(good_scores),
        "heldout_good_score_max": max(good_scores),
    }
    if defects:
        scores = good_scores + [i.score for i in flawed]
        labels = [0] * len(held) + [1] * len(flawed)
        image_threshold, _ = metrics.f1_threshold(scores, labels)
        result["calibration"] = "f1"
        result["image_auroc"] = metrics.auroc(scores, labels)
        result |= asdict(metrics.rates(scores, labels, image_threshold))
        masked = [
            (ins, item) for ins, item in zip(flawed, defects, strict=True) if item.mask is not None
        ]
        pixel_threshold: float | None = None
        if masked:
            maps = [i.heatmap for i in held] + [ins.heatmap for ins, _ in masked]
            masks = [None] * len(held) + [item.mask for _, item in masked]
            pixel_scores, pixel_labels = metrics.pixel_samples(maps, masks, max_pixels=200_000)
            if pixel_labels.any():
                pixel_threshold, _ = metrics.f1_threshold(pixel_scores, pixel_labels)
                result["pixel_auroc"] = metrics.auroc(pixel_scores, pixel_labels)
    else:
        image_threshold = _good_only_threshold(good_scores)
        pixel_threshold = None
        result["calibration"] = "good-only"
    model = model.with_thresholds(image_threshold, pixel_threshold)
    result["image_threshold"] = image_threshold
    result["pixel_threshold"] = pixel_threshold
    result["timings"] = {
        "fit_s": round(fit_s, 3),
        "calibrate_s": round(time.perf_counter() - calibrating, 3),
        "train_s": round(time.perf_counter() - started, 3),
        **_timings(held + flawed),
    }
    params = {
        **asdict(model.params),
        "holdout": holdout,
        "seed": seed,
        "good_images": len(good_images),
        "fit_images": len(fitting),
        "heldout_images": len(held),
        "defect_images": len(defects),
        "memory_bank": model.bank_size,
        "torch_threads": torch.get_num_threads(),
    }
    return TrainedModel(
        sku=sku,
        anomaly=model,
        metrics=result,
        params=params,
        version=_version(model),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def evaluate(model: TrainedModel | AnomalyModel, items: Sequence[Labelled]) -> dict[str, Any]:
    """Image AUROC overall and per defect class, pixel AUROC when masks exist, and how the
    calibrated threshold does, on labelled images the model was not trained on."""
    anomaly = model.anomaly if isinstance(model, TrainedModel) else model
    if not items:
        raise InvalidInput("nothing to evaluate")
    inspections = [anomaly.score(item.image) for item in items]
    scores = np.array([i.score for i in inspections])
    labels = np.array([item.label != GOOD for item in items])
    classes = sorted({item.label for item in items} - {GOOD})
    counts = {label: sum(item.label == label for item in items) for label in [GOOD, *classes]}
    result: dict[str, Any] = {
        "images": len(items),
        "counts": counts,
        "threshold": anomaly.image_threshold,
        "image_auroc": None,
        "per_class_auroc": {},
    }
    if labels.any() and not labels.all():
        result["image_auroc"] = metrics.auroc(scores, labels)
        is_good = ~labels
        for label in classes:
            chosen = is_good | np.array([item.label == label for item in items])
            result["per_class_auroc"][label] = metrics.auroc(scores[chosen], labels[chosen])
    masked = [item.mask is not None for item in items]
    if any(m for m, item in zip(masked, items, strict=True) if item.label != GOOD):
        chosen_idx = [i for i, item in enumerate(items) if item.label == GOOD or masked[i]]
        maps = [inspections[i].heatmap for i in chosen_idx]
        masks = [items[i].mask for i in chosen_idx]
        try:
            result["pixel_auroc"] = metrics.pixel_auroc(maps, masks)
        except ValueError:  # every masked pixel good, or every one defective
            result["pixel_auroc"] = None
    if anomaly.image_threshold is not None:
        result |= asdict(metrics.rates(scores, labels, anomaly.image_threshold))
    result["timings"] = _timings(inspections)
    return result
