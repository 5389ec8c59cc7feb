"""Federated training of the binary defect head (issues #7, #24) on non-IID nodes built from the
seeded generator, against the same head trained centrally and each node's head trained alone:

    python -m benchmarks.federated [--quick] [--nodes 3|10] [--threads 2] [--size 256]
                                   [--good N] [--defective N] [--rounds 30] [--epochs 20]
                                   [--mu 0.1] [--flower ROUNDS] [--flower-epochs 120]
                                   [--dp-noise 2.0] [--dp-clip 0.5] [--data DIR]
                                   [--area PIXELS]

Nodes (`layout`). Each node holds one dataset folder (#6's layout) per SKU it makes, showing only
its own defect types (in turn), and describes it with its own anomaly models
(`federated_learning.model.prepare`): nothing per image leaves it. Six SKUs, two per surface.

- `--nodes 3` (issue #7): A has a metal and a fabric SKU with scratches and dents, B a plastic and
  a fabric SKU with cracks and stains, C a metal and a plastic SKU with pits and stains. Dents and
  stains on fabric hide in the weave; only A is shown fabric dents and only B fabric stains.
- `--nodes 10` (issue #24, the default): six nodes make one SKU only, four make two; three of
  them (`few`) hold a few images per SKU (`FEW_GOOD` good, `FEW_DEFECTIVE` defective) where the
  others hold `--good` and `--defective` (`IMAGES_PER_SKU`); each is shown one or two defect
  kinds, and fabric dents are shown to one node only.

Printed: the image AUROC on the pooled test set (every node's held-out images) of the head
trained by FedAvg and by FedProx (`--mu`) over the nodes in process (no Flower, so no transport
overhead), of the same head trained centrally on the pooled training data with as many gradient
steps (the reference), and of each node's head trained on its own data alone. Goals: FedAvg or
FedProx >= 0.98 x central, and above every node alone.

With `--flower ROUNDS` (default `FLOWER_ROUNDS` on a full run) one SuperLink and one SuperNode
per node run on loopback (a named connection in the CLI's own `config.toml`; the SuperNodes are
started together, then waited for) and take up to three runs (`--flower-runs`) of ROUNDS
training rounds x `--flower-epochs` steps: FedAvg, SecAgg+ (5 shares and 3 to unmask with 5
nodes or more; goal >= 0.97 x central) and FedAvg with central differential privacy (each
node's update clipped to `--dp-clip`, Gaussian noise of `--dp-noise` x clip / nodes on the
mean), each measured against the central head with as many steps. The same DP runs in process
too (`dp_in_process`, the mean AUROC of `DP_DRAWS` noise draws; with `--quick` as well).

Epsilon is node-level, at delta `DP_DELTA`, by Renyi DP of the Gaussian mechanism composed
over the training rounds (no subsampling: every node takes part in every round), with the noise
counted against the largest node's share of the example-weighted mean (`effective_noise`: a
node with more examples moves the mean further); the statistics round is not covered.

Per Flower run: seconds per round (the ServerApp's steps: train, evaluate and SecAgg+'s
stages) and Flower's share of it: 1 - (the same round's node work, every node in turn in this
process: loading its cached descriptors, training, evaluating) / (the round through Flower);
the errors nodes replied with (a run whose every round failed still completes). The load
average (1 min) is printed before and after.

`--quick` (well under a minute on this shared 2-core machine): 10 nodes with fewer images (12
good, 8 defective per SKU, the few-image nodes 4 and 3; `--nodes 3`: 24 and 24 as before),
128-pixel images worked at their own size (`--area`: a node's anomaly models enlarge every
image to 368 x 368 first, eight times the pixels), one thread (`--threads`), in process only
(no Flower: a Flower round of 10 nodes alone takes tens of seconds). Describing the images is
nearly all of it; the nodes, their split and every figure are the full run's. Two threads on
this loaded machine made it slower, not faster: the backbone's and the banks' many small
operations wait on each other's thread (prepare 86 s against 6.5 s with one thread at a load
average of 11). `--data DIR` keeps the generated stores (and their descriptor caches) in DIR
for the next run. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from federated_learning.model import (
    FIXED_AFTER_STATISTICS,
    PARTS,
    STATISTICS_ROUNDS,
    NodeData,
    centralized,
    evaluate,
    fedavg,
    federated_in_process,
    local_train,
    pooled,
    prepare,
)
from vision_ml.features import INPUT_AREA, set_threads
from yunfab_demo.synthetic import Sku, generate, write_dataset

GOALS = {
    "ratio_to_centralized_min": 0.98,
    "secagg_ratio_to_centralized_min": 0.97,
    "above_every_node_alone": True,
}
SKUS = {
    sku.name: sku
    for sku in (
        Sku("bracket", "metal", 11),
        Sku("rail", "metal", 12),
        Sku("housing", "plastic", 21),
        Sku("cover", "plastic", 22),
        Sku("seat", "fabric", 31),
        Sku("cushion", "fabric", 32),
    )
}
IMAGES_PER_SKU = {3: (40, 30), 10: (24, 18)}
"""Good and defective images per SKU (a full run; `--good`, `--defective`): about as many images
in all with 10 nodes (14 SKU folders) as with 3 (6 folders)."""
QUICK_IMAGES_PER_SKU = {3: (24, 24), 10: (12, 8)}
FEW_GOOD, FEW_DEFECTIVE = 6, 4
QUICK_FEW = (4, 3)
"""Images per SKU (good, defective) on a few-image node, in a full run and with `--quick`."""
DP_DELTA = 1e-5
FLOWER_RUNS = ("fedavg", "secagg", "dp")
DP_DRAWS = 5
"""Noise draws of the in-process DP run, whose AUROC is their mean."""
FLOWER_ROUNDS = 5
"""Training rounds of the Flower runs and of the in-process DP run (each of `--flower-epochs`
steps): a Flower round of 10 nodes costs seconds whatever the model, so fewer, longer rounds."""
HEAD = tuple(i for i in range(len(PARTS)) if i not in FIXED_AFTER_STATISTICS)


@dataclass(frozen=True)
class NodePlan:
    """What a node makes and is shown: its SKUs, its defect kinds, and whether it has few images."""

    skus: tuple[Sku, ...]
    defects: tuple[str, ...]
    few: bool = False


def _plan(skus: str, defects: str, *, few: bool = False) -> NodePlan:
    return NodePlan(tuple(SKUS[s] for s in skus.split()), tuple(defects.split()), few)


LAYOUTS: dict[int, dict[str, NodePlan]] = {
    3: {
        "a": _plan("bracket seat", "scratch dent"),
        "b": _plan("housing cushion", "crack stain"),
        "c": _plan("rail cover", "pit stain"),
    },
    10: {
        "n01": _plan("bracket", "scratch dent"),
        "n02": _plan("seat", "dent"),
        "n03": _plan("housing cushion", "crack stain"),
        "n04": _plan("rail cover", "pit stain"),
        "n05": _plan("cushion", "stain scratch"),
        "n06": _plan("bracket housing", "crack pit", few=True),
        "n07": _plan("cover", "scratch", few=True),
        "n08": _plan("seat rail", "scratch pit"),
        "n09": _plan("housing", "dent crack"),
        "n10": _plan("rail", "dent", few=True),
    },
}


def layout(nodes: int) -> dict[str, NodePlan]:
    """The non-IID split of `nodes` nodes (3 or 10): SKUs, defect kinds and image counts differ
    from node to node, and every SKU is made on at least two nodes."""
    if nodes not in LAYOUTS:
        raise ValueError(f"layouts exist for {sorted(LAYOUTS)} nodes, not {nodes}")
    return LAYOUTS[nodes]


def write_nodes(
    root: Path, plans: Mapping[str, NodePlan], args: argparse.Namespace
) -> dict[str, Path]:
    """One store per node, one dataset folder per SKU; a folder already written is kept. A SKU
    made on several nodes gets other parts (another seed) on each."""
    stores = {}
    made: dict[str, int] = {}
    for node, plan in plans.items():
        store = root / node
        good, defective = (
            (args.few_good, args.few_defective) if plan.few else (args.good, args.defective)
        )
        for sku in plan.skus:
            seed = args.seed + 100 * made.get(sku.name, 0)
            made[sku.name] = made.get(sku.name, 0) + 1
            if (store / sku.name).is_dir():
                continue
            samples = generate(
                sku,
                good=good,
                defective=defective,
                defects=plan.defects,
                size=args.size,
                seed=seed,
            )
            write_dataset(samples, store / sku.name)
        stores[node] = store
    return stores


def prepare_nodes(
    stores: dict[str, Path], seed: int, area: int | None = None
) -> tuple[dict[str, NodeData], float, float]:
    """Each node's data, the seconds the first `prepare`s took, and the cached ones."""
    started = time.perf_counter()
    datas = {node: prepare(store, seed=seed, area=area) for node, store in stores.items()}
    first = time.perf_counter() - started
    started = time.perf_counter()
    for store in stores.values():
        prepare(store, seed=seed, area=area)
    return datas, first, time.perf_counter() - started


def gaussian_epsilon(noise_multiplier: float, rounds: int, delta: float = DP_DELTA) -> float:
    """Node-level epsilon at `delta` of `rounds` Gaussian releases of the clipped sum (noise
    `noise_multiplier` x clip, sensitivity: one node's clipped update), by Renyi DP: each release
    costs alpha / (2 sigma^2) at order alpha, and the best order gives
    rounds / (2 sigma^2) + sqrt(2 rounds log(1/delta)) / sigma."""
    if noise_multiplier <= 0:
        return math.inf
    sigma = noise_multiplier
    return rounds / (2 * sigma**2) + math.sqrt(2 * rounds * math.log(1 / delta)) / sigma


def dp_in_process(
    datas: list[NodeData],
    rounds: int,
    *,
    epochs: int,
    learning_rate: float,
    noise_multiplier: float,
    clipping_norm: float,
    seed: int,
) -> list[np.ndarray]:
    """FedAvg with the mechanism the Flower DP run uses (Flower's client-side fixed clipping):
    each node's update clipped to `clipping_norm`, their example-weighted mean, Gaussian noise of
    `noise_multiplier * clipping_norm / nodes` on the head; the statistics round in the clear."""
    rng = np.random.default_rng([seed, 0xD9])
    weights = federated_in_process(datas, 0, epochs, learning_rate=learning_rate).weights
    std = noise_multiplier * clipping_norm / len(datas)
    for _ in range(rounds):
        updates = []
        for data in datas:
            trained, metrics = local_train(
                weights, data, epochs=epochs, learning_rate=learning_rate
            )
            delta = [new - old for new, old in zip(trained, weights, strict=True)]
            norm = math.sqrt(sum(float((d * d).sum()) for d in delta))
            scale = min(1.0, clipping_norm / norm) if norm > 0 else 1.0
            clipped = [old + d * scale for old, d in zip(weights, delta, strict=True)]
            updates.append((clipped, int(metrics["train_examples"])))
        averaged = fedavg(updates)
        for index in HEAD:
            averaged[index] = averaged[index] + rng.normal(0.0, std, averaged[index].shape)
        weights = averaged
    return weights


def effective_noise(noise_multiplier: float, datas: list[NodeData]) -> float:
    """The noise multiplier relative to the largest node's pull on the example-weighted mean:
    Flower's noise is `noise_multiplier * clip / nodes`, one node moves the mean by at most its
    weight share x clip, and shares are uneven here."""
    counts = [len(d.train_y) for d in datas]
    share = max(counts) / sum(counts)
    return noise_multiplier / (len(datas) * share)


def secagg_ranges(datas: list[NodeData]) -> dict[str, float]:
    """SecAgg+'s max weight and clipping range, as tight as this data allows: a node sends each
    value x examples / max-weight, quantized over +/- clipping-range in 2**22 steps, so loose
    ranges cost precision. The largest values are the descriptors' mean squares in the
    statistics round; a lowest-variance descriptor needs their mean to about 1e-5, and the
    defaults (1000 and 100) gave 1e-4: the standardisation came out wrong (AUROC 0.94)."""
    max_weight = max(len(d.train_y) for d in datas)
    largest = max(
        float(np.abs((d.train_x.astype(np.float64) ** 2).mean(axis=0)).max())
        * len(d.train_y)
        / max_weight
        for d in datas
    )
    return {
        "secagg-max-weight": float(max_weight),
        "secagg-clipping-range": float(math.ceil(1.25 * max(largest, 1.0))),
    }


def node_work_s(
    stores: Mapping[str, Path], seed: int, rounds: int, epochs: int, learning_rate: float
) -> float:
    """One training round's work of the nodes' own code, every node in turn in this process:
    what each ClientApp does for a train and an evaluate message (load the cached descriptors,
    train, evaluate), from weights past the statistics round."""
    datas = [prepare(store, seed=seed) for store in stores.values()]
    weights = federated_in_process(datas, 1, epochs, learning_rate=learning_rate).weights
    started = time.perf_counter()
    for _ in range(rounds):
        for store in stores.values():
            data = prepare(store, seed=seed)
            local_train(weights, data, epochs=epochs, learning_rate=learning_rate)
            data = prepare(store, seed=seed)
            evaluate(weights, data.test_x, data.test_y)
    return (time.perf_counter() - started) / rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer, smaller images; no Flower")
    parser.add_argument("--nodes", type=int, choices=sorted(LAYOUTS), default=10)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch and OpenCV threads (2; 1 with --quick)"
    )
    parser.add_argument("--size", type=int, default=256, help="image side in pixels")
    parser.add_argument("--good", type=int, default=None, help="good images per SKU")
    parser.add_argument("--defective", type=int, default=None, help="defect images per SKU")
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
        "node on loopback, as FedAvg, SecAgg+ and FedAvg with DP (default 5 on a full run, off "
        "with --quick)",
    )
    parser.add_argument(
        "--flower-epochs", type=int, default=120, help="gradient steps per Flower round"
    )
    parser.add_argument(
        "--flower-runs",
        type=lambda text: text.split(","),
        default=list(FLOWER_RUNS),
        help=f"which Flower runs, comma-separated (default {','.join(FLOWER_RUNS)})",
    )
    parser.add_argument("--dp-noise", type=float, default=2.0, help="DP noise multiplier")
    parser.add_argument("--dp-clip", type=float, default=0.5, help="DP clipping norm")
    parser.add_argument("--data", type=Path, default=None, help="keep the stores here")
    parser.add_argument(
        "--area",
        type=int,
        default=None,
        metavar="PIXELS",
        help="pixels the backbone works each image at (default: the anomaly model's own,"
        " 368 x 368, as on a node; with --quick and no Flower, the images' own size)",
    )
    args = parser.parse_args()
    default_good, default_defective = IMAGES_PER_SKU[args.nodes]
    if args.quick:
        args.size, default_good, default_defective = 128, *QUICK_IMAGES_PER_SKU[args.nodes]
    args.good = default_good if args.good is None else args.good
    args.defective = default_defective if args.defective is None else args.defective
    args.few_good, args.few_defective = QUICK_FEW if args.quick else (FEW_GOOD, FEW_DEFECTIVE)
    if args.flower is None:
        args.flower = 0 if args.quick else FLOWER_ROUNDS
    if args.flower and args.area is not None:
        parser.error("--area: the nodes' ClientApps describe images as a node does, not with it")
    if args.quick and not args.flower and args.area is None:
        args.area = args.size * args.size
    if args.threads is None:
        args.threads = 1 if args.quick else 2
    args.short_rounds = args.flower or FLOWER_ROUNDS
    set_threads(args.threads)
    cv2.setNumThreads(args.threads)
    load_before = os.getloadavg()[0]
    args.started = (time.perf_counter(), time.process_time())

    with tempfile.TemporaryDirectory(prefix="yunfab-fl-bench-") as folder:
        root = args.data or Path(folder)
        started = time.perf_counter()
        stores = write_nodes(root / "stores", layout(args.nodes), args)
        generate_s = time.perf_counter() - started
        datas, prepare_s, cached_s = prepare_nodes(stores, args.seed, args.area)
        report(args, datas, generate_s, prepare_s, cached_s, stores, Path(folder), load_before)


def report(
    args: argparse.Namespace, datas: dict[str, NodeData], generate_s: float, prepare_s: float,
    cached_s: float, stores: dict[str, Path], folder: Path, load_before: float,
) -> None:  # fmt: skip
    for node, data in datas.items():
        print(f"node {node}: {', '.join(data.skus)} | {json.dumps(data.counts())}", flush=True)
    print(
        f"generated in {generate_s:.1f} s | prepare {prepare_s:.1f} s (all nodes),"
        f" cached {cached_s * 1000:.0f} ms, images worked at"
        f" {INPUT_AREA if args.area is None else args.area} pixels, {args.threads} thread(s)"
        f" | load average {load_before:.2f}",
        flush=True,
    )

    nodes = list(datas.values())
    test = pooled(nodes)
    steps = {"epochs": args.epochs, "learning_rate": args.learning_rate, "seed": args.seed}
    fedavg = federated_in_process(nodes, args.rounds, **steps)
    fedprox = federated_in_process(nodes, args.rounds, proximal_mu=args.mu, **steps)
    central = centralized(nodes, rounds=args.rounds, **steps)

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
    fedprox_ratio = round(fedprox_auroc / centralized_auroc, 4)
    best = max(federated_auroc, fedprox_auroc)
    met: dict[str, bool] = {
        "ratio_to_centralized": max(ratio, fedprox_ratio) >= GOALS["ratio_to_centralized_min"],
        "above_every_node_alone": all(best > v for v in local_aurocs.values()),
    }
    print(
        f"pooled test set ({len(test.test_y)} images): FedAvg {federated_auroc:.4f}"
        f" | FedProx (mu {args.mu}) {fedprox_auroc:.4f} | centralized {centralized_auroc:.4f}"
        f" (reference) | ratio FedAvg {ratio:.3f}, FedProx {fedprox_ratio:.3f}"
        f" (goal >= {GOALS['ratio_to_centralized_min']})",
        flush=True,
    )
    alone = " ".join(f"{node} {value:.4f}" for node, value in local_aurocs.items())
    print(f"each node alone on the pooled test set: {alone} (goal: below the federation)")
    own = " ".join(f"{node} {value:.4f}" for node, value in own_aurocs.items())
    print(f"FedAvg head on each node's own test set: {own}", flush=True)
    print(
        f"{args.rounds} rounds x {args.epochs} steps: {fedavg.seconds_per_round * 1000:.2f} ms"
        " per round in process",
        flush=True,
    )
    short = {"epochs": args.flower_epochs, "learning_rate": args.learning_rate, "seed": args.seed}
    short_central = pooled_auroc(centralized(nodes, rounds=args.short_rounds, **short))
    dp_aurocs = [
        pooled_auroc(
            dp_in_process(
                nodes,
                args.short_rounds,
                noise_multiplier=args.dp_noise,
                clipping_norm=args.dp_clip,
                **{**short, "seed": seed},
            )
        )
        for seed in range(args.seed, args.seed + DP_DRAWS)
    ]
    dp_auroc = round(float(np.mean(dp_aurocs)), 4)
    sigma = effective_noise(args.dp_noise, nodes)
    dp = {
        "rounds": args.short_rounds,
        "epochs": args.flower_epochs,
        "noise_multiplier": args.dp_noise,
        "clipping_norm": args.dp_clip,
        "effective_noise_multiplier": round(sigma, 4),
        "epsilon": round(gaussian_epsilon(sigma, args.short_rounds), 2),
        "delta": DP_DELTA,
        "auroc": dp_auroc,
        "auroc_draws": dp_aurocs,
        "centralized_auroc": short_central,
        "ratio": round(dp_auroc / short_central, 4),
    }
    print(
        f"FedAvg with DP in process ({args.short_rounds} rounds x {args.flower_epochs} steps,"
        f" noise {args.dp_noise} x clip {args.dp_clip}): AUROC {dp_auroc:.4f} (mean of"
        f" {DP_DRAWS} noise draws, {min(dp_aurocs):.4f} to {max(dp_aurocs):.4f}) vs central"
        f" {short_central:.4f} with as many steps, ratio {dp['ratio']:.3f};"
        f" epsilon {dp['epsilon']} at delta {DP_DELTA:g} (node-level, effective noise"
        f" multiplier {sigma:.3f} for the largest node's share)",
        flush=True,
    )
    flower = None
    if args.flower:
        flower = flower_runs(args, stores, folder, test)
        if "fedavg" in flower:
            met["flower_fedavg_ratio"] = (
                flower["fedavg"]["ratio"] >= GOALS["ratio_to_centralized_min"]
            )
        if "secagg" in flower:
            met["flower_secagg_ratio"] = (
                flower["secagg"]["ratio"] >= GOALS["secagg_ratio_to_centralized_min"]
            )
    load_after = os.getloadavg()[0]
    wall_s = time.perf_counter() - args.started[0]
    cpu_s = time.process_time() - args.started[1]
    print(
        f"load average (1 min): {load_before:.2f} before, {load_after:.2f} after | {wall_s:.1f} s,"
        f" {cpu_s:.1f} CPU-seconds in this process (after imports)",
        flush=True,
    )
    print(
        json.dumps(
            {
                "benchmark": "federated",
                "quick": args.quick,
                "nodes": len(datas),
                "threads": args.threads,
                "image_size": args.size,
                "input_area": INPUT_AREA if args.area is None else args.area,
                "images_per_sku": {"good": args.good, "defective": args.defective},
                "few_images_per_sku": {"good": args.few_good, "defective": args.few_defective},
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
                "fedprox_ratio_to_centralized": fedprox_ratio,
                "seconds_per_round": round(fedavg.seconds_per_round, 5),
                "prepare_s": round(prepare_s, 2),
                "prepare_cached_s": round(cached_s, 4),
                "load_average": {"before": round(load_before, 2), "after": round(load_after, 2)},
                "wall_s": round(wall_s, 1),
                "cpu_s": round(cpu_s, 1),
                "counts": {node: data.counts() for node, data in datas.items()},
                "reference": "the same head trained centrally on the pooled training data",
                "dp_in_process": dp,
                "flower": flower,
            }
        )
    )


@contextmanager
def flower_federation(stores: Mapping[str, Path], root: Path) -> Iterator[tuple[Any, Path, float]]:
    """A SuperLink and one SuperNode per store on loopback, the CLI's named connection to it, and
    the seconds from the first start to every daemon ready (SuperNodes start together)."""
    from federated_learning import deploy
    from yunfab.processes import free_port

    daemons = deploy.FlowerDaemons()
    connection = deploy.Connection("bench", f"127.0.0.1:{free_port()}")
    started = time.perf_counter()
    try:
        link = daemons.start(
            deploy.daemon_spec(
                "superlink",
                deploy.superlink_argv(port=int(connection.address.rsplit(":", 1)[1])),
                root / "superlink",
                root / "superlink.log",
            )
        )
        nodes = [
            daemons.start(
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
            for name, store in stores.items()
        ]
        deploy.wait_ready_all([link, *nodes], timeout_s=120)
        ready_s = time.perf_counter() - started
        deploy.write_cli_config(root / "cli", [connection])
        yield connection, root / "cli", ready_s
    finally:
        daemons.stop_all(grace_s=5)


def flower_run(
    connection: Any, cli: Path, out: Path, nodes: int, rounds: int, config: Mapping[str, Any]
) -> tuple[dict[str, Any], list[np.ndarray], float]:
    """One run on the federation: its summary, final weights and wall seconds."""
    from federated_learning import deploy

    started = time.perf_counter()
    run_id = deploy.start_run(
        deploy.app_dir(),
        connection.name,
        {
            "num-server-rounds": rounds + STATISTICS_ROUNDS,
            "min-nodes": nodes,
            "round-timeout-s": 300.0,
            "out-dir": str(out),
            **config,
        },
        cli,
    )
    status = deploy.wait_for_run(run_id, connection.name, cli, timeout_s=1800)
    wall_s = time.perf_counter() - started
    if status != deploy.COMPLETED:
        raise SystemExit(f"the Flower run {dict(config)} ended {status}")
    summary = json.loads((out / "summary.json").read_text())
    with np.load(out / "global.npz") as stored:
        weights = [stored[f"arr_{i}"] for i in range(len(stored.files))]
    return summary, weights, wall_s


def flower_runs(
    args: argparse.Namespace, stores: dict[str, Path], folder: Path, test: NodeData
) -> dict[str, Any]:
    """FedAvg, SecAgg+ and FedAvg with DP through one SuperLink and a SuperNode per node; each
    round's time is the ServerApp's own (all its steps: train, evaluate and SecAgg+'s stages)."""
    datas = [prepare(store, seed=args.seed) for store in stores.values()]
    steps = {"epochs": args.flower_epochs, "learning_rate": args.learning_rate, "seed": args.seed}
    central = centralized(datas, rounds=args.flower, **steps)
    central_auroc = evaluate(central, test.test_x, test.test_y)["auroc"]
    in_process = federated_in_process(datas, args.flower, **steps)
    in_process_auroc = evaluate(in_process.weights, test.test_x, test.test_y)["auroc"]
    work_s = node_work_s(stores, args.seed, 3, args.flower_epochs, args.learning_rate)
    common = {"local-epochs": args.flower_epochs, "learning-rate": args.learning_rate}
    nodes = len(stores)
    shares = 5 if nodes >= 5 else 3  # odd: see server_app's check
    runs: dict[str, dict[str, Any]] = {
        "fedavg": {"strategy": "fedavg"},
        "secagg": {
            "strategy": "fedavg",
            "secure-aggregation": True,
            **secagg_ranges(datas),
            "secagg-num-shares": shares,
            "secagg-reconstruction-threshold": shares // 2 + 1,
        },
        "dp": {
            "strategy": "fedavg",
            "dp-noise-multiplier": args.dp_noise,
            "dp-clipping-norm": args.dp_clip,
        },
    }
    print(
        f"Flower: {nodes} SuperNodes, {args.flower} training rounds x {args.flower_epochs} steps;"
        f" central with as many steps {central_auroc:.4f}, FedAvg in process"
        f" {in_process_auroc:.4f}; the nodes' own work of a round in process"
        f" {work_s * 1000:.1f} ms",
        flush=True,
    )
    results: dict[str, Any] = {
        "rounds": args.flower,
        "epochs": args.flower_epochs,
        "nodes": nodes,
        "centralized_auroc": round(central_auroc, 4),
        "fedavg_in_process_auroc": round(in_process_auroc, 4),
        "node_work_per_round_s": round(work_s, 4),
    }
    root = folder / "flower"
    with flower_federation(stores, root) as (connection, cli, ready_s):
        results["daemons_ready_s"] = round(ready_s, 1)
        print(f"SuperLink and {nodes} SuperNodes ready in {ready_s:.1f} s", flush=True)
        for name, config in runs.items():
            if name not in args.flower_runs:
                continue
            load = os.getloadavg()[0]
            summary, weights, wall_s = flower_run(
                connection, cli, root / "out" / name, nodes, args.flower, {**common, **config}
            )
            training = summary["per_round"][STATISTICS_ROUNDS:]
            per_round = [
                sum(step["seconds"] for key, step in r.items() if key != "round") for r in training
            ]
            seconds = sum(per_round) / len(per_round)
            auroc = evaluate(weights, test.test_x, test.test_y)["auroc"]
            result: dict[str, Any] = {
                "auroc": round(auroc, 4),
                "ratio": round(auroc / central_auroc, 4),
                "seconds_per_round": round(seconds, 2),
                "flower_share": round(1 - work_s / seconds, 4),
                "steps_per_round": sorted({k for r in training for k in r if k != "round"}),
                "run_wall_s": round(wall_s, 1),
                "load_average": round(load, 2),
                "nodes_took_part": len(summary["nodes"]),
                "step_errors": sum(
                    len(step["errors"]) for r in training for k, step in r.items() if k != "round"
                ),
                "dropped_nodes": len(summary["dropped_nodes"]),
            }
            extra = ""
            if name == "dp":
                sigma = effective_noise(args.dp_noise, datas)
                epsilon = gaussian_epsilon(sigma, args.flower)
                result.update(
                    noise_multiplier=args.dp_noise,
                    clipping_norm=args.dp_clip,
                    effective_noise_multiplier=round(sigma, 4),
                    epsilon=round(epsilon, 2),
                    delta=DP_DELTA,
                )
                extra = (
                    f" | noise {args.dp_noise} x clip {args.dp_clip}: epsilon {epsilon:.1f}"
                    f" at delta {DP_DELTA:g} (node-level, training rounds)"
                )
            results[name] = result
            print(
                f"Flower {name}: AUROC {auroc:.4f}, ratio {result['ratio']:.3f} to central |"
                f" {seconds:.1f} s per round, Flower's share {result['flower_share']:.1%} |"
                f" run {wall_s:.0f} s, load {load:.2f}, {result['step_errors']} node errors{extra}",
                flush=True,
            )
    return results


if __name__ == "__main__":
    main()
