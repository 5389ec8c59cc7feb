"""Detection metrics without scikit-learn: AUROC from ranks, thresholds chosen on scores, and
per-class recall for a classifier.

Labels are 1 for defective (the positive class) and 0 for good.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MAX_PIXELS = 2_000_000


def _ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their average rank."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts = np.concatenate([[True], ordered[1:] != ordered[:-1]])
    group = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    ends = np.append(first[1:], len(values))
    average = (first + ends + 1) / 2.0  # mean of ranks first+1 .. end
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = average[group]
    return ranks


def auroc(scores: Sequence[float] | np.ndarray, labels: Sequence[int] | np.ndarray) -> float:
    """Probability that a random defective scores above a random good one, ties counting half
    (the Mann-Whitney U statistic over both counts)."""
    values = np.asarray(scores, dtype=np.float64).ravel()
    positive = np.asarray(labels).ravel().astype(bool)
    if values.shape != positive.shape:
        raise ValueError(f"{values.size} scores but {positive.size} labels")
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUROC needs both good and defective examples")
    rank_sum = float(_ranks(values)[positive].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def pixel_auroc(
    maps: Sequence[np.ndarray],
    masks: Sequence[np.ndarray | None],
    *,
    max_pixels: int = MAX_PIXELS,
    seed: int = 0,
) -> float:
    """AUROC over all pixels of all images; a missing mask means no defective pixel. Above
    `max_pixels` a seeded uniform sample is used, so results repeat."""
    scores, labels = pixel_samples(maps, masks, max_pixels=max_pixels, seed=seed)
    return auroc(scores, labels)


def pixel_samples(
    maps: Sequence[np.ndarray],
    masks: Sequence[np.ndarray | None],
    *,
    max_pixels: int = MAX_PIXELS,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel scores and labels from every image, the same share sampled from each."""
    if len(maps) != len(masks):
        raise ValueError(f"{len(maps)} maps but {len(masks)} masks")
    total = sum(m.size for m in maps)
    keep = min(1.0, max_pixels / total) if total else 1.0
    rng = np.random.default_rng(seed)
    score_parts, label_parts = [], []
    for heat, mask in zip(maps, masks, strict=True):
        if mask is not None and mask.shape[:2] != heat.shape[:2]:
            raise ValueError(f"mask of shape {mask.shape} for a map of shape {heat.shape}")
        flat = heat.ravel()
        truth = np.zeros(flat.size, dtype=bool) if mask is None else (mask.ravel() > 0)
        if keep < 1.0:
            chosen = rng.random(flat.size) < keep
            flat, truth = flat[chosen], truth[chosen]
        score_parts.append(flat.astype(np.float32))
        label_parts.append(truth)
    return np.concatenate(score_parts), np.concatenate(label_parts)


def class_recall(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, float]:
    """For every true class, the share of its items predicted as that class."""
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} labels but {len(predicted)} predictions")
    recall = {}
    for label in sorted(set(truth)):
        mine = [p for t, p in zip(truth, predicted, strict=True) if t == label]
        recall[label] = sum(p == label for p in mine) / len(mine)
    return recall


@dataclass(frozen=True)
class Rates:
    accuracy: float
    precision: float
    recall: float
    f1: float


def rates(
    scores: Sequence[float] | np.ndarray, labels: Sequence[int] | np.ndarray, threshold: float
) -> Rates:
    """How a threshold does: a score at or above it is called defective."""
    predicted = np.asarray(scores, dtype=np.float64).ravel() >= threshold
    truth = np.asarray(labels).ravel().astype(bool)
    true_pos = int((predicted & truth).sum())
    precision = true_pos / int(predicted.sum()) if predicted.any() else 1.0
    recall = true_pos / int(truth.sum()) if truth.any() else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = float((predicted == truth).mean()) if truth.size else 1.0
    return Rates(accuracy=accuracy, precision=precision, recall=recall, f1=f1)


def f1_threshold(
    scores: Sequence[float] | np.ndarray, labels: Sequence[int] | np.ndarray
) -> tuple[float, float]:
    """The threshold with the best F1, and that F1. It lies halfway between the lowest score
    called defective and the next lower one, so a little drift does not flip the nearest
    images; among equal F1s the highest threshold wins (fewer false alarms)."""
    values = np.asarray(scores, dtype=np.float64).ravel()
    truth = np.asarray(labels).ravel().astype(bool)
    if not truth.any():
        raise ValueError("an F1 threshold needs defective examples")
    order = np.argsort(-values, kind="mergesort")
    ordered, hits = values[order], truth[order]
    last_of_tie = np.append(ordered[1:] != ordered[:-1], True)
    true_pos = np.cumsum(hits)[last_of_tie]
    called = (np.flatnonzero(last_of_tie) + 1).astype(np.float64)
    f1 = 2 * true_pos / (called + truth.sum())
    best = int(np.argmax(f1))  # first maximum: the highest threshold
    cut = ordered[last_of_tie][best]
    below = ordered[ordered < cut]
    threshold = (cut + below[0]) / 2.0 if below.size else cut
    return float(threshold), float(f1[best])
