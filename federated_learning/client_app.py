"""The ClientApp each node's SuperNode runs: local training on the node's own image store.

The node's images never leave it. What does leave is checked by `egress_guard`, the outermost mod
of our own: a reply may carry the model's arrays (same shapes as `model.initial_weights()`), a
MetricRecord whose keys are all in `ALLOWED_METRICS`, and the node's name; anything else makes the
guard raise, so Flower sends an error reply instead. Exceptions from the handlers are reduced to
their type name for the same reason: Flower would otherwise send `str(exc)` (paths, values) to the
SuperLink. The full traceback stays in the SuperNode's log.

Secure aggregation. A run with `secure-aggregation=true` uses Flower's SecAgg+, which in Flower
1.41 exists only for the legacy message format (`fitins.*`/`fitres.*` records): the server sends
four train messages per round (setup, share keys, collect masked vectors, unmask) and
`secaggplus_mod` answers them, calling `train` only in the collect stage and replacing the
node's arrays with a masked, example-weighted, quantized vector. The handlers below serve that
format with the same model functions, and the guard allows exactly what those replies carry (see
`check_secagg_reply`): a node in such a run never sends its arrays in the clear. SecAgg+ clips
each weighted value `value * examples / max-weight` to +/- `clipping-range` before quantizing;
`train` refuses an update that would be clipped (`SecAggRangeExceeded`) rather than let it
corrupt the global model silently.

Node config (`flower-supernode --node-config "data-path='...' node-name='...'"`):
  data-path   the node's image store (one folder per SKU), required
  node-name   the name the hub knows the node by, sent with each reply
  egress-log  optional JSON-lines file: one line per reply leaving the node (see `egress_recorder`)

This module stays light: flwr and numpy only; torch is imported inside `model.prepare`/training.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.app.message_type import MessageType
from flwr.client.mod import secaggplus_mod
from flwr.clientapp import ClientApp
from flwr.clientapp.mod import fixedclipping_mod
from flwr.clientapp.typing import ClientAppCallable
from flwr.common import (
    Code,
    EvaluateRes,
    FitRes,
    Status,
    bytes_to_ndarray,
    ndarrays_to_parameters,
    parameters_to_ndarrays,
)
from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS, Key
from flwr.compat.common import recorddict_compat as compat

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
NODE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
"""What a node may call itself in a reply (its Yunfab node name)."""
ALLOWED_METRICS = TRAIN_METRICS | EVALUATE_METRICS
"""Every metric key a reply may carry. Adding one here is a decision about what nodes disclose."""

SECAGG_RECORD = RECORD_KEY_CONFIGS
"""The ConfigRecord in which Flower's SecAgg+ messages and replies carry the protocol."""
LEGACY_FIT_PARAMS = "fitins.parameters"
LEGACY_EVALUATE_PARAMS = "evaluateins.parameters"
STATUS_MESSAGE = "Success"
"""The one status message a legacy reply may carry (Flower's own word for Code.OK)."""
SECAGG_CLIPPING_KEY = "secagg-clipping-range"
SECAGG_MAX_WEIGHT_KEY = "secagg-max-weight"
"""Set in the legacy train config by the server, so that `train` can check an update's range."""
SECAGG_STAGE_REPLIES = (
    frozenset({Key.PUBLIC_KEY_1, Key.PUBLIC_KEY_2}),  # setup: the node's two public keys
    frozenset({Key.DESTINATION_LIST, Key.CIPHERTEXT_LIST}),  # share keys: encrypted shares
    frozenset({Key.MASKED_PARAMETERS}),  # collect: the masked, quantized, weighted update
    frozenset({Key.NODE_ID_LIST, Key.SHARE_LIST}),  # unmask: shares of neighbours' secrets
)
"""The protocol record's keys, one set per SecAgg+ stage; a reply carries exactly one set."""
SECAGG_TRAIN_RECORDS = {
    "fitres.parameters": frozenset(),  # emptied by secaggplus_mod: the arrays leave masked
    "fitres.num_examples": frozenset({"num_examples"}),  # the weight, as in FedAvg
    "fitres.metrics": TRAIN_METRICS,
    "fitres.status": frozenset({"code", "message"}),
    NODE_RECORD: frozenset({NODE_NAME_KEY}),
}
"""Beside the protocol record, what a collect-stage reply may carry (record -> allowed keys)."""
LEGACY_EVALUATE_RECORDS = {
    "evaluateres.loss": frozenset({"loss"}),
    "evaluateres.num_examples": frozenset({"num_examples"}),
    "evaluateres.metrics": EVALUATE_METRICS,
    "evaluateres.status": frozenset({"code", "message"}),
    NODE_RECORD: frozenset({NODE_NAME_KEY}),
}


class EgressRefused(RuntimeError):
    """A reply would carry more than model arrays, allow-listed metrics and the node's name."""


class ClientAppFailed(RuntimeError):
    """A handler failed; only the exception's type leaves the node."""


class SecAggRangeExceeded(ValueError):
    """An update would be clipped by SecAgg+'s quantization: raise the run's clipping range or
    max weight."""


def model_shapes() -> list[tuple[int, ...]]:
    return [tuple(array.shape) for array in model.initial_weights()]


def _is_legacy(reply: Message) -> bool:
    return any(key == SECAGG_RECORD or "." in key for key in reply.content.keys())


def _check_records(
    records: Mapping[str, Any], allowed: Mapping[str, frozenset[str]], what: str
) -> None:
    for key, record in records.items():
        if key not in allowed:
            raise EgressRefused(f"a record {key!r} in a {what} reply")
        if isinstance(record, ArrayRecord):
            if len(record):
                raise EgressRefused(f"arrays in {key!r} of a {what} reply")
            continue
        unknown = set(record.keys()) - allowed[key]
        if unknown:
            raise EgressRefused(f"{key!r} with keys {sorted(unknown)} in a {what} reply")
        for name, value in record.items():
            clear = isinstance(value, int | float) and not isinstance(value, bool)
            if name == NODE_NAME_KEY or (name == "message" and value == STATUS_MESSAGE):
                continue
            if not clear:
                raise EgressRefused(f"{key!r}[{name!r}] is not a number")


def check_secagg_reply(reply: Message, shapes: Sequence[tuple[int, ...]]) -> None:
    """The legacy-format replies of a SecAgg+ run: train replies carry one stage's protocol
    record (keys, ciphertexts, shares, or the masked vector: the model's shapes plus SecAgg+'s
    weight factor, as integers) and, in the collect stage only, the example count, allow-listed
    training metrics, an OK status and the node's name. Evaluate replies carry metrics only."""
    records = dict(reply.content.items())
    protocol = records.pop(SECAGG_RECORD, None)
    message_type = reply.metadata.message_type
    if message_type == MessageType.EVALUATE:
        if protocol is not None:
            raise EgressRefused("a SecAgg+ record in an evaluate reply")
        _check_records(records, LEGACY_EVALUATE_RECORDS, message_type)
        return
    if message_type != MessageType.TRAIN or not isinstance(protocol, ConfigRecord):
        raise EgressRefused(f"a legacy {message_type} reply outside SecAgg+")
    keys = frozenset(protocol.keys())
    if keys not in SECAGG_STAGE_REPLIES:
        raise EgressRefused(f"SecAgg+ record with keys {sorted(keys)}")
    for name, value in protocol.items():
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(item, bytes | int) and not isinstance(item, bool) for item in items):
            raise EgressRefused(f"SecAgg+ {name!r} holds something other than bytes or ids")
    if keys != {Key.MASKED_PARAMETERS}:
        if records:
            raise EgressRefused(f"records {sorted(records)} beside a SecAgg+ key exchange")
        return
    vectors = protocol[Key.MASKED_PARAMETERS]
    items = vectors if isinstance(vectors, list) else [vectors]
    masked = [bytes_to_ndarray(b) for b in items if isinstance(b, bytes)]
    got = [tuple(array.shape) for array in masked]
    if got != [(1,), *shapes] or not all(np.issubdtype(a.dtype, np.integer) for a in masked):
        raise EgressRefused(f"a masked vector of shapes {got}, the model's are {list(shapes)}")
    if "fitres.parameters" not in records:
        raise EgressRefused("a collect-stage reply without its (emptied) arrays record")
    _check_records(records, SECAGG_TRAIN_RECORDS, message_type)


def check_reply(reply: Message, shapes: Sequence[tuple[int, ...]]) -> None:
    """Raise `EgressRefused` unless `reply` carries only what a node may send."""
    if reply.has_error():
        # Errors made by our own code are already reduced to a type name by `egress_guard`.
        return
    if _is_legacy(reply):
        check_secagg_reply(reply, shapes)
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
            if not all(isinstance(value, int | float) for value in record.values()):
                raise EgressRefused(f"MetricRecord {key!r}: metrics are single numbers")
        elif isinstance(record, ConfigRecord):
            if key != NODE_RECORD or set(record.keys()) != {NODE_NAME_KEY}:
                raise EgressRefused(f"ConfigRecord {key!r} with keys {sorted(record.keys())}")
            name = record[NODE_NAME_KEY]
            if not isinstance(name, str) or not NODE_NAME.fullmatch(name):
                raise EgressRefused("the node's name is a short slug, nothing else")
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


def _record_bytes(record: ArrayRecord | MetricRecord | ConfigRecord) -> int:
    # Flower's ConfigRecord.count_bytes raises on "" and on empty lists.
    if not isinstance(record, ConfigRecord):
        return record.count_bytes()
    size = 0
    for key, value in record.items():
        for item in value if isinstance(value, list) else [value]:
            size += len(item) if isinstance(item, str | bytes) else 8
        size += len(key)
    return size


def describe_reply(reply: Message) -> dict[str, Any]:
    """What a reply carries, as `egress_recorder` writes it (shapes and keys, never values)."""
    records: dict[str, Any] = {}
    total_bytes = 0
    if not reply.has_error():
        for key, record in reply.content.items():
            size = _record_bytes(record)
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


def secure_aggregation(msg: Message, ctx: Context, call_next: ClientAppCallable) -> Message:
    """Flower's SecAgg+ client side, for the messages of a secure-aggregation run. A legacy train
    message always goes through it, so its arrays can only leave masked."""
    content = msg.content
    if SECAGG_RECORD in content.config_records or LEGACY_FIT_PARAMS in content.array_records:
        return secaggplus_mod(msg, ctx, call_next)
    return call_next(msg, ctx)


# App-level mods must be given before the handlers are registered: each decorator captures them.
app = ClientApp(mods=[egress_recorder, egress_guard])


def _store(ctx: Context) -> Path:
    path = ctx.node_config.get("data-path")
    if not path:
        raise ValueError("the SuperNode's node config has no data-path")
    return Path(str(path))


def config_number(config: Mapping[str, Any], key: str, default: float) -> float:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"config {key!r} must be a number, got {value!r}")
    return float(value)


def _node_record(ctx: Context) -> ConfigRecord:
    return ConfigRecord({NODE_NAME_KEY: str(ctx.node_config.get("node-name", ""))})


def _local_train(
    weights: list[np.ndarray], config: Mapping[str, Any], ctx: Context
) -> tuple[list[np.ndarray], float, int]:
    data = model.prepare(_store(ctx))
    new_weights, metrics = model.local_train(
        weights,
        data,
        epochs=int(config_number(config, "local-epochs", 20)),
        learning_rate=config_number(config, "learning-rate", 0.1),
        proximal_mu=config_number(config, "proximal-mu", 0.0),
    )
    loss = metrics.get("train_loss", metrics.get("loss", float("nan")))
    return new_weights, float(loss), len(data.train_y)


def check_secagg_range(
    weights: Sequence[np.ndarray], examples: int, config: Mapping[str, Any]
) -> None:
    """SecAgg+ sends `value * examples / max_weight`, clipped to +/- clipping_range: refuse an
    update that the clipping would change (it would bias the global model without a trace)."""
    clipping = config_number(config, SECAGG_CLIPPING_KEY, 0.0)
    max_weight = config_number(config, SECAGG_MAX_WEIGHT_KEY, 0.0)
    if clipping <= 0 or max_weight <= 0:
        raise SecAggRangeExceeded("the train config lacks SecAgg+'s clipping range and max weight")
    if examples > max_weight:
        raise SecAggRangeExceeded(f"{examples} examples exceed secagg-max-weight {max_weight:g}")
    largest = max(float(np.abs(w).max(initial=0.0)) for w in weights)
    if largest * examples / max_weight > clipping:
        raise SecAggRangeExceeded(
            f"|value| {largest:.4g} x {examples} / {max_weight:g} exceeds secagg-clipping-range "
            f"{clipping:g}"
        )


def _train_secure(msg: Message, ctx: Context) -> Message:
    """The collect stage of SecAgg+: legacy FitIns in, FitRes out (`secaggplus_mod` masks it)."""
    fitins = compat.recorddict_to_fitins(msg.content, keep_input=True)
    new_weights, loss, examples = _local_train(
        parameters_to_ndarrays(fitins.parameters), fitins.config, ctx
    )
    check_secagg_range(new_weights, examples, fitins.config)
    fitres = FitRes(
        Status(Code.OK, STATUS_MESSAGE),
        ndarrays_to_parameters(new_weights),
        examples,
        {"train_loss": loss},
    )
    content = compat.fitres_to_recorddict(fitres, keep_input=False)
    content[NODE_RECORD] = _node_record(ctx)
    return Message(content=content, reply_to=msg)


@app.train(mods=[secure_aggregation, dp_clipping])
def train(msg: Message, ctx: Context) -> Message:
    if LEGACY_FIT_PARAMS in msg.content.array_records:
        return _train_secure(msg, ctx)
    config = msg.content.config_records.get(CONFIG_KEY, ConfigRecord())
    weights = msg.content.array_records[ARRAYS_KEY]
    new_weights, loss, examples = _local_train(weights.to_numpy_ndarrays(), config, ctx)
    content = RecordDict(
        {
            # Same keys as the incoming record: Flower's clipping mod and aggregation expect it.
            ARRAYS_KEY: ArrayRecord(
                {key: Array(a) for key, a in zip(weights.keys(), new_weights, strict=True)}
            ),
            METRICS_KEY: MetricRecord({"train_loss": loss, WEIGHT_KEY: examples}),
            NODE_RECORD: _node_record(ctx),
        }
    )
    return Message(content=content, reply_to=msg)


def _evaluate_secure(msg: Message, ctx: Context) -> Message:
    """Evaluation in a SecAgg+ run: legacy EvaluateIns in, EvaluateRes out (metrics only)."""
    evaluateins = compat.recorddict_to_evaluateins(msg.content, keep_input=True)
    data = model.prepare(_store(ctx))
    weights = parameters_to_ndarrays(evaluateins.parameters)
    result = model.evaluate(weights, data.test_x, data.test_y)
    evaluateres = EvaluateRes(
        Status(Code.OK, STATUS_MESSAGE),
        loss=float(result["loss"]),
        num_examples=int(result.get("examples", len(data.test_y))),
        metrics={"eval_auroc": float(result["auroc"]), "eval_loss": float(result["loss"])},
    )
    content = compat.evaluateres_to_recorddict(evaluateres)
    content[NODE_RECORD] = _node_record(ctx)
    return Message(content=content, reply_to=msg)


@app.evaluate()
def evaluate(msg: Message, ctx: Context) -> Message:
    if LEGACY_EVALUATE_PARAMS in msg.content.array_records:
        return _evaluate_secure(msg, ctx)
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
