"""A federated run's global model (#7, `global.npz`) as a supervised head of a factory's own
inspection model (#6).

The federated model is a binary logistic regression over the same 80 descriptors a #6 model
computes for every image: the descriptors of each SKU come from that SKU's own anomaly model
fitted on the node's good images, which is exactly how the federation described the images it
trained on. So the head combines honestly with a factory's own anomaly model for the SKU, as the
supervised head of a new model version: a two-class `DefectHead` (`good`, `defective`) whose
softmax equals the logistic's sigmoid (the good class scores 0), standardised with the global
moments the federation fitted. Its threshold is 1/2, as #6's head never goes below: it was not
calibrated on this factory's images, and the model's metrics say so.
"""

from __future__ import annotations

import io
import zipfile

import numpy as np
import torch

from federated_learning import model as federated
from vision_ml.anomaly import DESCRIPTOR_DIM
from vision_ml.datasets import GOOD
from vision_ml.training import HEAD_MIN_THRESHOLD, DefectHead

DEFECTIVE_CLASS = "defective"


class HeadUnusable(ValueError):
    """The artifact is not a fitted federated head this node can run."""


def load_weights(data: bytes) -> list[np.ndarray]:
    """The five arrays of a `global.npz` (`federated.PARTS`), in order."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as stored:
            arrays = [np.asarray(stored[f"arr_{i}"]) for i in range(len(federated.PARTS))]
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise HeadUnusable(f"not a federated global.npz: {exc}") from exc
    if federated.DIM != DESCRIPTOR_DIM:
        raise HeadUnusable("the federated head's descriptors are not this node's")
    try:
        federated.predict(arrays, np.zeros((1, federated.DIM)))
    except ValueError as exc:
        raise HeadUnusable(str(exc)) from exc
    if not all(np.isfinite(a).all() for a in arrays):
        raise HeadUnusable("the federated head holds non-finite numbers")
    if arrays[4][0] < 0.5:
        raise HeadUnusable("the federated head was never fitted (its moments are unset)")
    return arrays


def as_defect_head(weights: list[np.ndarray]) -> DefectHead:
    """The logistic head as #6's two-class head; checked against the federated model's own
    predictions on random descriptors, so a drift between the two definitions is refused."""
    mean, second, coef, intercept, _ = (np.asarray(w, dtype=np.float64) for w in weights)
    std = np.sqrt(np.maximum(second - mean * mean, 0.0))
    std = np.maximum(std, 1e-6 + 1e-3 * float(std.mean()))
    head = DefectHead(
        classes=(GOOD, DEFECTIVE_CLASS),
        mean=torch.from_numpy(mean).float(),
        std=torch.from_numpy(std).float(),
        weight=torch.from_numpy(np.stack([np.zeros_like(coef), coef])).float(),
        bias=torch.tensor([0.0, float(intercept[0])], dtype=torch.float32),
        threshold=HEAD_MIN_THRESHOLD,
    )
    probe = np.random.default_rng(0).normal(mean, std, size=(16, federated.DIM))
    expected = federated.predict(weights, probe)
    got = head.probabilities(torch.from_numpy(probe).float())[:, 1].double().numpy()
    if not np.allclose(got, expected, atol=1e-3):
        raise HeadUnusable("the federated head does not convert to this node's head")
    return head
