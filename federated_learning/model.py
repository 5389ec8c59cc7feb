"""The model that nodes train together (issue #7): a binary defect detector head over #6's
per-image descriptors, trained by FedAvg or FedProx so that factory images never leave a node.

What stays on a node: its images, each SKU's anomaly model (fitted on part of that SKU's good
images, see `vision_ml.anomaly`) and the descriptors it computes. What travels: the
head's arrays below and numeric metrics, nothing per image.

The head is a logistic regression on standardised descriptors. Descriptors mix backbone feature
differences, log colour and log distance statistics, so gradient descent needs them on a common
scale; scaling each node by its own statistics would make the nodes' coefficients mean different
things, and averaging them would be meaningless. So the standardisation is part of the federated
model and is fitted federatedly, exactly:

- `weights` is `[mean, second_moment, coef, intercept, fitted]` (`PARTS`): the descriptors'
  per-feature mean and mean square, the head's coefficients on standardised descriptors, its
  intercept, and a flag that is 0 until the moments are set.
- In the first round (flag 0, as `initial_weights` gives) `local_train` returns the node's
  moments over its training descriptors and leaves the head alone. The example-weighted mean that
  `fedavg` takes of them is then the pooled data's mean and mean square exactly: moments are
  aggregate statistics, sent like any FedAvg update, and the scale is sqrt(E[x^2] - E[x]^2).
- From then on (flag 1) every node standardises with the same global moments and `local_train`
  only moves `coef` and `intercept`; the moments and flag come back unchanged, so their
  example-weighted mean leaves them as they were.

So `fedavg` treats every array alike (an example-weighted mean), and that is right for each of
them. A federation runs one statistics round before its training rounds: `rounds` training
rounds take `rounds + STATISTICS_ROUNDS` server rounds.

This module imports numpy only (and a numpy-only metrics module); `prepare` imports the backbone
and OpenCV when it runs, because Flower starts a process per message and a ClientApp must load
fast. `prepare` caches the descriptors next to the images, so only a node's first message pays
for the backbone.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vision_ml.metrics import auroc

if TYPE_CHECKING:
    from vision_ml.datasets import LabelledImage

log = logging.getLogger(__name__)

DIM = 80
"""Descriptor length: `vision_ml.anomaly.DESCRIPTOR_DIM` (a test keeps them equal;
written out so that importing this module does not import torch)."""
PARTS = ("mean", "second_moment", "coef", "intercept", "fitted")
FIXED_AFTER_STATISTICS = tuple(PARTS.index(p) for p in ("mean", "second_moment", "fitted"))
"""Arrays no training round changes: a server that adds noise to the whole update (DP) must
put them back as they were."""
STATISTICS_ROUNDS = 1
FIT_SHARE = 0.5
"""Share of a SKU's good images its anomaly model is fitted on; the head sees those images as
the model's leave-one-out descriptors (training only) and the other images as they are."""
MIN_GOOD = 3  # two to fit an anomaly model (leave-one-out scales), one to describe as unseen
CACHE_DIR = ".yunfab-fl"
CACHE_VERSION = 1  # bump when what `prepare` computes changes
L2 = 1e-2  # on standardised descriptors, as #6's head: nodes are nearly separable alone


@dataclass(frozen=True, eq=False)
class NodeData:
    """A node's descriptors with labels (1 = defective), split into training and test sets."""

    train_x: np.ndarray  # (n, DIM) float32
    train_y: np.ndarray  # (n,) int8
    test_x: np.ndarray
    test_y: np.ndarray
    skus: tuple[str, ...]

    def __post_init__(self) -> None:
        for x, y in ((self.train_x, self.train_y), (self.test_x, self.test_y)):
            if x.ndim != 2 or x.shape[1] != DIM or y.shape != (x.shape[0],):
                raise ValueError(f"descriptors {x.shape} and labels {y.shape} do not fit")

    def counts(self) -> dict[str, int]:
        """Numbers only, safe to report to the server."""
        return {
            "train_good": int((self.train_y == 0).sum()),
            "train_defective": int((self.train_y == 1).sum()),
            "test_good": int((self.test_y == 0).sum()),
            "test_defective": int((self.test_y == 1).sum()),
        }


def pooled(datas: Sequence[NodeData]) -> NodeData:
    """Every node's data in one (what a central server would hold if images could travel)."""
    if not datas:
        raise ValueError("nothing to pool")
    return NodeData(
        train_x=np.concatenate([d.train_x for d in datas]),
        train_y=np.concatenate([d.train_y for d in datas]),
        test_x=np.concatenate([d.test_x for d in datas]),
        test_y=np.concatenate([d.test_y for d in datas]),
        skus=tuple(sku for d in datas for sku in d.skus),
    )


# --- The head -------------------------------------------------------------------------------------


def initial_weights(seed: int = 0) -> list[np.ndarray]:
    """Moments unset, a zero head (every image at p = 0.5). `seed` is accepted for symmetry with
    other models: a convex head needs no random start, so all seeds give the same weights."""
    del seed
    return [
        np.zeros(DIM),
        np.ones(DIM),
        np.zeros(DIM),
        np.zeros(1),
        np.zeros(1),
    ]


def _parts(weights: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
    shapes = [(DIM,), (DIM,), (DIM,), (1,), (1,)]
    if len(weights) != len(shapes) or any(
        np.shape(w) != s for w, s in zip(weights, shapes, strict=True)
    ):
        found = [np.shape(w) for w in weights]
        expected = dict(zip(PARTS, shapes, strict=True))
        raise ValueError(f"weights {found} are not this head's {expected}")
    return tuple(np.asarray(w, dtype=np.float64) for w in weights)


def _fitted(flag: np.ndarray) -> bool:
    return bool(flag[0] >= 0.5)


def _scaling(mean: np.ndarray, second: np.ndarray, flag: np.ndarray) -> tuple[np.ndarray, ...]:
    """(centre, scale) for standardising; the identity until the moments are set."""
    if not _fitted(flag):
        return np.zeros(DIM), np.ones(DIM)
    std = np.sqrt(np.maximum(second - mean * mean, 0.0))
    return mean, np.maximum(std, 1e-6 + 1e-3 * float(std.mean()))


def _standardised(weights: Sequence[np.ndarray], x: np.ndarray) -> np.ndarray:
    mean, second, _, _, flag = _parts(weights)
    centre, scale = _scaling(mean, second, flag)
    z: np.ndarray = (np.asarray(x, dtype=np.float64) - centre) / scale
    return z


def _log_loss(logits: np.ndarray, y: np.ndarray) -> float:
    if logits.size == 0:
        return 0.0
    return float(np.mean(np.logaddexp(0.0, logits) - y * logits))


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    probabilities: np.ndarray = np.exp(-np.logaddexp(0.0, -logits))
    return probabilities


def predict(weights: Sequence[np.ndarray], x: np.ndarray) -> np.ndarray:
    """Defect probabilities, (n,) from (n, DIM) descriptors."""
    _, _, coef, intercept, _ = _parts(weights)
    return _sigmoid(_standardised(weights, x) @ coef + intercept[0])


def local_train(
    weights: list[np.ndarray],
    data: NodeData,
    *,
    epochs: int = 20,
    learning_rate: float = 0.1,
    proximal_mu: float = 0.0,
    l2: float = L2,
) -> tuple[list[np.ndarray], dict[str, float]]:
    """One round on a node: `epochs` full-batch gradient steps on the log loss (+ l2/2 |coef|^2,
    + mu/2 |head - head_global|^2 for FedProx), starting from and pulled towards `weights`.
    In the statistics round (moments unset) it returns the node's moments instead, see the
    module's docstring. `train_loss` is the plain log loss after the round."""
    mean, second, coef, intercept, flag = _parts(weights)
    x = np.asarray(data.train_x, dtype=np.float64)
    y = np.asarray(data.train_y, dtype=np.float64)
    examples = float(x.shape[0])
    if x.shape[0] == 0:
        return [mean, second, coef, intercept, flag], {"train_loss": 0.0, "train_examples": 0.0}
    if not _fitted(flag):
        before = _log_loss(_standardised(weights, x) @ coef + intercept[0], y)
        moments = [x.mean(axis=0), (x * x).mean(axis=0), coef, intercept, np.ones(1)]
        return moments, {"train_loss": before, "train_examples": examples}
    z = _standardised(weights, x)
    global_coef, global_intercept = coef.copy(), intercept.copy()
    for _ in range(epochs):
        residual = _sigmoid(z @ coef + intercept[0]) - y
        grad_coef = z.T @ residual / examples + l2 * coef
        grad_intercept = np.array([residual.mean()])
        if proximal_mu > 0:
            grad_coef += proximal_mu * (coef - global_coef)
            grad_intercept += proximal_mu * (intercept - global_intercept)
        coef = coef - learning_rate * grad_coef
        intercept = intercept - learning_rate * grad_intercept
    loss = _log_loss(z @ coef + intercept[0], y)
    return [mean, second, coef, intercept, flag], {"train_loss": loss, "train_examples": examples}


def evaluate(weights: Sequence[np.ndarray], x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """AUROC (0.5 when only one class is present, so never NaN), log loss, example count."""
    labels = np.asarray(y).ravel().astype(np.float64)
    if labels.size == 0:
        return {"auroc": 0.5, "loss": 0.0, "examples": 0.0}
    _, _, coef, intercept, _ = _parts(weights)
    logits = _standardised(weights, x) @ coef + intercept[0]
    one_class = bool(labels.all() or not labels.any())
    return {
        "auroc": 0.5 if one_class else auroc(logits, labels),
        "loss": _log_loss(logits, labels),
        "examples": float(labels.size),
    }


def fedavg(updates: Sequence[tuple[list[np.ndarray], int]]) -> list[np.ndarray]:
    """The example-weighted mean of every array (see the module's docstring for why that is right
    for the moments and the flag too). Updates must all come from the same round."""
    if not updates:
        raise ValueError("no updates to average")
    total = sum(int(count) for _, count in updates)
    if total <= 0 or any(count < 0 for _, count in updates):
        raise ValueError("updates need non-negative example counts, some positive")
    parts = [_parts(weights) for weights, _ in updates]
    flags = {_fitted(p[4]) for p, (_, count) in zip(parts, updates, strict=True) if count > 0}
    if len(flags) > 1:
        raise ValueError("updates from the statistics round mixed with training updates")
    return [
        sum(
            (p[i] * (count / total) for p, (_, count) in zip(parts, updates, strict=True)),
            start=np.zeros_like(parts[0][i]),
        )
        for i in range(len(PARTS))
    ]


@dataclass
class FederatedRun:
    """Where an in-process federation ended, and each round's example-weighted training loss
    and wall time (round 0 is the statistics round)."""

    weights: list[np.ndarray]
    history: list[dict[str, float]] = field(default_factory=list)

    @property
    def seconds_per_round(self) -> float:
        """Mean wall time of a training round (all nodes' local training plus the average)."""
        rounds = [h["seconds"] for h in self.history if h["round"] >= STATISTICS_ROUNDS]
        return float(np.mean(rounds)) if rounds else 0.0


def federated_in_process(
    datas: Sequence[NodeData],
    rounds: int,
    epochs: int = 20,
    proximal_mu: float = 0.0,
    *,
    learning_rate: float = 0.1,
    l2: float = L2,
    seed: int = 0,
) -> FederatedRun:
    """The FedAvg (FedProx when `proximal_mu` > 0) loop a Flower deployment runs, without Flower:
    the statistics round, then `rounds` rounds in which every node trains from the global weights
    and the server averages. One node is that node trained alone; the pool of all nodes is
    `centralized`."""
    if not datas:
        raise ValueError("a federation needs at least one node")
    weights = initial_weights(seed)
    run = FederatedRun(weights)
    for number in range(rounds + STATISTICS_ROUNDS):
        started = time.perf_counter()
        results = [
            local_train(
                weights,
                data,
                epochs=epochs,
                learning_rate=learning_rate,
                proximal_mu=proximal_mu,
                l2=l2,
            )
            for data in datas
        ]
        weights = fedavg([(w, int(m["train_examples"])) for w, m in results])
        examples = sum(m["train_examples"] for _, m in results)
        loss = sum(m["train_loss"] * m["train_examples"] for _, m in results) / max(examples, 1)
        run.history.append(
            {"round": float(number), "train_loss": loss, "seconds": time.perf_counter() - started}
        )
    run.weights = weights
    return run


def centralized(
    datas: Sequence[NodeData],
    *,
    rounds: int = 30,
    epochs: int = 20,
    learning_rate: float = 0.1,
    l2: float = L2,
    seed: int = 0,
) -> list[np.ndarray]:
    """The same head trained on every node's training data pooled in one place, with as many
    gradient steps as a federation of `rounds` x `epochs`: the reference a federation is
    measured against (the moments are then the pooled ones, as the federation's are)."""
    return federated_in_process(
        [pooled(datas)], rounds, epochs, learning_rate=learning_rate, l2=l2, seed=seed
    ).weights


# --- A node's data --------------------------------------------------------------------------------


def _invalid(detail: str) -> Exception:
    from yunfab.errors import InvalidInput  # its module imports FastAPI: too slow for Flower

    return InvalidInput(detail)


def _visible(path: Path) -> bool:
    return not path.name.startswith(".")


def _sku_folders(store: Path) -> list[Path]:
    if not store.is_dir():
        raise _invalid(f"federated learning store {store} is not a folder")
    folders = sorted(p for p in store.iterdir() if p.is_dir() and _visible(p))
    if not folders:
        raise _invalid(
            f"no SKU folders in {store}: expected one folder per SKU, each holding good/ and "
            "one folder per defect class"
        )
    return folders


def _digest(
    store: Path, folders: Sequence[Path], seed: int, holdout: float, area: int | None
) -> str:
    """Of every file's name, size and modification time, and of the parameters: a new, changed
    or removed image makes a new digest."""
    parameters: dict[str, object] = {
        "version": CACHE_VERSION,
        "dim": DIM,
        "seed": seed,
        "holdout": holdout,
        "fit_share": FIT_SHARE,
    }
    if area is not None:  # absent by default, so stores described before keep their caches
        parameters["area"] = area
    digest = hashlib.sha256(json.dumps(parameters, sort_keys=True).encode())
    for folder in folders:
        for root, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if name.startswith("."):
                    continue
                path = Path(root, name)
                stat = path.stat()
                relative = path.relative_to(store).as_posix()
                digest.update(f"{relative}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _read_cache(path: Path) -> NodeData | None:
    try:
        with np.load(path, allow_pickle=False) as stored:
            return NodeData(
                train_x=stored["train_x"],
                train_y=stored["train_y"],
                test_x=stored["test_x"],
                test_y=stored["test_y"],
                skus=tuple(str(s) for s in stored["skus"]),
            )
    except FileNotFoundError:
        return None
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        log.warning("ignoring unreadable descriptor cache %s: %s", path, exc)
        return None


def _write_cache(path: Path, data: NodeData) -> None:
    """Atomically, and in place of older caches (one per store: images change, not seeds)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    with partial.open("wb") as handle:
        np.savez(
            handle,
            train_x=data.train_x,
            train_y=data.train_y,
            test_x=data.test_x,
            test_y=data.test_y,
            skus=np.array(data.skus),
        )
    os.replace(partial, path)
    for old in path.parent.glob("descriptors-*.npz"):
        if old != path:
            old.unlink(missing_ok=True)


def _sku_descriptors(
    folder: Path, seed: int, holdout: float, area: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train_x, train_y, test_x, test_y) of one SKU, from its own anomaly model."""
    from vision_ml.anomaly import AnomalyModel, AnomalyParams
    from vision_ml.datasets import GOOD, load_folder, split

    items = load_folder(folder)  # its errors are InvalidInput, naming the file
    good = [item for item in items if item.label == GOOD]
    if len(good) < MIN_GOOD:
        raise _invalid(f"{folder / GOOD} holds {len(good)} good images; at least {MIN_GOOD}")
    order = np.random.default_rng([seed, 0xF1]).permutation(len(good))
    fitting = min(max(2, round(len(good) * FIT_SHARE)), len(good) - 1)
    fit_on = [good[i] for i in sorted(order[:fitting])]
    unseen: list[LabelledImage] = [good[i] for i in sorted(order[fitting:])]
    unseen += [item for item in items if item.label != GOOD]
    params = None if area is None else AnomalyParams(area=area)
    model, left_out = AnomalyModel.fit_with_descriptors(
        [i.image for i in fit_on], params=params, seed=seed
    )
    training, testing = split(unseen, holdout=holdout, seed=seed)

    def described(part: Sequence[LabelledImage]) -> tuple[np.ndarray, np.ndarray]:
        x = np.array([model.analyse(i.image)[1].numpy() for i in part], dtype=np.float32)
        y = np.array([i.label != GOOD for i in part], dtype=np.int8)
        return x.reshape(len(part), DIM), y

    train_x, train_y = described(training)
    test_x, test_y = described(testing)
    fit_x = np.array([d.numpy() for _, d in left_out], dtype=np.float32).reshape(-1, DIM)
    train_x = np.concatenate([fit_x, train_x])
    train_y = np.concatenate([np.zeros(len(fit_x), dtype=np.int8), train_y])
    return train_x, train_y, test_x, test_y


def prepare(
    store: Path, *, seed: int = 0, holdout: float = 0.3, area: int | None = None
) -> NodeData:
    """A node's descriptors from `store`: one folder per SKU, each laid out as #6's datasets
    (`good/`, one folder per defect class, `masks/` optional).

    Per SKU, an anomaly model is fitted on `FIT_SHARE` of the good images; those images are
    described leaving their own patches out of the model (training set only), and the others and
    every defect image are described as unseen images and split, stratified per class, into
    training and test sets (`holdout` of them for testing). The result is cached in
    `store/.yunfab-fl/` under a digest of the files and parameters, so calls after the first
    cost milliseconds until an image changes. `area` is the pixels the backbone works an image
    at (None: the anomaly model's default, `vision_ml.features.INPUT_AREA`; a smaller image is
    enlarged to it).
    """
    if not 0.0 < holdout < 1.0:
        raise _invalid(f"holdout must lie between 0 and 1, got {holdout}")
    if area is not None and area <= 0:
        raise _invalid(f"area must be a positive number of pixels, got {area}")
    store = Path(store)
    folders = _sku_folders(store)
    cache = store / CACHE_DIR / f"descriptors-{_digest(store, folders, seed, holdout, area)}.npz"
    cached = _read_cache(cache)
    if cached is not None:
        return cached
    started = time.perf_counter()
    parts = [_sku_descriptors(folder, seed, holdout, area) for folder in folders]
    data = NodeData(
        train_x=np.concatenate([p[0] for p in parts]),
        train_y=np.concatenate([p[1] for p in parts]),
        test_x=np.concatenate([p[2] for p in parts]),
        test_y=np.concatenate([p[3] for p in parts]),
        skus=tuple(folder.name for folder in folders),
    )
    _write_cache(cache, data)
    log.info(
        "described %s SKUs in %.1f s: %s",
        len(folders),
        time.perf_counter() - started,
        json.dumps(data.counts()),
    )
    return data
