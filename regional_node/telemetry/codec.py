"""The plain-JSON telemetry convention (docs/telemetry.md): decoding into readings.

Decoding separates what is wrong with the message as a whole (not JSON, not the documented shape:
the message goes to dead letters) from what is wrong with single readings (a bad timestamp or a
non-numeric value: those readings go to dead letters, the rest of the message is accepted).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

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


@dataclass
class Decoded:
    readings: list[RawReading] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    """(reason, detail) for readings that could not be read."""


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
