"""Training a SKU's inspection model on the node, and measuring it.

The anomaly model is fitted on a training split of the good images; the held-out good images (and
the defect images, when there are any) then set the thresholds, so the threshold is judged on
images the memory bank has never seen:

- with defect images, the image threshold is the F1-optimal one over the good scores (held-out
  images, and the training images each scored with its own patches left out of the memory bank)
  and the defective ones, and the pixel threshold the F1-optimal one over held-out good and
  defective pixels when masks exist;
- with good images only, the image threshold is the one-in-a-thousand upper prediction bound
  of a log-normal fitted to the held-out good scores (`GOOD_ONLY_Z`, widened by Student's t for
  their number), and never below the highest of them times `GOOD_ONLY_FLOOR`: with tens of
  images a 99th percentile is just the maximum, and the fitted tail says how far past it good
  images still reach. On four real sets (DAGM, spindle pits, AITEX fabric, solar-cell EL
  images; 20 held-out goods, 40 new good and 40 defective images each) false alarms stayed at
  0-2.5 % and recall rose from 0.05-0.65 to 0.075-0.65 (spindle pits 0.05 to 0.175) against the
  former rule (the highest score or mean + 3 sigma, times 1.1); on the generator's plastic, 10
  held-out goods, 3 of 40 new good parts were flagged. The training images' own leave-one-out
  scores do not join the fit: their patches shaped the coreset, so leaving them out leaves
  holes, and their scores run high.
  Fewer than `GOOD_ONLY_MIN_FIT` held-out images give no spread to fit: the threshold is then
  their highest score times `GOOD_ONLY_MARGIN`, and the metrics say it is a guess
  (`calibration_reliable`). Boxes use the image threshold too.

Scores are in units of the typical hottest cell of a good image (see `anomaly`), so thresholds
land near 1 whatever the SKU, and a threshold far above 1 says the good images vary a lot.

Defect images never enter the memory bank. When there are enough of them (`HEAD_MIN_DEFECTS`
in all, `HEAD_MIN_PER_CLASS` of every class) a supervised head is trained too, in a second or
two on the node's CPU: a multinomial logistic regression over each image's descriptor (the same
backbone pass as the anomaly score: the hottest cells' features, the colour extremes, the
distance maps' statistics; see `anomaly`), classes `good` and every defect class. Its good
examples are every good image, the training ones described with their own patches left out of
the memory bank so they look no more familiar than a new good part does.

How it combines with the anomaly score: a part is defective when its anomaly score reaches the
image threshold OR the head's defect probability (1 - p(good)) reaches the head's threshold,
i.e. when the combined score max(score / image threshold, p / head threshold) is at least 1;
that combined score is what the image AUROC is reported on. A defect the memory bank sees is
caught as before, and a kind the head was shown is caught even when it hides in the texture
(dents and stains on fabric). The defect class is the head's most likely defect class.

The head is judged honestly: stratified k-fold (`HEAD_FOLDS`, fewer when a class is small) over
all of its images gives every image a probability from a head that never saw it; accuracy,
per-class recall, the combined AUROC and the head's threshold (the F1-optimal one for the
images the anomaly threshold lets through) come from those out-of-fold probabilities, and the
head that ships is then fitted on everything.
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch.nn import functional as F

from vision_ml import metrics
from vision_ml.anomaly import (
    DESCRIPTOR_DIM,
    AnomalyModel,
    AnomalyParams,
    Inspection,
    ModelFileError,
    read_model_file,
    write_model_file,
)
from vision_ml.datasets import GOOD, split
from vision_ml.progress import Progress, TrainingStage
from yunfab.errors import InvalidInput

GOOD_ONLY_Z = 3.09  # the standard normal's 99.9th percentile
GOOD_ONLY_FLOOR = 1.02
GOOD_ONLY_MIN_FIT = 5
GOOD_ONLY_MARGIN = 1.1
MIN_GOOD_IMAGES = 3  # two to fit (leave-one-out scales), one to calibrate
HEAD_MIN_DEFECTS = 4
HEAD_MIN_PER_CLASS = 2  # one to train on and one to judge by, in every fold
HEAD_FOLDS = 5
HEAD_L2 = 1e-2  # on standardised descriptors: tens of examples, 80 numbers each
HEAD_ITERATIONS = 100
HEAD_MIN_THRESHOLD = 0.5
DEFECTIVE, GOOD_VERDICT = "defective", "good"


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
class DefectHead:
    """Multinomial logistic regression over image descriptors; `classes[0]` is `good`."""

    classes: tuple[str, ...]
    mean: torch.Tensor  # (DESCRIPTOR_DIM,) float32, for standardising
    std: torch.Tensor
    weight: torch.Tensor  # (classes, DESCRIPTOR_DIM)
    bias: torch.Tensor  # (classes,)
    threshold: float = 0.5  # on the defect probability; above 1 the head never decides alone

    @classmethod
    def fit(
        cls,
        descriptors: torch.Tensor,
        labels: Sequence[str],
        *,
        l2: float = HEAD_L2,
        iterations: int = HEAD_ITERATIONS,
    ) -> DefectHead:
        """Classes weighted to count equally: good images usually outnumber every defect."""
        classes = (GOOD, *sorted(set(labels) - {GOOD}))
        index = {label: i for i, label in enumerate(classes)}
        target = torch.tensor([index[label] for label in labels])
        x = descriptors.double()
        mean = x.mean(dim=0)
        std = x.std(dim=0, unbiased=False)
        std = std.clamp_min(1e-6 + 1e-3 * float(std.mean()))
        z = (x - mean) / std
        counts = torch.bincount(target, minlength=len(classes)).double()
        balance = counts.sum() / (len(classes) * counts.clamp_min(1.0))
        weight = torch.zeros(len(classes), x.shape[1], dtype=torch.float64, requires_grad=True)
        bias = torch.zeros(len(classes), dtype=torch.float64, requires_grad=True)
        optimiser = torch.optim.LBFGS(
            [weight, bias], max_iter=iterations, line_search_fn="strong_wolfe"
        )

        def closure() -> torch.Tensor:
            optimiser.zero_grad()
            logits = torch.addmm(bias, z, weight.T)
            loss = F.cross_entropy(logits, target, weight=balance) + l2 * (weight * weight).sum()
            loss.backward()  # type: ignore[no-untyped-call]
            return loss

        with torch.enable_grad():
            optimiser.step(closure)  # type: ignore[no-untyped-call]
        return cls(
            classes=classes,
            mean=mean.float(),
            std=std.float(),
            weight=weight.detach().float(),
            bias=bias.detach().float(),
        )

    def probabilities(self, descriptors: torch.Tensor) -> torch.Tensor:
        """(images, classes) from (images, DESCRIPTOR_DIM)."""
        z = (descriptors.float() - self.mean) / self.std
        return torch.softmax(torch.addmm(self.bias, z, self.weight.T), dim=1)

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors = {
            "head.mean": self.mean.contiguous(),
            "head.std": self.std.contiguous(),
            "head.weight": self.weight.contiguous(),
            "head.bias": self.bias.contiguous(),
        }
        return tensors, {"classes": list(self.classes), "threshold": self.threshold}

    @classmethod
    def from_state(cls, tensors: dict[str, torch.Tensor], metadata: dict[str, Any]) -> DefectHead:
        try:
            head = cls(
                classes=tuple(str(c) for c in metadata["classes"]),
                mean=tensors["head.mean"].float(),
                std=tensors["head.std"].float(),
                weight=tensors["head.weight"].float(),
                bias=tensors["head.bias"].float(),
                threshold=float(metadata["threshold"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"incomplete supervised head: {exc}") from exc
        classes = len(head.classes)
        if (
            classes < 2
            or head.classes[0] != GOOD
            or head.weight.shape != (classes, DESCRIPTOR_DIM)
            or head.bias.shape != (classes,)
            or head.mean.shape != (DESCRIPTOR_DIM,)
            or head.std.shape != (DESCRIPTOR_DIM,)
        ):
            raise ModelFileError("supervised head does not fit this version's descriptors")
        return head


def _combined(
    score: float, defect_probability: float, image_threshold: float | None, head_threshold: float
) -> float:
    """Defective at 1 and above: the anomaly score OR the head's defect probability reached
    its threshold."""
    by_head = defect_probability / max(head_threshold, 1e-9)
    if image_threshold is None:
        return by_head
    return max(score / max(image_threshold, 1e-9), by_head)


@dataclass
class TrainedModel:
    """A SKU's inspection model with how it was made and how well it did when calibrated."""

    sku: str
    anomaly: AnomalyModel
    metrics: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    version: str = ""
    created_at: str = ""
    head: DefectHead | None = None

    @property
    def image_threshold(self) -> float | None:
        return self.anomaly.image_threshold

    def inspect(self, image: np.ndarray) -> Inspection:
        """The anomaly model's inspection, with the supervised head's verdict and class folded
        in when there is a head (see the module's docstring)."""
        started = time.perf_counter()
        inspection, descriptor = self.anomaly.analyse(image)
        if self.head is None:
            return inspection
        probabilities = self.head.probabilities(descriptor[None])[0].tolist()
        combined = _combined(
            inspection.score, 1.0 - probabilities[0], self.image_threshold, self.head.threshold
        )
        verdict = DEFECTIVE if combined >= 1.0 else GOOD_VERDICT
        defect_class = None
        if verdict == DEFECTIVE:
            best = max(range(1, len(probabilities)), key=probabilities.__getitem__)
            defect_class = self.head.classes[best]
        return replace(
            inspection,
            verdict=verdict,
            defect_class=defect_class,
            class_probabilities=dict(zip(self.head.classes, probabilities, strict=True)),
            combined_score=combined,
            elapsed_ms=(time.perf_counter() - started) * 1000.0,
        )

    def digest(self) -> str:
        """The version recomputed from what decides verdicts: a file's stored `version` is only
        what its writer claims (a node registering a pushed file records this one)."""
        return _version(self.anomaly, self.head)

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
        if self.head is None:
            write_model_file(path, "inspection", tensors, metadata)
            return
        head_tensors, metadata["head"] = self.head.state()
        write_model_file(path, "inspection", tensors | head_tensors, metadata, version=2)

    @classmethod
    def load(cls, path: Path) -> TrainedModel:
        tensors, metadata = read_model_file(path)
        if not isinstance(metadata.get("sku"), str) or "anomaly" not in metadata:
            raise ModelFileError(f"{path} holds no inspection model")
        head = None
        if metadata.get("head") is not None:
            head = DefectHead.from_state(tensors, metadata["head"])
        return cls(
            sku=metadata["sku"],
            anomaly=AnomalyModel.from_state(tensors, metadata["anomaly"]),
            metrics=dict(metadata.get("metrics") or {}),
            params=dict(metadata.get("params") or {}),
            version=str(metadata.get("version", "")),
            created_at=str(metadata.get("created_at", "")),
            head=head,
        )


def _version(model: AnomalyModel, head: DefectHead | None = None) -> str:
    """A digest of what decides verdicts (banks, scales, thresholds, parameters, the head):
    retraining on the same images with the same settings gives the same version."""
    tensors, metadata = model.state()
    if head is not None:
        head_tensors, metadata["head"] = head.state()
        tensors = tensors | head_tensors
    digest = hashlib.sha256(json.dumps(metadata, sort_keys=True).encode())
    for name in sorted(tensors):
        digest.update(tensors[name].numpy().tobytes())
    return digest.hexdigest()[:12]


def _student_t(z: float, dof: int) -> float:
    """Student's t quantile at the standard normal's quantile `z` (Cornish-Fisher, four terms;
    at z = 3.09 within 0.01 of the exact value from 9 degrees of freedom, 0.25 low at 4)."""
    z2 = z * z
    return z + sum(
        term / float(dof) ** power
        for power, term in (
            (1, (z2 + 1) * z / 4),
            (2, ((5 * z2 + 16) * z2 + 3) * z / 96),
            (3, (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384),
        )
    )


def _good_only_threshold(scores: Sequence[float]) -> float:
    """The upper prediction bound of a log-normal for one more good image: a few held-out
    scores pin the spread loosely, so the bound widens as they get fewer."""
    count = len(scores)
    if count < GOOD_ONLY_MIN_FIT:
        return max(scores) * GOOD_ONLY_MARGIN
    logs = np.log(np.maximum(np.asarray(scores, dtype=np.float64), 1e-6))
    reach = _student_t(GOOD_ONLY_Z, count - 1) * math.sqrt(1 + 1 / count)
    tail = float(np.exp(logs.mean() + reach * logs.std(ddof=1)))
    return max(tail, max(scores) * GOOD_ONLY_FLOOR)


def _timings(inspections: Sequence[Inspection]) -> dict[str, float]:
    elapsed = np.array([i.elapsed_ms for i in inspections], dtype=np.float64)
    return {
        "inference_ms_mean": round(float(elapsed.mean()), 3),
        "inference_ms_p50": round(float(np.percentile(elapsed, 50)), 3),
        "inference_ms_p95": round(float(np.percentile(elapsed, 95)), 3),
    }


def _head_skipped(defects: Sequence[Labelled]) -> str | None:
    """Why no supervised head can be trained on these defect images, or None."""
    if not defects:
        return "no labelled defect images"
    counts: dict[str, int] = {}
    for item in defects:
        counts[item.label] = counts.get(item.label, 0) + 1
    if len(defects) < HEAD_MIN_DEFECTS:
        return f"{len(defects)} defect images; a supervised head needs at least {HEAD_MIN_DEFECTS}"
    small = sorted(label for label, count in counts.items() if count < HEAD_MIN_PER_CLASS)
    if small:
        return f"defect classes {', '.join(small)} have fewer than {HEAD_MIN_PER_CLASS} images each"
    return None


def _folds(labels: Sequence[str], folds: int, seed: int) -> np.ndarray:
    """A fold number per item, every label spread evenly over the folds."""
    rng = np.random.default_rng(seed)
    assigned = np.empty(len(labels), dtype=np.int64)
    for label in sorted(set(labels)):
        indices = np.flatnonzero(np.array([item == label for item in labels]))
        order = rng.permutation(len(indices))
        assigned[indices[order]] = np.arange(len(indices)) % folds
    return assigned


def _train_head(
    descriptors: torch.Tensor,
    labels: Sequence[str],
    scores: np.ndarray,
    image_threshold: float,
    seed: int,
) -> tuple[DefectHead, dict[str, Any], dict[str, Any]]:
    """The head fitted on everything, its out-of-fold metrics, and what it was fitted with."""
    started = time.perf_counter()
    counts = {label: labels.count(label) for label in sorted(set(labels))}
    folds = min(HEAD_FOLDS, min(count for label, count in counts.items() if label != GOOD))
    assigned = _folds(labels, folds, seed)
    classes = (GOOD, *sorted(set(labels) - {GOOD}))
    probabilities = torch.empty(len(labels), len(classes))
    for fold in range(folds):
        training = torch.from_numpy(assigned != fold)
        head = DefectHead.fit(
            descriptors[training], [lb for lb, t in zip(labels, training, strict=True) if t]
        )
        probabilities[~training] = head.probabilities(descriptors[~training])
    defect_probability = (1.0 - probabilities[:, 0]).numpy().astype(np.float64)
    truth = np.array([label != GOOD for label in labels])
    # Images the anomaly threshold already calls defective stay so whatever the head says; its
    # threshold is the F1-optimal one over the rest.
    # It is never below 1/2: the head alone calls a part defective only when it finds a defect
    # more likely than not. Above 1 it never does, and only ranks (the combined score).
    flagged = scores >= image_threshold
    head_threshold, _ = metrics.f1_threshold(np.where(flagged, 2.0, defect_probability), truth)
    head_threshold = max(head_threshold, HEAD_MIN_THRESHOLD)
    combined = np.array(
        [
            _combined(float(a), float(p), image_threshold, head_threshold)
            for a, p in zip(scores, defect_probability, strict=True)
        ]
    )
    predicted = [classes[i] for i in probabilities.argmax(dim=1).tolist()]
    result: dict[str, Any] = {
        "evaluation": f"{folds}-fold out-of-fold",
        "images": counts,
        "accuracy": float(np.mean([p == t for p, t in zip(predicted, labels, strict=True)])),
        "per_class_recall": metrics.class_recall(labels, predicted),
        "head_image_auroc": metrics.auroc(defect_probability, truth),
        "image_auroc": metrics.auroc(combined, truth),
        "head_threshold": head_threshold,
        **asdict(metrics.rates(combined, truth, 1.0)),
    }
    final = DefectHead.fit(descriptors, labels)
    final.threshold = head_threshold
    result["train_s"] = round(time.perf_counter() - started, 3)
    params = {
        "kind": "multinomial logistic regression",
        "classes": list(classes),
        "descriptor_dim": DESCRIPTOR_DIM,
        "l2": HEAD_L2,
        "iterations": HEAD_ITERATIONS,
        "folds": folds,
        "examples": len(labels),
    }
    return final, result, params


def train(
    sku: str,
    good_images: Sequence[np.ndarray],
    defect_images: Sequence[Labelled] | None = None,
    *,
    holdout: float = 0.2,
    seed: int = 0,
    anomaly_params: AnomalyParams | None = None,
    progress: Progress | None = None,
) -> TrainedModel:
    """Fit on good images, calibrate on held-out ones (and defects), train a supervised head
    when there are enough labelled defects, and record how it went. `progress` hears of each
    step (fitting as one, calibration image by image)."""
    told: Progress = progress or (lambda stage, done, total: None)
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
    skipped = _head_skipped(defects)
    started = time.perf_counter()
    fitting, calibrating_on = split(
        [Example(GOOD, image) for image in good_images], holdout=holdout, seed=seed
    )
    told(TrainingStage.FITTING, 0, len(fitting))
    model, left_out = AnomalyModel.fit_with_descriptors(
        [item.image for item in fitting],
        params=anomaly_params,
        seed=seed,
        describe=bool(defects),
    )
    fit_s = time.perf_counter() - started

    calibrating = time.perf_counter()
    told(TrainingStage.FITTING, len(fitting), len(fitting))
    to_score = len(calibrating_on) + len(defects)

    def analysed(index: int, image: np.ndarray) -> Any:
        found = model.analyse(image)
        told(TrainingStage.CALIBRATING, index + 1, to_score)
        return found

    held_analysed = [analysed(i, item.image) for i, item in enumerate(calibrating_on)]
    flawed_analysed = [
        analysed(len(calibrating_on) + i, item.image) for i, item in enumerate(defects)
    ]
    held = [inspection for inspection, _ in held_analysed]
    flawed = [inspection for inspection, _ in flawed_analysed]
    good_scores = [i.score for i in held]
    result: dict[str, Any] = {
        "heldout_good_score_mean": statistics.fmean(good_scores),
        "heldout_good_score_max": max(good_scores),
    }
    if defects:
        # The training images scored without their own patches count as good too: a few
        # held-out good images against many defects would make F1 call everything defective.
        goods = [score for score, _ in left_out] + good_scores
        scores = goods + [i.score for i in flawed]
        labels = [0] * len(goods) + [1] * len(flawed)
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
        result["calibration_reliable"] = len(good_scores) >= GOOD_ONLY_MIN_FIT
    model = model.with_thresholds(image_threshold, pixel_threshold)
    result["image_threshold"] = image_threshold
    result["pixel_threshold"] = pixel_threshold
    calibrate_s = time.perf_counter() - calibrating

    head: DefectHead | None = None
    head_params: dict[str, Any] | None = None
    if skipped is None:
        examples = left_out + [(i.score, d) for i, d in held_analysed + flawed_analysed]
        head_labels = [GOOD] * (len(left_out) + len(held)) + [item.label for item in defects]
        head, result["supervised"], head_params = _train_head(
            torch.stack([descriptor for _, descriptor in examples]),
            head_labels,
            np.array([score for score, _ in examples]),
            image_threshold,
            seed,
        )
    else:
        result["supervised"] = {"skipped": skipped}
    result["timings"] = {
        "fit_s": round(fit_s, 3),
        "calibrate_s": round(calibrate_s, 3),
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
        "supervised_head": head_params,
    }
    return TrainedModel(
        sku=sku,
        anomaly=model,
        metrics=result,
        params=params,
        version=_version(model, head),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        head=head,
    )


def _per_class_auroc(
    scores: np.ndarray, items: Sequence[Labelled], classes: Sequence[str]
) -> dict[str, float]:
    labels = np.array([item.label != GOOD for item in items])
    found = {}
    for label in classes:
        chosen = ~labels | np.array([item.label == label for item in items])
        found[label] = metrics.auroc(scores[chosen], labels[chosen])
    return found


def evaluate(
    model: TrainedModel | AnomalyModel,
    items: Sequence[Labelled],
    inspections: Sequence[Inspection] | None = None,
) -> dict[str, Any]:
    """Image AUROC overall and per defect class, pixel AUROC when masks exist, and how the
    calibrated threshold does, on labelled images the model was not trained on. With a
    supervised head these are the combined model's (its combined score and verdicts), the
    anomaly score's own AUROCs are reported beside them, and so is how often the predicted
    class (good or a defect class) is right. `inspections`, one per item, are the model's
    own when the caller already ran it (to show progress, or each image's verdict)."""
    anomaly = model.anomaly if isinstance(model, TrainedModel) else model
    head = model.head if isinstance(model, TrainedModel) else None
    if not items:
        raise InvalidInput("nothing to evaluate")
    if inspections is not None:
        if len(inspections) != len(items):
            raise ValueError("one inspection per item")
    elif isinstance(model, TrainedModel):
        inspections = [model.inspect(item.image) for item in items]
    else:
        inspections = [anomaly.score(item.image) for item in items]
    anomaly_scores = np.array([i.score for i in inspections])
    scores = anomaly_scores
    if head is not None:
        scores = np.array([i.combined_score for i in inspections], dtype=np.float64)
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
    if head is not None:
        result["head_threshold"] = head.threshold
        result["anomaly_image_auroc"] = None
        result["anomaly_per_class_auroc"] = {}
    if labels.any() and not labels.all():
        result["image_auroc"] = metrics.auroc(scores, labels)
        result["per_class_auroc"] = _per_class_auroc(scores, items, classes)
        if head is not None:
            result["anomaly_image_auroc"] = metrics.auroc(anomaly_scores, labels)
            result["anomaly_per_class_auroc"] = _per_class_auroc(anomaly_scores, items, classes)
    masked = [item.mask is not None for item in items]
    if any(m for m, item in zip(masked, items, strict=True) if item.label != GOOD):
        chosen_idx = [i for i, item in enumerate(items) if item.label == GOOD or masked[i]]
        maps = [inspections[i].heatmap for i in chosen_idx]
        masks = [items[i].mask for i in chosen_idx]
        try:
            result["pixel_auroc"] = metrics.pixel_auroc(maps, masks)
        except ValueError:  # every masked pixel good, or every one defective
            result["pixel_auroc"] = None
    if head is not None:
        called = np.array([i.verdict == DEFECTIVE for i in inspections])
        result |= asdict(metrics.rates(called.astype(np.float64), labels, 0.5))
        known = [i for i, item in enumerate(items) if item.label in head.classes]
        if known:
            predicted = [inspections[i].defect_class or GOOD for i in known]
            truth = [items[i].label for i in known]
            result["class_accuracy"] = float(
                np.mean([p == t for p, t in zip(predicted, truth, strict=True)])
            )
            result["per_class_recall"] = metrics.class_recall(truth, predicted)
    elif anomaly.image_threshold is not None:
        result |= asdict(metrics.rates(scores, labels, anomaly.image_threshold))
    result["timings"] = _timings(inspections)
    return result
