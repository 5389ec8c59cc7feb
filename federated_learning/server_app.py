"""The ServerApp run beside the hub: one federated training run of the defect model.

Run config (defaults in `federated_learning/app/pyproject.toml`, overridden per run with
`flwr run ... --run-config "strategy='fedprox' num-server-rounds=2"`): see `RunSettings`.

Nodes and waiting. `min-nodes` nodes must be connected before round 1, and the run fails if they
are not within `round-timeout-s`. Each step (train, evaluate) then goes to every node still in the
run and waits at most `round-timeout-s` for replies. A node that does not reply in time, or that
the SuperLink reports unavailable, is dropped for the rest of the run and the run goes on with the
others: Flower's own `min_available_nodes` is checked before every step with no time limit, so a
value above the surviving count would wait forever. The run fails when no node is left.

Rounds. `num-server-rounds` counts Flower's server rounds; the first `model.STATISTICS_ROUNDS`
of them are the model's statistics rounds (nodes send descriptor moments), the rest train the head.

Privacy. `dp-noise-multiplier` > 0 turns on central differential privacy with client-side fixed
clipping: each node clips its update to `dp-clipping-norm` (Flower's `fixedclipping_mod`) and the
server adds Gaussian noise to the aggregate, from the first training round on (see
`StatisticsRoundsInTheClear`). SecAgg+ is not offered: in Flower 1.41 it exists only
for the legacy API (`SecAggPlusWorkflow` needs a `LegacyContext` and `flwr.server.strategy`
strategies, and `secaggplus_mod` converts replies to `FitRes`), not for the Message-API strategies
and ClientApp handlers used here. `summary.json` records this under `privacy.secure_aggregation`.

Outputs, in `out-dir` (default `./federated-runs/<run id>` beside the SuperLink): `global.npz`
(the final arrays as arr_0, arr_1, ... in `model.initial_weights()` order) and `summary.json`.
Both are written atomically.
"""

from __future__ import annotations

import io
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.common.constant import ErrorCode
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import (
    DifferentialPrivacyClientSideFixedClipping,
    FedAvg,
    FedProx,
    Result,
    Strategy,
)
from flwr.supercore.run import Run

from federated_learning import model
from federated_learning.client_app import (
    ARRAYS_KEY,
    CONFIG_KEY,
    METRICS_KEY,
    NODE_NAME_KEY,
    NODE_RECORD,
    WEIGHT_KEY,
    config_number,
)

logger = logging.getLogger("flwr")

STRATEGIES = ("fedavg", "fedprox")
SECAGG_REASON = (
    "SecAgg+ in Flower 1.41 works only with the legacy API (SecAggPlusWorkflow needs a "
    "LegacyContext and flwr.server.strategy strategies; secaggplus_mod converts replies to "
    "FitRes), not with the Message-API strategies and ClientApp used by this app."
)
_WAIT_POLL_S = 1.0


class RunConfigError(ValueError):
    """The run config asks for something this app does not do."""


class NoNodesLeft(RuntimeError):
    """Too few nodes to start, or every node dropped out of the run."""


@dataclass(frozen=True)
class RunSettings:
    strategy: str
    rounds: int
    min_nodes: int
    proximal_mu: float
    local_epochs: int
    learning_rate: float
    round_timeout_s: float
    dp_noise_multiplier: float
    dp_clipping_norm: float
    out_dir: Path
    run_label: str

    @classmethod
    def from_run_config(cls, config: Mapping[str, Any], run_id: int) -> RunSettings:
        strategy = str(config["strategy"]).lower()
        if strategy not in STRATEGIES:
            raise RunConfigError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
        settings = cls(
            strategy=strategy,
            rounds=int(config["num-server-rounds"]),
            min_nodes=int(config["min-nodes"]),
            proximal_mu=float(config["proximal-mu"]),
            local_epochs=int(config["local-epochs"]),
            learning_rate=float(config["learning-rate"]),
            round_timeout_s=float(config["round-timeout-s"]),
            dp_noise_multiplier=float(config["dp-noise-multiplier"]),
            dp_clipping_norm=float(config["dp-clipping-norm"]),
            out_dir=Path(str(config["out-dir"]) or Path.cwd() / "federated-runs" / str(run_id)),
            run_label=str(config["run-label"]),
        )
        if settings.rounds <= model.STATISTICS_ROUNDS:
            raise RunConfigError(
                f"num-server-rounds must exceed the model's {model.STATISTICS_ROUNDS} statistics "
                f"round(s), got {settings.rounds}"
            )
        if settings.min_nodes < 1 or settings.round_timeout_s <= 0:
            raise RunConfigError("min-nodes and round-timeout-s must be > 0")
        if settings.dp_noise_multiplier < 0 or settings.dp_clipping_norm <= 0:
            raise RunConfigError("dp-noise-multiplier must be >= 0 and dp-clipping-norm > 0")
        return settings

    @property
    def differential_privacy(self) -> bool:
        return self.dp_noise_multiplier > 0


@dataclass
class Step:
    """One train or evaluate step of a round, as the server saw it."""

    seconds: float = 0.0
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    aggregated: dict[str, float] = field(default_factory=dict)


def _node_metrics(kind: str, metrics: MetricRecord) -> dict[str, Any]:
    """A reply's allow-listed metrics under the names summary.json uses."""
    prefix = "train" if kind == "train" else "eval"
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        name = f"{prefix}_examples" if key == WEIGHT_KEY else key
        out[name] = value
    return out


class RecordingGrid(Grid):
    """The run's Grid, seen through what this app needs: per-node records and dropped nodes.

    Strategies sample from `get_node_ids()`, so leaving dropped nodes out of it keeps them out of
    later steps; Flower itself would keep offering a dead node until it misses two heartbeats.
    """

    def __init__(self, grid: Grid, settings: RunSettings) -> None:
        self._grid = grid
        self._settings = settings
        self.names: dict[int, str] = {}
        self.dropped: dict[int, dict[str, Any]] = {}
        self.steps: dict[int, dict[str, Step]] = {}

    # --- plain delegation ---------------------------------------------------------------------
    def set_run(self, run: Run) -> None:
        self._grid.set_run(run)

    @property
    def run(self) -> Run:
        return self._grid.run

    def create_message(
        self,
        content: RecordDict,
        message_type: str,
        dst_node_id: int,
        group_id: str,
        ttl: float | None = None,
    ) -> Message:
        return self._grid.create_message(content, message_type, dst_node_id, group_id, ttl)

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        return self._grid.push_messages(messages)

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        return self._grid.pull_messages(message_ids)

    # --- what this app changes ----------------------------------------------------------------
    def live_node_ids(self) -> list[int]:
        return [node for node in self._grid.get_node_ids() if node not in self.dropped]

    def wait_for_nodes(self, count: int, timeout_s: float) -> list[int]:
        deadline = time.monotonic() + timeout_s
        while True:
            nodes = self.live_node_ids()
            if len(nodes) >= count:
                return nodes
            if time.monotonic() >= deadline:
                raise NoNodesLeft(
                    f"{len(nodes)} node(s) connected after {timeout_s:.0f}s, need {count}"
                )
            logger.info("Waiting for nodes: %d of %d connected", len(nodes), count)
            time.sleep(_WAIT_POLL_S)

    def get_node_ids(self) -> list[int]:
        # Strategies wait here (with no limit) for min_available_nodes; bound that wait.
        return self.wait_for_nodes(1, self._settings.round_timeout_s)

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> list[Message]:
        sent = list(messages)
        if not sent:
            return []
        kind = sent[0].metadata.message_type
        config = sent[0].content.config_records.get(CONFIG_KEY, ConfigRecord())
        server_round = int(config_number(config, "server-round", 0))
        started = time.monotonic()
        replies = list(self._grid.send_and_receive(sent, timeout=timeout))
        step = Step(seconds=round(time.monotonic() - started, 3))
        self.steps.setdefault(server_round, {})[kind] = step
        replied: set[int] = set()
        for reply in replies:
            node = reply.metadata.src_node_id
            replied.add(node)
            if reply.has_error():
                step.errors[str(node)] = reply.error.reason or ""
                if reply.error.code == ErrorCode.NODE_UNAVAILABLE:
                    self._drop(node, server_round, kind, "unavailable")
                continue
            names = reply.content.config_records.get(NODE_RECORD)
            if names is not None and names.get(NODE_NAME_KEY):
                self.names[node] = str(names[NODE_NAME_KEY])
            metrics = reply.content.metric_records.get(METRICS_KEY, MetricRecord())
            name = self.names.get(node, "")
            step.nodes[str(node)] = {"name": name, **_node_metrics(kind, metrics)}
        for message in sent:
            node = message.metadata.dst_node_id
            if node not in replied:
                step.missing.append(str(node))
                self._drop(node, server_round, kind, f"no reply within {timeout}s")
        logger.info(
            "%s round %d: %d replies, %d errors, %d missing in %.1fs",
            kind,
            server_round,
            len(step.nodes),
            len(step.errors),
            len(step.missing),
            step.seconds,
        )
        return replies

    def _drop(self, node: int, server_round: int, kind: str, reason: str) -> None:
        if node not in self.dropped:
            logger.warning("Dropping node %d from the run: %s", node, reason)
            self.dropped[node] = {"round": server_round, "step": kind, "reason": reason}


class StatisticsRoundsInTheClear(Strategy):
    """`private` from the first training round on, `plain` in `model`'s statistics rounds.

    In those rounds nodes send their descriptors' mean and mean square, which set the scale of
    every later update; clipping them to a norm meant for head updates and adding noise would
    break the standardisation. They are aggregate statistics, and summary.json says that they
    are sent without DP.
    """

    def __init__(self, plain: Strategy, private: Strategy) -> None:
        self.plain = plain
        self.private = private

    def _for(self, server_round: int) -> Strategy:
        return self.plain if server_round <= model.STATISTICS_ROUNDS else self.private

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        return self._for(server_round).configure_train(server_round, arrays, config, grid)

    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        return self._for(server_round).aggregate_train(server_round, replies)

    def configure_evaluate(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        return self._for(server_round).configure_evaluate(server_round, arrays, config, grid)

    def aggregate_evaluate(
        self, server_round: int, replies: Iterable[Message]
    ) -> MetricRecord | None:
        return self._for(server_round).aggregate_evaluate(server_round, replies)

    def summary(self) -> None:
        self.private.summary()


def build_strategy(settings: RunSettings, sampled_nodes: int) -> Strategy:
    # Every step goes to every node still in the run; `RecordingGrid` bounds the waiting, so
    # Flower's own minimums are 1 (see the module docstring).
    common: dict[str, Any] = {
        "fraction_train": 1.0,
        "fraction_evaluate": 1.0,
        "min_train_nodes": 1,
        "min_evaluate_nodes": 1,
        "min_available_nodes": 1,
        "weighted_by_key": WEIGHT_KEY,
        "arrayrecord_key": ARRAYS_KEY,
        "configrecord_key": CONFIG_KEY,
    }
    strategy: Strategy
    if settings.strategy == "fedprox":
        strategy = FedProx(proximal_mu=settings.proximal_mu, **common)
    else:
        strategy = FedAvg(**common)
    if not settings.differential_privacy:
        return strategy
    private = DifferentialPrivacyClientSideFixedClipping(
        strategy,
        noise_multiplier=settings.dp_noise_multiplier,
        clipping_norm=settings.dp_clipping_norm,
        num_sampled_clients=sampled_nodes,
    )
    return StatisticsRoundsInTheClear(strategy, private)


def privacy_summary(settings: RunSettings, sampled_nodes: int) -> dict[str, Any]:
    dp: dict[str, Any] = {"enabled": settings.differential_privacy}
    if settings.differential_privacy:
        dp.update(
            mechanism="central DP, client-side fixed clipping, Gaussian noise on the aggregate",
            noise_multiplier=settings.dp_noise_multiplier,
            clipping_norm=settings.dp_clipping_norm,
            num_sampled_nodes=sampled_nodes,
            noise_stdev=settings.dp_noise_multiplier * settings.dp_clipping_norm / sampled_nodes,
            rounds=f"{model.STATISTICS_ROUNDS + 1}-{settings.rounds}",
            not_covered=(
                f"rounds 1-{model.STATISTICS_ROUNDS}: each node's descriptor mean and mean "
                "square, sent without clipping or noise"
            ),
        )
    return {
        "differential_privacy": dp,
        "secure_aggregation": {"enabled": False, "reason": SECAGG_REASON},
    }


def summarise(
    settings: RunSettings,
    run_id: int,
    grid: RecordingGrid,
    result: Result,
    sampled_nodes: int,
    seconds: float,
) -> dict[str, Any]:
    rounds = []
    for server_round in range(1, settings.rounds + 1):
        steps = grid.steps.get(server_round, {})
        for kind, aggregated in (
            ("train", result.train_metrics_clientapp.get(server_round)),
            ("evaluate", result.evaluate_metrics_clientapp.get(server_round)),
        ):
            if kind in steps and aggregated is not None:
                steps[kind].aggregated = dict(_node_metrics(kind, aggregated))
        rounds.append({"round": server_round, **{k: asdict(v) for k, v in steps.items()}})
    took_part = sorted(
        {int(node) for steps in grid.steps.values() for s in steps.values() for node in s.nodes}
    )
    last = result.evaluate_metrics_clientapp.get(settings.rounds)
    return {
        "run_id": str(run_id),
        "run_label": settings.run_label,
        "strategy": settings.strategy,
        "proximal_mu": settings.proximal_mu if settings.strategy == "fedprox" else None,
        "rounds": settings.rounds,
        "statistics_rounds": model.STATISTICS_ROUNDS,
        "min_nodes": settings.min_nodes,
        "local_epochs": settings.local_epochs,
        "learning_rate": settings.learning_rate,
        "round_timeout_s": settings.round_timeout_s,
        "privacy": privacy_summary(settings, sampled_nodes),
        "nodes": [{"node_id": str(node), "name": grid.names.get(node, "")} for node in took_part],
        "dropped_nodes": [
            {"node_id": str(node), "name": grid.names.get(node, ""), **info}
            for node, info in grid.dropped.items()
        ],
        "per_round": rounds,
        "final": dict(_node_metrics("evaluate", last)) if last is not None else {},
        "seconds": round(seconds, 3),
    }


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_outputs(out_dir: Path, arrays: list[np.ndarray], summary: Mapping[str, Any]) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, *arrays)
    _write_atomically(out_dir / "global.npz", buffer.getvalue())
    text = json.dumps(summary, indent=2, sort_keys=False, allow_nan=True)
    _write_atomically(out_dir / "summary.json", text.encode())


app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    started = time.monotonic()
    settings = RunSettings.from_run_config(context.run_config, context.run_id)
    recording = RecordingGrid(grid, settings)
    nodes = recording.wait_for_nodes(settings.min_nodes, settings.round_timeout_s)
    strategy = build_strategy(settings, len(nodes))
    train_config = ConfigRecord(
        {"local-epochs": settings.local_epochs, "learning-rate": settings.learning_rate}
    )
    initial = model.initial_weights()
    result = strategy.start(
        grid=recording,
        initial_arrays=ArrayRecord(initial),
        num_rounds=settings.rounds,
        timeout=settings.round_timeout_s,
        train_config=train_config,
    )
    summary = summarise(
        settings, context.run_id, recording, result, len(nodes), time.monotonic() - started
    )
    # No round aggregated anything when every node failed every step: the model is unchanged.
    final = result.arrays.to_numpy_ndarrays() if len(result.arrays) else initial
    write_outputs(settings.out_dir, final, summary)
    logger.info("Wrote global.npz and summary.json to %s", settings.out_dir)
