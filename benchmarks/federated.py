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
wall time of a round and of `prepare` (first call, and cached). With `--flower ROUNDS` (on by
default for a full run) the same FedAvg also runs through a real SuperLink and one SuperNode per
node on loopback: seconds per round there, the share of it that is Flower's (everything but the
in-process compute), and the AUROC of the model it made. `--quick` (under a minute on two cores)
uses 128-pixel images and fewer of them, without Flower. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from federated_learning.model import (
    NodeData,
    centralized,
    evaluate,
    federated_in_process,
    pooled,
    prepare,
)
from vision_ml.features import set_threads
from yunfab_demo.synthetic import Sku, generate, write_dataset

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
    parser.add_argument(
        "--flower",
        type=int,
        default=None,
        metavar="ROUNDS",
        help="also run ROUNDS training rounds through a real SuperLink and one SuperNode per "
        "node on loopback (default 3 on a full run, off with --quick: a Flower round takes "
        "seconds)",
    )
    args = parser.parse_args()
    if args.quick:
        args.size, args.good, args.defective = 128, 24, 24
    if args.flower is None:
        args.flower = 0 if args.quick else 3
    set_threads(args.threads)
    cv2.setNumThreads(args.threads)

    with tempfile.TemporaryDirectory(prefix="yunfab-fl-bench-") as folder:
        started = time.perf_counter()
        stores = write_nodes(Path(folder), args)
        generate_s = time.perf_counter() - started
        datas, prepare_s, cached_s = prepare_nodes(stores, args.seed)
        report(args, datas, generate_s, prepare_s, cached_s, stores, Path(folder))


def report(
    args: argparse.Namespace, datas: dict[str, NodeData], generate_s: float, prepare_s: float,
    cached_s: float, stores: dict[str, Path], folder: Path,
) -> None:  # fmt: skip
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
    flower = None
    if args.flower:
        flower = flower_run(args, stores, folder, test)
        flower["overhead_share"] = round(
            1 - fedavg.seconds_per_round / flower["seconds_per_round"], 4
        )
        print(
            f"through Flower ({len(stores)} SuperNodes, {args.flower} training rounds): "
            f"{flower['seconds_per_round']:.1f} s per round (in process "
            f"{fedavg.seconds_per_round * 1000:.2f} ms: Flower's share "
            f"{flower['overhead_share']:.1%}); pooled AUROC {flower['auroc']:.4f}",
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
                "flower": flower,
            }
        )
    )


def flower_run(
    args: argparse.Namespace, stores: dict[str, Path], folder: Path, test: NodeData
) -> dict[str, Any]:
    """The same FedAvg through a SuperLink and a SuperNode per node on loopback; the round time
    is the ServerApp's own (its train and evaluate steps), start-up excluded."""
    from federated_learning import deploy
    from federated_learning.model import STATISTICS_ROUNDS
    from yunfab.processes import free_port

    root = folder / "flower"
    daemons = deploy.FlowerDaemons()
    connection = deploy.Connection("bench", f"127.0.0.1:{free_port()}")
    try:
        link = daemons.start(
            deploy.daemon_spec(
                "superlink",
                deploy.superlink_argv(port=int(connection.address.rsplit(":", 1)[1])),
                root / "superlink",
                root / "superlink.log",
            )
        )
        deploy.wait_for_log(link, deploy.READY_LINE)
        for name, store in stores.items():
            node = daemons.start(
                deploy.daemon_spec(
                    f"supernode-{name}",
                    deploy.supernode_argv(
                        superlink=connection.address,
                        port=free_port(),
                        node_config={"node-name": name, "data-path": str(store)},
                    ),
                    root / name,
                    root / f"{name}.log",
                )
            )
            deploy.wait_for_log(node, deploy.READY_LINE)
        deploy.write_cli_config(root / "cli", [connection])
        out = root / "out"
        started = time.perf_counter()
        run_id = deploy.start_run(
            deploy.app_dir(),
            connection.name,
            {
                "strategy": "fedavg",
                "num-server-rounds": args.flower + STATISTICS_ROUNDS,
                "min-nodes": len(stores),
                "local-epochs": args.epochs,
                "learning-rate": args.learning_rate,
                "round-timeout-s": 120.0,
                "out-dir": str(out),
            },
            root / "cli",
        )
        status = deploy.wait_for_run(run_id, connection.name, root / "cli", timeout_s=900)
        wall_s = time.perf_counter() - started
    finally:
        daemons.stop_all(grace_s=5)
    if status != deploy.COMPLETED:
        raise SystemExit(f"the Flower run ended {status}")
    summary = json.loads((out / "summary.json").read_text())
    training = summary["per_round"][STATISTICS_ROUNDS:]
    per_round = [sum(step["seconds"] for step in (r["train"], r["evaluate"])) for r in training]
    with np.load(out / "global.npz") as stored:
        weights = [stored[f"arr_{i}"] for i in range(len(stored.files))]
    return {
        "rounds": args.flower,
        "nodes": len(stores),
        "seconds_per_round": round(sum(per_round) / len(per_round), 3),
        "run_wall_s": round(wall_s, 1),
        "auroc": round(evaluate(weights, test.test_x, test.test_y)["auroc"], 4),
    }


if __name__ == "__main__":
    main()
