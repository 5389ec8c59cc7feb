"""The ClientApp each node's SuperNode runs: local training on the node's own image store.

The node's images never leave it. What does leave is checked by `egress_guard`, the outermost mod
of our own: a reply may carry the model's arrays (same shapes as `model.initial_weights()`), a
MetricRecord whose keys are all in `ALLOWED_METRICS`, and the node's name; anything else makes the
guard raise, so Flower sends an error reply instead. Exceptions from the handlers are reduced to
their type name for the same reason: Flower would otherwise send `str(exc)` (paths, values) to the
SuperLink. The full traceback stays in the SuperNode's log.

Node config (`flower-supernode --node-config "data-path='...' node-name='...'"`):
  data-path   the node's image store (one folder per SKU), required
  node-name   the name the hub knows the node by, sent with each reply
  egress-log  optional JSON-lines file: one line per reply leaving the node (see `egress_recorder`)

This module stays light: flwr and numpy only; torch is imported inside `model.prepare`/training.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.app.message_type import MessageType
from flwr.clientapp import ClientApp
from flwr.clientapp.mod import fixedclipping_mod
from flwr.clientapp.typing import ClientAppCallable

from federated_learning import model

logger = logging.getLogger(__name__)

ARRAYS_KEY = "arrays"
METRICS_KEY = "metrics"
CONFIG_KEY = "config"
NODE_RECORD = "node"
NODE_NAME_KEY = "name"
WEIGHT_KEY = "num-examples"
"""Flower's strategies weight replies by this metric; it is the size of the split used."""
CLIPPING_NORM_KEY = "clipping_norm"
"""Set in the train config by `DifferentialPrivacyClientSideFixedClipping`."""

TRAIN_METRICS = frozenset({WEIGHT_KEY, "train_loss"})
EVALUATE_METRICS = frozenset({WEIGHT_KEY, "eval_auroc", "eval_loss"})
ALLOWED_METRICS = TRAIN_METRICS | EVALUATE_METRICS
"""Every metric key a reply may carry. Adding one here is a decision about what nodes disclose."""


class EgressRefused(RuntimeError):
    """A reply would carry more than model arrays, allow-listed metrics and the node's name."""


class ClientAppFailed(RuntimeError):
    """A handler failed; only the exception's type leaves the node."""


def model_shapes() -> list[tuple[int, ...]]:
    return [tuple(array.shape) for array in model.initial_weights()]


def check_reply(reply: Message, shapes: Sequence[tuple[int, ...]]) -> None:
    """Raise `EgressRefused` unless `reply` carries only what a node may send."""
    if reply.has_error():
        # Errors made by our own code are already reduced to a type name by `egress_guard`.
        return
    message_type = reply.metadata.message_type
    arrays_seen = 0
    for key, record in reply.content.items():
        if isinstance(record, ArrayRecord):
            if message_type != MessageType.TRAIN or key != ARRAYS_KEY:
                raise EgressRefused(f"an ArrayRecord {key!r} in a {message_type} reply")
            got = [tuple(array.shape) for array in record.values()]
            if got != list(shapes):
                raise EgressRefused(f"arrays of shapes {got}, the model's are {list(shapes)}")
            arrays_seen += 1
        elif isinstance(record, MetricRecord):
            unknown = set(record.keys()) - ALLOWED_METRICS
            if key != METRICS_KEY or unknown:
                raise EgressRefused(f"MetricRecord {key!r} with keys {sorted(unknown)}")
        elif isinstance(record, ConfigRecord):
            if key != NODE_RECORD or set(record.keys()) != {NODE_NAME_KEY}:
                raise EgressRefused(f"ConfigRecord {key!r} with keys {sorted(record.keys())}")
        else:
            raise EgressRefused(f"a record {key!r} of type {type(record).__name__}")
    if message_type == MessageType.TRAIN and arrays_seen != 1:
        raise EgressRefused("a train reply without the model's arrays")


def egress_guard(msg: Message, ctx: Context, call_next: ClientAppCallable) -> Message:
    """Outermost mod of our own: refuse any reply that carries more than it may."""
    try:
        reply = call_next(msg, ctx)
    except Exception as exc:
        logger.exception("ClientApp handler failed on a %s message", msg.metadata.message_type)
        raise ClientAppFailed(type(exc).__name__) from None
    check_reply(reply, model_shapes())
    return reply


def describe_reply(reply: Message) -> dict[str, Any]:
    """What a reply carries, as `egress_recorder` writes it (shapes and keys, never values)."""
    records: dict[str, Any] = {}
    total_bytes = 0
    if not reply.has_error():
        for key, record in reply.content.items():
            size = record.count_bytes()
            total_bytes += size
            entry: dict[str, Any] = {"type": type(record).__name__, "bytes": size}
            if isinstance(record, ArrayRecord):
                entry["shapes"] = [list(array.shape) for array in record.values()]
                entry["dtypes"] = [array.dtype for array in record.values()]
            else:
                entry["keys"] = sorted(record.keys())
            records[key] = entry
    return {
        "time": time.time(),
        "message_type": reply.metadata.message_type,
        "dst_node_id": reply.metadata.dst_node_id,
        "has_error": reply.has_error(),
        "bytes": total_bytes,
        "records": records,
    }


def egress_recorder(msg: Message, ctx: Context, call_next: ClientAppCallable) -> Message:
    """Record every reply that leaves the node when the node config names an `egress-log`.

    It sits outside `egress_guard`, so it sees exactly what Flower sends on.
    """
    reply = call_next(msg, ctx)
    log_path = ctx.node_config.get("egress-log")
    if log_path:
        with Path(str(log_path)).open("a", encoding="utf-8") as log:
            log.write(json.dumps(describe_reply(reply)) + "\n")
    return reply


def dp_clipping(msg: Message, ctx: Context, call_next: ClientAppCallable) -> Message:
    """Flower's client-side fixed clipping, when the run asked for differential privacy."""
    config = msg.content.config_records.get(CONFIG_KEY)
    if config is not None and CLIPPING_NORM_KEY in config:
        return fixedclipping_mod(msg, ctx, call_next)
    return call_next(msg, ctx)


# App-level mods must be given before the handlers are registered: each decorator captures them.
app = ClientApp(mods=[egress_recorder, egress_guard])


def _store(ctx: Context) -> Path:
    path = ctx.node_config.get("data-path")
    if not path:
        raise ValueError("the SuperNode's node config has no data-path")
    return Path(str(path))


def config_number(config: ConfigRecord, key: str, default: float) -> float:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"config {key!r} must be a number, got {value!r}")
    return float(value)


def _node_record(ctx: Context) -> ConfigRecord:
    return ConfigRecord({NODE_NAME_KEY: str(ctx.node_config.get("node-name", ""))})


@app.train(mods=[dp_clipping])
def train(msg: Message, ctx: Context) -> Message:
    config = msg.content.config_records.get(CONFIG_KEY, ConfigRecord())
    weights = msg.content.array_records[ARRAYS_KEY]
    data = model.prepare(_store(ctx))
    new_weights, metrics = model.local_train(
        weights.to_numpy_ndarrays(),
        data,
        epochs=int(config_number(config, "local-epochs", 20)),
        learning_rate=config_number(config, "learning-rate", 0.1),
        proximal_mu=config_number(config, "proximal-mu", 0.0),
    )
    loss = metrics.get("train_loss", metrics.get("loss", float("nan")))
    content = RecordDict(
        {
            # Same keys as the incoming record: Flower's clipping mod and aggregation expect it.
            ARRAYS_KEY: ArrayRecord(
                {key: Array(a) for key, a in zip(weights.keys(), new_weights, strict=True)}
            ),
            METRICS_KEY: MetricRecord({"train_loss": float(loss), WEIGHT_KEY: len(data.train_y)}),
            NODE_RECORD: _node_record(ctx),
        }
    )
    return Message(content=content, reply_to=msg)


@app.evaluate()
def evaluate(msg: Message, ctx: Context) -> Message:
    weights = msg.content.array_records[ARRAYS_KEY].to_numpy_ndarrays()
    data = model.prepare(_store(ctx))
    result = model.evaluate(weights, data.test_x, data.test_y)
    metrics = MetricRecord(
        {
            "eval_auroc": float(result["auroc"]),
            "eval_loss": float(result["loss"]),
            WEIGHT_KEY: int(result.get("examples", len(data.test_y))),
        }
    )
    content = RecordDict({METRICS_KEY: metrics, NODE_RECORD: _node_record(ctx)})
    return Message(content=content, reply_to=msg)
