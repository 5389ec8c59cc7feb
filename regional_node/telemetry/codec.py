"""The plain-JSON telemetry convention (docs/telemetry.md): decoding into readings.

Decoding separates what is wrong with the message as a whole (not JSON, not the documented shape:
the message goes to dead letters) from what is wrong with single readings (a bad timestamp or a
non-numeric value: those readings go to dead letters, the rest of the message is accepted).

A message of plain readings (integer timestamps, numbers) is decoded into columns in bulk, with
no Python object made per reading; a message with anything else in it is read reading by
reading, which says what is wrong with each.
"""

from __future__ import annotations

import array
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

TELEMETRY_PREFIX = "yunfab/v1/telemetry/"


class MalformedMessage(ValueError):
    """The message as a whole cannot be read; `reason` is a stable code for dead letters."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


RawReading = tuple[str, int, float]
"""(metric, device time in ms, value): a plain tuple, as ingest makes hundreds of thousands a
second and a class instance per reading would cost more than everything else it does."""


_INT64 = np.iinfo(np.int64)


@dataclass(frozen=True)
class Columns:
    """Readings as columns: the i-th is (names[codes[i]], ts_ms[i], values[i]). What ingest
    checks and writes in bulk; a metric's name is looked up once per message, not per reading."""

    names: Sequence[str]
    """The metrics the readings are of, each once."""
    codes: npt.NDArray[np.intp]
    ts_ms: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    readings: Sequence[RawReading] | None = None
    """The readings these columns were made from, where they came as tuples (Sparkplug, a
    message read reading by reading): what is told about them is told from these exactly (a
    timestamp beyond 64 bits is clamped in `ts_ms`)."""

    def __len__(self) -> int:
        return len(self.codes)

    def reading(self, index: int) -> RawReading:
        if self.readings is not None:
            return self.readings[index]
        return (
            self.names[self.codes[index]],
            int(self.ts_ms[index]),
            float(self.values[index]),
        )

    def metrics(self) -> list[str]:
        """Each reading's metric name."""
        return list(map(self.names.__getitem__, self.codes.tolist()))

    @classmethod
    def of(cls, readings: Sequence[RawReading]) -> Columns:
        if not readings:
            empty = np.empty(0, np.intp)
            return cls([], empty, empty.astype(np.int64), empty.astype(np.float64), readings)
        metrics, stamps, values = zip(*readings, strict=True)
        try:
            ts_ms = np.array(stamps, dtype=np.int64)
        except OverflowError:
            ts_ms = np.array([min(max(ts, _INT64.min), _INT64.max) for ts in stamps], np.int64)
        names, codes = _coded(metrics)
        return cls(names, codes, ts_ms, np.array(values, dtype=np.float64), readings)


def _coded(metrics: Sequence[str]) -> tuple[list[str], npt.NDArray[np.intp]]:
    names = list(dict.fromkeys(metrics))
    code = {name: index for index, name in enumerate(names)}
    return names, np.fromiter(map(code.__getitem__, metrics), np.intp, len(metrics))


@dataclass
class Decoded:
    readings: list[RawReading] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    """(reason, detail) for readings that could not be read."""
    columns: Columns | None = None
    """Readings decoded in bulk (before those in `readings`, if any)."""

    def as_columns(self) -> Columns:
        """Every reading decoded, as columns."""
        if self.columns is None:
            return Columns.of(self.readings)
        if not self.readings:
            return self.columns
        columns = self.columns
        return Columns.of([*map(columns.reading, range(len(columns))), *self.readings])

    def count(self) -> int:
        return len(self.readings) + (len(self.columns) if self.columns is not None else 0)


def device_key_from_topic(topic: str) -> str | None:
    if not topic.startswith(TELEMETRY_PREFIX):
        return None
    key = topic[len(TELEMETRY_PREFIX) :]
    return key if key and "/" not in key else None


def parse_ts(raw: Any) -> int:
    """Milliseconds since the epoch from an integer (ms) or an RFC 3339 string with an offset."""
    if isinstance(raw, bool):
        raise ValueError("a timestamp must be epoch milliseconds or an RFC 3339 string")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str):
        try:
            parsed = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(f"{raw[:40]!r} is not an RFC 3339 time") from exc
        if parsed.tzinfo is None:
            raise ValueError(f"{raw[:40]!r} has no UTC offset")
        return int(parsed.timestamp() * 1000)
    raise ValueError("a timestamp must be epoch milliseconds or an RFC 3339 string")


def decode_readings(entries: Any, decoded: Decoded) -> None:
    """Readings from a list of `{"ts", "metrics"}` objects, appended to `decoded`."""
    if not isinstance(entries, list):
        raise MalformedMessage("bad_shape", '"readings" must be a list')
    if decoded.columns is None and not decoded.readings:
        decoded.columns = _plain_columns(entries)
        if decoded.columns is not None:
            return
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or "metrics" not in entry or "ts" not in entry:
            decoded.problems.append(
                ("bad_shape", f'reading {index}: expected {{"ts": ..., "metrics": {{...}}}}')
            )
            continue
        raw_ts = entry["ts"]
        try:
            ts_ms = raw_ts if type(raw_ts) is int else parse_ts(raw_ts)
        except ValueError as exc:
            decoded.problems.append(("bad_timestamp", f"reading {index}: {exc}"))
            continue
        metrics = entry["metrics"]
        if not isinstance(metrics, dict):
            decoded.problems.append(("bad_shape", f'reading {index}: "metrics" must be an object'))
            continue
        append = decoded.readings.append
        for name, value in metrics.items():
            kind = type(value)
            if kind is float and math.isfinite(value):
                append((name, ts_ms, value))
            elif kind is int:
                append((name, ts_ms, float(value)))
            elif kind is bool:
                append((name, ts_ms, 1.0 if value else 0.0))
            else:
                decoded.problems.append(
                    ("bad_value", f"reading {index}: {name}={str(value)[:40]} is not a number")
                )


def _plain_columns(entries: list[Any]) -> Columns | None:
    """The usual message in bulk: every entry an object with an integer "ts" and a "metrics"
    object of numbers. None when anything in it is otherwise (read it reading by reading)."""
    try:
        stamps = [entry["ts"] for entry in entries]
        bodies = [entry["metrics"] for entry in entries]
    except (KeyError, TypeError):
        return None
    if set(map(type, stamps)) != {int} or set(map(type, bodies)) != {dict}:
        return None
    try:
        # Numbers only, as float() takes them (booleans as 1 and 0, as one by one does).
        raw = array.array("d", list(chain.from_iterable(map(dict.values, bodies))))
        values = np.frombuffer(raw, np.float64)
    except TypeError:
        return None
    if not np.isfinite(values).all():
        return None
    try:
        ts_ms = np.array(stamps, dtype=np.int64)
    except OverflowError:
        return None
    metrics = list(chain.from_iterable(bodies))
    first = list(bodies[0])
    width = len(first)
    if width and len(metrics) == width * len(bodies) and metrics == first * len(bodies):
        # The same metrics in the same order in every entry, as devices send them: each entry
        # is `first` (keys of one object are distinct, so none can be longer or shorter).
        names: Sequence[str] = first
        codes = np.arange(len(metrics), dtype=np.intp) % width
        ts_ms = np.repeat(ts_ms, width)
    else:
        names, codes = _coded(metrics)
        ts_ms = np.repeat(ts_ms, list(map(len, bodies)))
    return Columns(names, codes, ts_ms, values)


def decode_message(payload: bytes) -> Decoded:
    """One device's message: `{"readings": [...]}` or a single `{"ts", "metrics"}`."""
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise MalformedMessage("malformed_json", f"not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise MalformedMessage("bad_shape", "expected a JSON object")
    decoded = Decoded()
    if "readings" in body:
        decode_readings(body["readings"], decoded)
    elif "metrics" in body and "ts" in body:
        decode_readings([body], decoded)
    else:
        raise MalformedMessage("bad_shape", 'expected "readings" or a single {"ts", "metrics"}')
    return decoded
