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
`StatisticsRoundsInTheClear`).

`secure-aggregation=true` runs Flower's SecAgg+ instead: the server only ever sees the sum of
the nodes' masked updates, every round (the statistics round included). In Flower 1.41 SecAgg+
exists only for the legacy API, so this path runs `DefaultWorkflow(fit_workflow=
SecAggPlusWorkflow(...))` on a `LegacyContext` with `flwr.server.strategy.FedAvg`/`FedProx`
(`run_secure`), and the ClientApp answers in the legacy format. Each node sends
`[q, q * arrays]` with q ~ examples / `secagg-max-weight`, quantized after clipping to
+/- `secagg-clipping-range`; the unmasked sum divided by the summed q is the example-weighted
mean of every array, i.e. `model.fedavg`, up to the quantization step (about
nodes * 2 * clipping-range / 2**22 * max-weight / total examples per value). Nodes refuse an
update that the clipping would change. Parameters: `secagg-num-shares` (odd, > 2; each node's
secrets are split among that many neighbours, itself included) and `secagg-reconstruction-threshold`
(2 or more, below num-shares and at most min-nodes: shares needed to unmask; the more, the more
nodes must collude to unmask one node, the fewer dropouts are tolerated). SecAgg+ needs at
least 2 nodes, and with exactly 2 each node can derive the other's update from the global model
and its own, so use 3 or more where that matters. It is not combined with DP here (refused at
the start): Flower's legacy DP wrappers could sit beside it, but this app's DP (Message-API
wrappers, `StatisticsRoundsInTheClear`) has no legacy counterpart yet.

Outputs, in `out-dir` (default `./federated-runs/<run id>` beside the SuperLink): `global.npz`
(the final arrays as arr_0, arr_1, ... in `model.initial_weights()` order) and `summary.json`.
Both are written atomically. While the run goes, `progress.json` (the summary's form, with only
the steps done so far, and no final metrics) is rewritten after each step, so the hub can show
rounds as they complete. With `out-s3-bucket` (a hub whose files are in S3, its SuperLink in a
pod of its own) each of the three files is also put into that bucket under `out-s3-key`, whole
or not at all, where the hub's worker reads them.
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
from flwr.common import Metrics, Scalar, ndarrays_to_parameters, parameters_to_ndarrays
from flwr.common.constant import ErrorCode
from flwr.common.secure_aggregation.secaggplus_constants import Key as SecAggKey
from flwr.compat.common import recorddict_compat as compat
from flwr.server import LegacyContext, ServerConfig, SimpleClientManager
from flwr.server import strategy as legacy
from flwr.server.workflow import DefaultWorkflow, SecAggPlusWorkflow
from flwr.server.workflow.constant import MAIN_PARAMS_RECORD
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import (
    DifferentialPrivacyClientSideFixedClipping,
    FedAvg,
    FedProx,
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
    SECAGG_CLIPPING_KEY,
    SECAGG_MAX_WEIGHT_KEY,
    SECAGG_RECORD,
    WEIGHT_KEY,
    config_number,
)
from yunfab.blobs import S3BlobStore, S3Location, checked_key

logger = logging.getLogger("flwr")

STRATEGIES = ("fedavg", "fedprox")
SECAGG_MIN_NODES = 2
SECAGG_QUANTIZATION_RANGE = 2**22  # Flower's default; its modulus is 2**32
_WAIT_POLL_S = 1.0


class RunConfigError(ValueError):
    """The run config asks for something this app does not do."""


def _out_store(config: Mapping[str, Any]) -> tuple[S3Location | None, str]:
    bucket = str(config.get("out-s3-bucket", "") or "")
    if not bucket:
        return None, ""
    location = S3Location(
        bucket=bucket,
        endpoint_url=str(config.get("out-s3-endpoint-url", "") or "") or None,
        region=str(config.get("out-s3-region", "") or "") or "us-east-1",
    )
    try:
        return location, checked_key(str(config.get("out-s3-key", "") or ""))
    except ValueError as exc:
        raise RunConfigError(f"out-s3-key: {exc}") from None


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
    secure_aggregation: bool = False
    secagg_num_shares: int = 3
    secagg_reconstruction_threshold: int = 2
    secagg_clipping_range: float = 100.0
    secagg_max_weight: float = 1000.0
    out_store: S3Location | None = None
    out_key: str = ""

    @classmethod
    def from_run_config(cls, config: Mapping[str, Any], run_id: int) -> RunSettings:
        strategy = str(config["strategy"]).lower()
        if strategy not in STRATEGIES:
            raise RunConfigError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
        out_store, out_key = _out_store(config)
        settings = cls(
            out_store=out_store,
            out_key=out_key,
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
            secure_aggregation=bool(config.get("secure-aggregation", False)),
            secagg_num_shares=int(config.get("secagg-num-shares", 3)),
            secagg_reconstruction_threshold=int(config.get("secagg-reconstruction-threshold", 2)),
            secagg_clipping_range=float(config.get("secagg-clipping-range", 100.0)),
            secagg_max_weight=float(config.get("secagg-max-weight", 1000.0)),
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
        if settings.secure_aggregation:
            settings.check_secure_aggregation()
        return settings

    def check_secure_aggregation(self) -> None:
        if self.differential_privacy:
            raise RunConfigError(
                "secure-aggregation and differential privacy (dp-noise-multiplier > 0) are not "
                "offered together: choose one"
            )
        if self.min_nodes < SECAGG_MIN_NODES:
            raise RunConfigError(
                f"secure-aggregation needs min-nodes >= {SECAGG_MIN_NODES} (3 or more advised)"
            )
        shares, threshold = self.secagg_num_shares, self.secagg_reconstruction_threshold
        if shares <= 2 or not 2 <= threshold < shares or threshold > self.min_nodes:
            raise RunConfigError(
                "secagg-num-shares must be > 2 and secagg-reconstruction-threshold at least 2, "
                f"below num-shares and at most min-nodes; got {shares} and {threshold}"
            )
        if shares % 2 == 0:
            # Flower 1.41 sends an even count to the nodes but gives each node one neighbour
            # more (an odd count) when there are more nodes than shares: every node then fails
            # the share-keys stage, every round, and the run ends with the initial model.
            raise RunConfigError(f"secagg-num-shares must be odd, got {shares}")
        if self.secagg_clipping_range <= 0 or self.secagg_max_weight <= 0:
            raise RunConfigError("secagg-clipping-range and secagg-max-weight must be > 0")

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


def _node_metrics(kind: str, metrics: Mapping[str, Any]) -> dict[str, Any]:
    """A reply's allow-listed metrics under the names summary.json uses."""
    prefix = "train" if kind == "train" else "eval"
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        name = f"{prefix}_examples" if key == WEIGHT_KEY else key
        out[name] = value
    return out


def _step_kind(message: Message) -> str:
    """train/evaluate, or the SecAgg+ stage; its collect stage is the one that trains."""
    protocol = message.content.config_records.get(SECAGG_RECORD)
    if protocol is None:
        return message.metadata.message_type
    stage = str(protocol.get(SecAggKey.STAGE, ""))
    return "train" if stage == "collect_masked_vectors" else f"secagg_{stage}"


def _reply_metrics(kind: str, content: RecordDict) -> dict[str, Any]:
    """A reply's metrics, in the Message-API format or the legacy one (SecAgg+ runs)."""
    if METRICS_KEY in content.metric_records:
        return _node_metrics(kind, content.metric_records[METRICS_KEY])
    prefix = "fitres" if kind == "train" else "evaluateres"
    if f"{prefix}.num_examples" not in content.metric_records:
        return {}  # a SecAgg+ key exchange: protocol data only
    examples = content.metric_records[f"{prefix}.num_examples"]["num_examples"]
    metrics = dict(content.config_records.get(f"{prefix}.metrics", ConfigRecord()))
    return _node_metrics(kind, {**metrics, WEIGHT_KEY: examples})


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
        self.started = time.monotonic()
        self.sampled_nodes = 0

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
        kind = _step_kind(sent[0])
        config = sent[0].content.config_records.get(CONFIG_KEY, ConfigRecord())
        group = sent[0].metadata.group_id
        fallback = int(group) if group.isdigit() else 0  # Flower's workflows: the round
        server_round = int(config_number(config, "server-round", fallback))
        # Flower's legacy workflows wait with no limit; every step here is bounded.
        timeout = self._settings.round_timeout_s if timeout is None else timeout
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
            name = self.names.get(node, "")
            step.nodes[str(node)] = {"name": name, **_reply_metrics(kind, reply.content)}
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
        self.write_progress()
        return replies

    def write_progress(self) -> None:
        """`progress.json`: the rounds so far; a failure to write it never stops the run."""
        try:
            write_progress(self._settings, self._grid.run.run_id, self)
        except Exception:
            logger.exception("Could not write progress.json")

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
        self._sent: list[np.ndarray] | None = None

    def _for(self, server_round: int) -> Strategy:
        return self.plain if server_round <= model.STATISTICS_ROUNDS else self.private

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        self._sent = arrays.to_numpy_ndarrays()
        return self._for(server_round).configure_train(server_round, arrays, config, grid)

    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        """In training rounds the noise goes on the whole update, moments and flag included,
        though nodes send those back unchanged: they are put back as they were sent, so only the
        head carries noise (and a noised flag cannot unset the standardisation)."""
        arrays, metrics = self._for(server_round).aggregate_train(server_round, replies)
        if arrays is None or server_round <= model.STATISTICS_ROUNDS or self._sent is None:
            return arrays, metrics
        kept = arrays.to_numpy_ndarrays()
        for index in model.FIXED_AFTER_STATISTICS:
            kept[index] = self._sent[index]
        return ArrayRecord(kept), metrics

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
    secagg: dict[str, Any] = {"enabled": settings.secure_aggregation}
    if settings.secure_aggregation:
        secagg.update(
            protocol="SecAgg+ (Flower SecAggPlusWorkflow / secaggplus_mod)",
            num_shares=settings.secagg_num_shares,
            reconstruction_threshold=settings.secagg_reconstruction_threshold,
            clipping_range=settings.secagg_clipping_range,
            max_weight=settings.secagg_max_weight,
            quantization_range=SECAGG_QUANTIZATION_RANGE,
            rounds=f"1-{settings.rounds}",
            not_covered="each node's example count and training/evaluation metrics",
        )
    return {"differential_privacy": dp, "secure_aggregation": secagg}


def summarise(
    settings: RunSettings,
    run_id: int,
    grid: RecordingGrid,
    aggregated_train: Mapping[int, Mapping[str, Any]],
    aggregated_evaluate: Mapping[int, Mapping[str, Any]],
    sampled_nodes: int,
    seconds: float,
) -> dict[str, Any]:
    rounds = []
    for server_round in range(1, settings.rounds + 1):
        steps = grid.steps.get(server_round, {})
        for kind, aggregated in (
            ("train", aggregated_train.get(server_round)),
            ("evaluate", aggregated_evaluate.get(server_round)),
        ):
            if kind in steps and aggregated is not None:
                steps[kind].aggregated = dict(_node_metrics(kind, aggregated))
        rounds.append({"round": server_round, **{k: asdict(v) for k, v in steps.items()}})
    took_part = sorted(
        {int(node) for steps in grid.steps.values() for s in steps.values() for node in s.nodes}
    )
    last = aggregated_evaluate.get(settings.rounds)
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


def progress(settings: RunSettings, run_id: int, grid: RecordingGrid) -> dict[str, Any]:
    """The summary's form while the run goes: the steps done so far, no final evaluation."""
    doc = summarise(
        settings, run_id, grid, {}, {}, grid.sampled_nodes, time.monotonic() - grid.started
    )
    doc["per_round"] = [r for r in doc["per_round"] if r["round"] in grid.steps]
    doc["in_progress"] = True
    return doc


def write_progress(settings: RunSettings, run_id: int, grid: RecordingGrid) -> None:
    text = json.dumps(progress(settings, run_id, grid), sort_keys=False, allow_nan=True)
    _write_atomically(settings.out_dir / "progress.json", text.encode())
    _store(settings, {"progress.json": text.encode()})


def _store(settings: RunSettings, files: Mapping[str, bytes]) -> None:
    """The outputs into the hub's bucket too, when it keeps its files in S3."""
    if settings.out_store is None:
        return
    store = S3BlobStore(settings.out_store)
    for name, data in files.items():
        store.put_bytes(f"{settings.out_key}/{name}", data)


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


def write_outputs(
    out_dir: Path,
    arrays: list[np.ndarray],
    summary: Mapping[str, Any],
    settings: RunSettings | None = None,
) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, *arrays)
    _write_atomically(out_dir / "global.npz", buffer.getvalue())
    text = json.dumps(summary, indent=2, sort_keys=False, allow_nan=True)
    _write_atomically(out_dir / "summary.json", text.encode())
    if settings is not None:
        # The weights before the summary: the hub takes a summary as the sign they are there.
        _store(settings, {"global.npz": buffer.getvalue(), "summary.json": text.encode()})


class BoundedClientManager(SimpleClientManager):
    """The legacy client manager, waiting at most `timeout_s` for nodes (Flower: a day)."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self._timeout_s = timeout_s

    def wait_for(self, num_clients: int, timeout: int = 86400) -> bool:
        return super().wait_for(num_clients, int(min(timeout, self._timeout_s)))


def _weighted_mean(results: list[tuple[int, Metrics]]) -> Metrics:
    total = sum(count for count, _ in results)
    keys = {key for _, metrics in results for key in metrics}
    if total <= 0:
        return {}
    return {
        key: sum(count * float(m.get(key, 0.0)) for count, m in results) / total
        for key in sorted(keys)
    }


def _history(metrics: Mapping[str, list[tuple[int, Scalar]]]) -> dict[int, dict[str, Any]]:
    by_round: dict[int, dict[str, Any]] = {}
    for key, values in metrics.items():
        for server_round, value in values:
            by_round.setdefault(server_round, {})[key] = value
    return by_round


def run_secure(
    grid: RecordingGrid, context: Context, settings: RunSettings
) -> tuple[list[np.ndarray], dict[int, dict[str, Any]], dict[int, dict[str, Any]]]:
    """SecAgg+ rounds on Flower's legacy workflow: (final arrays, train and evaluate metrics)."""
    initial = model.initial_weights()

    def fit_config(server_round: int) -> dict[str, Scalar]:
        config: dict[str, Scalar] = {
            "server-round": server_round,
            "local-epochs": settings.local_epochs,
            "learning-rate": settings.learning_rate,
            SECAGG_CLIPPING_KEY: settings.secagg_clipping_range,
            SECAGG_MAX_WEIGHT_KEY: settings.secagg_max_weight,
        }
        if settings.strategy == "fedprox":
            config["proximal-mu"] = settings.proximal_mu
        return config

    common: dict[str, Any] = {
        "fraction_fit": 1.0,
        "fraction_evaluate": 1.0,
        "min_fit_clients": SECAGG_MIN_NODES,
        "min_evaluate_clients": 1,
        "min_available_clients": SECAGG_MIN_NODES,
        "initial_parameters": ndarrays_to_parameters(initial),
        "on_fit_config_fn": fit_config,
        "on_evaluate_config_fn": lambda server_round: {"server-round": server_round},
        "fit_metrics_aggregation_fn": _weighted_mean,
        "evaluate_metrics_aggregation_fn": _weighted_mean,
    }
    strategy: legacy.Strategy
    if settings.strategy == "fedprox":
        strategy = legacy.FedProx(proximal_mu=settings.proximal_mu, **common)
    else:
        strategy = legacy.FedAvg(**common)
    legacy_context = LegacyContext(
        context,
        config=ServerConfig(num_rounds=settings.rounds, round_timeout=settings.round_timeout_s),
        strategy=strategy,
        client_manager=BoundedClientManager(settings.round_timeout_s),
    )
    secagg = SecAggPlusWorkflow(
        num_shares=settings.secagg_num_shares,
        reconstruction_threshold=settings.secagg_reconstruction_threshold,
        max_weight=settings.secagg_max_weight,
        clipping_range=settings.secagg_clipping_range,
        quantization_range=SECAGG_QUANTIZATION_RANGE,
        timeout=settings.round_timeout_s,
    )
    DefaultWorkflow(fit_workflow=secagg)(grid, legacy_context)
    arrays = legacy_context.state.array_records[MAIN_PARAMS_RECORD]
    final = parameters_to_ndarrays(compat.arrayrecord_to_parameters(arrays, keep_input=True))
    history = legacy_context.history
    return final, _history(history.metrics_distributed_fit), _history(history.metrics_distributed)


app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    started = time.monotonic()
    settings = RunSettings.from_run_config(context.run_config, context.run_id)
    recording = RecordingGrid(grid, settings)
    nodes = recording.wait_for_nodes(settings.min_nodes, settings.round_timeout_s)
    recording.sampled_nodes = len(nodes)
    if settings.secure_aggregation:
        final, train, evaluate = run_secure(recording, context, settings)
        summary = summarise(
            settings, context.run_id, recording, train, evaluate, len(nodes),
            time.monotonic() - started,
        )  # fmt: skip
        write_outputs(settings.out_dir, final or model.initial_weights(), summary, settings)
        logger.info("Wrote global.npz and summary.json to %s", settings.out_dir)
        return
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
        settings,
        context.run_id,
        recording,
        result.train_metrics_clientapp,
        result.evaluate_metrics_clientapp,
        len(nodes),
        time.monotonic() - started,
    )
    # No round aggregated anything when every node failed every step: the model is unchanged.
    final = result.arrays.to_numpy_ndarrays() if len(result.arrays) else initial
    write_outputs(settings.out_dir, final, summary, settings)
    logger.info("Wrote global.npz and summary.json to %s", settings.out_dir)
