"""The head that nodes train together (issue #7): descriptors from a node's own image folders,
cached; local training, FedAvg and FedProx on the head; and a federation of non-IID nodes beating
each node alone on everyone's test images."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from federated_learning import model
from federated_learning.model import (
    DIM,
    NodeData,
    centralized,
    evaluate,
    fedavg,
    federated_in_process,
    initial_weights,
    local_train,
    pooled,
    predict,
    prepare,
)
from vision_ml.anomaly import DESCRIPTOR_DIM
from vision_ml.features import set_threads
from yunfab.errors import InvalidInput
from yunfab_demo.synthetic import Sku, generate, write_dataset

SIZE = 128
# Each node has one SKU and its own defect types. Fabric dents and stains hide in the weave (the
# anomaly score alone misses many), so only a node that was shown them learns them, and every
# node lacks kinds that another one has.
NODES = {
    "A": (Sku("seat", "fabric", 31), ("dent", "scratch")),
    "B": (Sku("cushion", "fabric", 32), ("stain", "crack")),
    "C": (Sku("housing", "plastic", 21), ("pit",)),
}


@pytest.fixture(scope="module", autouse=True)
def _two_threads() -> None:
    set_threads(2)


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("federated")
    found = {}
    for node, (sku, defects) in NODES.items():
        samples = generate(sku, good=14, defective=16, defects=defects, size=SIZE, seed=4)
        write_dataset(samples, root / node / sku.name)
        found[node] = root / node
    return found


@pytest.fixture(scope="module")
def prepared(stores: dict[str, Path]) -> dict[str, tuple[NodeData, float]]:
    """Each node's data and the seconds its first `prepare` took."""
    found = {}
    for node, store in stores.items():
        started = time.perf_counter()
        found[node] = (prepare(store, seed=1, holdout=0.5), time.perf_counter() - started)
    return found


@pytest.fixture(scope="module")
def datas(prepared: dict[str, tuple[NodeData, float]]) -> dict[str, NodeData]:
    return {node: data for node, (data, _) in prepared.items()}


def random_node(seed: int, count: int = 60, shift: float = 3.0) -> NodeData:
    """Descriptors on unequal scales whose defective rows sit `shift` apart along a few of them."""
    rng = np.random.default_rng(seed)
    scale = np.geomspace(0.01, 100.0, DIM)
    labels = (np.arange(count) % 3 == 0).astype(np.int8)
    x = rng.normal(size=(count, DIM)) * scale + 5.0 * scale
    x[:, :4] += shift * labels[:, None] * scale[:4]
    half = count // 2
    return NodeData(
        x[:half].astype(np.float32),
        labels[:half],
        x[half:].astype(np.float32),
        labels[half:],
        (f"sku-{seed}",),
    )


def test_descriptor_length_is_the_anomaly_models() -> None:
    assert DIM == DESCRIPTOR_DIM


def test_importing_the_model_loads_neither_torch_nor_opencv() -> None:
    """Flower starts a process per message: the ClientApp must import in a blink."""
    code = (
        "import sys, federated_learning.model; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'cv2', 'fastapi'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_prepare_describes_every_image_and_caches(
    stores: dict[str, Path], prepared: dict[str, tuple[NodeData, float]]
) -> None:
    data, first_s = prepared["A"]
    counts = data.counts()
    # 14 good: 7 fit the anomaly model (training, leave-one-out), 7 described as unseen; they
    # and the 8 dents and 8 scratches are split half and half per class.
    assert counts == {"train_good": 10, "train_defective": 8, "test_good": 4, "test_defective": 8}
    assert data.train_x.shape == (18, DIM)
    assert data.train_x.dtype == np.float32
    assert data.train_y.dtype == np.int8
    assert np.isfinite(data.train_x).all()
    assert np.isfinite(data.test_x).all()
    assert data.skus == ("seat",)
    assert len(list((stores["A"] / model.CACHE_DIR).glob("descriptors-*.npz"))) == 1

    started = time.perf_counter()
    again = prepare(stores["A"], seed=1, holdout=0.5)
    cached_s = time.perf_counter() - started
    assert cached_s < first_s / 10
    assert cached_s < 0.5
    for name in ("train_x", "train_y", "test_x", "test_y"):
        np.testing.assert_array_equal(getattr(again, name), getattr(data, name))
    assert again.skus == data.skus


def test_prepare_recomputes_when_an_image_is_added(tmp_path: Path) -> None:
    sku = Sku("hinge", "metal", 12)
    store = tmp_path / "store"
    samples = generate(sku, good=6, defective=4, defects=("pit",), size=SIZE, seed=0)
    write_dataset(samples, store / sku.name)
    before = prepare(store)
    extra = generate(sku, good=0, defective=1, defects=("pit",), size=SIZE, seed=9)
    write_dataset(extra, tmp_path / "staging")
    (tmp_path / "staging" / "pit" / "0000.png").rename(store / sku.name / "pit" / "new.png")
    after = prepare(store)
    assert sum(after.counts().values()) == sum(before.counts().values()) + 1
    assert after.counts()["train_defective"] + after.counts()["test_defective"] == 5
    assert len(list((store / model.CACHE_DIR).glob("descriptors-*.npz"))) == 1


def test_prepare_at_another_input_area_describes_the_same_images_again(tmp_path: Path) -> None:
    sku = Sku("hinge", "metal", 12)
    store = tmp_path / "store"
    samples = generate(sku, good=6, defective=4, defects=("pit",), size=SIZE, seed=0)
    write_dataset(samples, store / sku.name)
    enlarged = prepare(store)
    own_size = prepare(store, area=SIZE * SIZE)
    assert own_size.counts() == enlarged.counts()
    np.testing.assert_array_equal(own_size.train_y, enlarged.train_y)
    assert np.isfinite(own_size.train_x).all()
    assert not np.allclose(own_size.train_x, enlarged.train_x)
    again = prepare(store, area=SIZE * SIZE)
    np.testing.assert_array_equal(again.train_x, own_size.train_x)
    assert len(list((store / model.CACHE_DIR).glob("descriptors-*.npz"))) == 1
    with pytest.raises(InvalidInput, match="area"):
        prepare(store, area=0)


def test_an_invalid_store_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="not a folder"):
        prepare(tmp_path / "missing")
    with pytest.raises(InvalidInput, match="no SKU folders"):
        prepare(tmp_path)
    (tmp_path / "empty-sku").mkdir()
    with pytest.raises(InvalidInput, match="no good images"):
        prepare(tmp_path)
    write_dataset(generate(Sku("few", "plastic", 3), good=2, size=SIZE), tmp_path / "empty-sku")
    with pytest.raises(InvalidInput, match="at least 3"):
        prepare(tmp_path)
    with pytest.raises(InvalidInput, match="holdout"):
        prepare(tmp_path, holdout=1.0)


def test_initial_weights_are_a_valid_model() -> None:
    data = random_node(0)
    weights = initial_weights()
    assert [w.shape for w in weights] == [(DIM,), (DIM,), (DIM,), (1,), (1,)]
    np.testing.assert_allclose(predict(weights, data.test_x), 0.5)
    result = evaluate(weights, data.test_x, data.test_y)
    assert result == {"auroc": 0.5, "loss": pytest.approx(np.log(2)), "examples": 30.0}


def test_the_first_round_fits_the_pooled_standardisation_exactly() -> None:
    nodes = [random_node(1, count=40), random_node(2, count=90)]
    updates = []
    for data in nodes:
        weights, metrics = local_train(initial_weights(), data)
        assert metrics["train_examples"] == len(data.train_y)
        np.testing.assert_array_equal(weights[2], 0.0)  # the head waits for the moments
        updates.append((weights, int(metrics["train_examples"])))
    mean, second, _, _, fitted = fedavg(updates)
    everything = np.concatenate([d.train_x for d in nodes]).astype(np.float64)
    np.testing.assert_allclose(mean, everything.mean(axis=0), rtol=1e-9)
    np.testing.assert_allclose(np.sqrt(second - mean**2), everything.std(axis=0), rtol=1e-6)
    assert fitted[0] == 1.0


def test_local_train_lowers_the_loss() -> None:
    data = random_node(3)
    weights, _ = local_train(initial_weights(), data)
    before = evaluate(weights, data.train_x, data.train_y)["loss"]
    trained, metrics = local_train(weights, data, epochs=20)
    assert metrics["train_loss"] < before - 0.1
    assert metrics["train_loss"] == pytest.approx(
        evaluate(trained, data.train_x, data.train_y)["loss"]
    )
    for kept in (0, 1, 4):  # moments and flag come back as they went
        np.testing.assert_array_equal(trained[kept], weights[kept])
    assert evaluate(trained, data.test_x, data.test_y)["auroc"] > 0.9


def test_fedavg_weights_updates_by_their_examples() -> None:
    one = [np.full(shape, 1.0) for shape in ((DIM,), (DIM,), (DIM,), (1,), (1,))]
    four = [np.full(w.shape, 4.0) for w in one]
    four[4] = np.ones(1)
    averaged = fedavg([(one, 1), (four, 3)])
    for part in averaged[:4]:
        np.testing.assert_allclose(part, 0.25 * 1.0 + 0.75 * 4.0)
    assert averaged[4][0] == 1.0
    with pytest.raises(ValueError, match="statistics round"):
        fedavg([(initial_weights(), 5), (four, 3)])
    with pytest.raises(ValueError, match="example counts"):
        fedavg([(one, 0)])
    with pytest.raises(ValueError, match="not this head"):
        fedavg([(one[:3], 1)])


def test_fedprox_with_a_large_mu_stays_near_the_global_weights() -> None:
    global_weights = federated_in_process([random_node(4)], rounds=2, epochs=5).weights
    other = random_node(5, shift=-3.0)  # a node whose defects point the other way
    plain, _ = local_train(global_weights, other, epochs=200, learning_rate=0.005)
    held, _ = local_train(global_weights, other, epochs=200, learning_rate=0.005, proximal_mu=100.0)
    moved = np.linalg.norm(plain[2] - global_weights[2])
    assert moved > 0.1
    assert np.linalg.norm(held[2] - global_weights[2]) < 0.05 * moved


def test_a_federation_beats_every_node_alone_on_everyones_test_images(
    datas: dict[str, NodeData],
) -> None:
    nodes = list(datas.values())
    test = pooled(nodes)

    def pooled_auroc(weights: list[np.ndarray]) -> float:
        return evaluate(weights, test.test_x, test.test_y)["auroc"]

    federated = pooled_auroc(federated_in_process(nodes, rounds=20, epochs=20).weights)
    reference = pooled_auroc(centralized(nodes, rounds=20, epochs=20))
    fedprox = pooled_auroc(
        federated_in_process(nodes, rounds=20, epochs=20, proximal_mu=0.1).weights
    )
    alone = {node: pooled_auroc(federated_in_process([d], 20).weights) for node, d in datas.items()}
    assert federated >= 0.98 * reference
    assert fedprox >= 0.98 * reference
    for node, value in alone.items():
        assert federated > value + 0.01, node


def test_dp_noise_moves_only_the_head_not_the_moments_or_the_flag() -> None:
    """Server-side DP noise lands on the whole update; the moments and the fitted flag, which
    no training round changes, are put back as sent (a noised flag below 0.5 would switch the
    standardisation off)."""
    from typing import Any

    from flwr.app import ArrayRecord, ConfigRecord

    from federated_learning.server_app import StatisticsRoundsInTheClear

    class Noisy:
        def __init__(self) -> None:
            self.sent: list[np.ndarray] = []

        def configure_train(
            self, server_round: int, arrays: Any, config: Any, grid: Any
        ) -> list[Any]:
            self.sent = arrays.to_numpy_ndarrays()
            return []

        def aggregate_train(self, server_round: int, replies: Any) -> tuple[Any, None]:
            return ArrayRecord([a - 0.7 for a in self.sent]), None

    weights = model.initial_weights()
    weights[model.PARTS.index("fitted")] = np.ones(1)
    strategy = StatisticsRoundsInTheClear(plain=Noisy(), private=Noisy())  # type: ignore[arg-type]
    strategy.configure_train(2, ArrayRecord(weights), ConfigRecord(), None)  # type: ignore[arg-type]
    arrays, _ = strategy.aggregate_train(2, [])
    assert arrays is not None
    got = arrays.to_numpy_ndarrays()
    for index, name in enumerate(model.PARTS):
        if index in model.FIXED_AFTER_STATISTICS:
            np.testing.assert_array_equal(got[index], weights[index], err_msg=name)
        else:
            np.testing.assert_allclose(got[index], weights[index] - 0.7, err_msg=name)


def test_secure_aggregation_refuses_an_even_share_count() -> None:
    """Flower 1.41 tells the nodes an even share count but gives each one neighbour more: every
    node failed the share-keys stage of every round (10 nodes, 4 shares) and the run ended with
    the initial model, reported as completed."""
    from federated_learning.server_app import RunConfigError, RunSettings

    config = {
        "strategy": "fedavg",
        "num-server-rounds": 3,
        "min-nodes": 10,
        "proximal-mu": 0.0,
        "local-epochs": 1,
        "learning-rate": 0.1,
        "round-timeout-s": 60.0,
        "dp-noise-multiplier": 0.0,
        "dp-clipping-norm": 1.0,
        "out-dir": "",
        "run-label": "",
        "secure-aggregation": True,
        "secagg-reconstruction-threshold": 3,
    }
    with pytest.raises(RunConfigError, match="odd"):
        RunSettings.from_run_config({**config, "secagg-num-shares": 4}, run_id=1)
    settings = RunSettings.from_run_config({**config, "secagg-num-shares": 5}, run_id=1)
    assert settings.secagg_num_shares == 5
