"""Federated training of the binary defect head (issue #7) on non-IID nodes built from the seeded
generator, against the same head trained centrally and each node's head trained alone:

    python -m benchmarks.federated [--quick] [--threads 2] [--size 256] [--good 40]
                                   [--defective 30] [--rounds 30] [--epochs 20] [--mu 0.1]

Three nodes, each with its own SKUs, surfaces and defect types (`NODES`): A has a metal and a
fabric SKU with scratches and dents, B a plastic and a fabric SKU with cracks and stains, C a
metal and a plastic SKU with pits and stains. Dents and stains on fabric hide in the weave (the
anomaly score alone misses many, see `benchmarks.vision`), and only A is shown fabric dents and
only B fabric stains: with every defect kind on metal or plastic, the anomaly statistics in the
descriptor nearly settle it alone, and a head has little to learn from other nodes. Every SKU
is written as a #6 dataset folder (`--good` good images and `--defective` defect images, its
node's defect types in turn) in a temporary directory, and each node's descriptors come from
`federated_learning.model.prepare` on its own folder (its anomaly models never leave it).

Printed: the image AUROC on the pooled test set (every node's held-out images) of the head
trained by FedAvg and by FedProx (`--mu`) over the nodes in process (no Flower, so no transport
overhead: the reference for a deployment), of the same head trained centrally on the pooled
training data with as many gradient steps (the reference), and of each node's head trained on
its own data alone. Goals: federated >= 0.98 x centralized, and above every node alone. Also the
wall time of a round and of `prepare` (first call, and cached). `--quick` (under a minute on two
cores) uses 128-pixel images and fewer of them. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2

from federated_learning.model import (
    NodeData,
    centralized,
    evaluate,
    federated_in_process,
    pooled,
    prepare,
)
from regional_node.vision.features import set_threads
from regional_node.vision.synthetic import Sku, generate, write_dataset

GOALS = {"ratio_to_centralized_min": 0.98, "above_every_node_alone": True}
NODES: dict[str, tuple[tuple[Sku, ...], tuple[str, ...]]] = {
    "A": ((Sku("bracket", "metal", 11), Sku("seat", "fabric", 31)), ("scratch", "dent")),
    "B": ((Sku("housing", "plastic", 21), Sku("cushion", "fabric", 32)), ("crack", "stain")),
    "C": ((Sku("rail", "metal", 12), Sku("cover", "plastic", 22)), ("pit", "stain")),
}


def write_nodes(root: Path, args: argparse.Namespace) -> dict[str, Path]:
    """One store per node, one dataset folder per SKU."""
    stores = {}
    for node, (skus, defects) in NODES.items():
        store = root / node
        for sku in skus:
            samples = generate(
                sku,
                good=args.good,
                defective=args.defective,
                defects=defects,
                size=args.size,
                seed=args.seed,
            )
            write_dataset(samples, store / sku.name)
        stores[node] = store
    return stores


def prepare_nodes(stores: dict[str, Path], seed: int) -> tuple[dict[str, NodeData], float, float]:
    """Each node's data, the seconds the first `prepare`s took, and the cached ones."""
    started = time.perf_counter()
    datas = {node: prepare(store, seed=seed) for node, store in stores.items()}
    first = time.perf_counter() - started
    started = time.perf_counter()
    for store in stores.values():
        prepare(store, seed=seed)
    return datas, first, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="128-pixel images, fewer of them")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--size", type=int, default=256, help="image side in pixels")
    parser.add_argument("--good", type=int, default=40, help="good images per SKU")
    parser.add_argument("--defective", type=int, default=30, help="defect images per SKU")
    parser.add_argument("--rounds", type=int, default=30, help="training rounds")
    parser.add_argument("--epochs", type=int, default=20, help="gradient steps per round")
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--mu", type=float, default=0.1, help="FedProx proximal term")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.quick:
        args.size, args.good, args.defective = 128, 24, 24
    set_threads(args.threads)
    cv2.setNumThreads(args.threads)

    with tempfile.TemporaryDirectory(prefix="yunfab-fl-bench-") as folder:
        started = time.perf_counter()
        stores = write_nodes(Path(folder), args)
        generate_s = time.perf_counter() - started
        datas, prepare_s, cached_s = prepare_nodes(stores, args.seed)
    for node, data in datas.items():
        print(f"node {node}: {', '.join(data.skus)} | {json.dumps(data.counts())}", flush=True)
    print(
        f"generated in {generate_s:.1f} s | prepare {prepare_s:.1f} s (all nodes),"
        f" cached {cached_s * 1000:.0f} ms",
        flush=True,
    )

    test = pooled(list(datas.values()))
    steps = {"epochs": args.epochs, "learning_rate": args.learning_rate, "seed": args.seed}
    fedavg = federated_in_process(list(datas.values()), args.rounds, **steps)
    fedprox = federated_in_process(list(datas.values()), args.rounds, proximal_mu=args.mu, **steps)
    central = centralized(list(datas.values()), rounds=args.rounds, **steps)

    def pooled_auroc(weights: list[Any]) -> float:
        return round(evaluate(weights, test.test_x, test.test_y)["auroc"], 4)

    federated_auroc = pooled_auroc(fedavg.weights)
    fedprox_auroc = pooled_auroc(fedprox.weights)
    centralized_auroc = pooled_auroc(central)
    local_aurocs = {
        node: pooled_auroc(federated_in_process([data], args.rounds, **steps).weights)
        for node, data in datas.items()
    }
    own_aurocs = {
        node: round(evaluate(fedavg.weights, data.test_x, data.test_y)["auroc"], 4)
        for node, data in datas.items()
    }
    ratio = round(federated_auroc / centralized_auroc, 4)
    met = {
        "ratio_to_centralized": ratio >= GOALS["ratio_to_centralized_min"],
        "above_every_node_alone": all(federated_auroc > v for v in local_aurocs.values()),
    }
    print(
        f"pooled test set ({len(test.test_y)} images): FedAvg {federated_auroc:.4f}"
        f" | FedProx (mu {args.mu}) {fedprox_auroc:.4f} | centralized {centralized_auroc:.4f}"
        f" (reference) | ratio {ratio:.3f} (goal >= {GOALS['ratio_to_centralized_min']})",
        flush=True,
    )
    alone = " ".join(f"{node} {value:.4f}" for node, value in local_aurocs.items())
    print(f"each node alone on the pooled test set: {alone} (goal: FedAvg above all)", flush=True)
    own = " ".join(f"{node} {value:.4f}" for node, value in own_aurocs.items())
    print(f"FedAvg head on each node's own test set: {own}", flush=True)
    print(
        f"{args.rounds} rounds x {args.epochs} steps: {fedavg.seconds_per_round * 1000:.2f} ms"
        " per round in process",
        flush=True,
    )
    print(
        json.dumps(
            {
                "benchmark": "federated",
                "quick": args.quick,
                "threads": args.threads,
                "image_size": args.size,
                "images_per_sku": {"good": args.good, "defective": args.defective},
                "rounds": args.rounds,
                "epochs": args.epochs,
                "learning_rate": args.learning_rate,
                "proximal_mu": args.mu,
                "goals": GOALS,
                "met": met,
                "federated_auroc": federated_auroc,
                "fedprox_auroc": fedprox_auroc,
                "centralized_auroc": centralized_auroc,
                "local_aurocs": local_aurocs,
                "own_test_aurocs": own_aurocs,
                "ratio_to_centralized": ratio,
                "seconds_per_round": round(fedavg.seconds_per_round, 5),
                "prepare_s": round(prepare_s, 2),
                "prepare_cached_s": round(cached_s, 4),
                "counts": {node: data.counts() for node, data in datas.items()},
                "reference": "the same head trained centrally on the pooled training data",
                "flower": None,
            }
        )
    )


if __name__ == "__main__":
    main()
