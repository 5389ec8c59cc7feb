"""Source points as the gateway works with them: each maps to a device key and a metric with its
unit and valid range, which is also what the node's device registry is told (`declarations`).

A value is checked here before it is journaled: NaN, infinity, a value outside the point's range
or of the wrong kind is not a reading. It is counted in the point's status with the reason, and
the device's `gateway_point_errors` metric tells the node how many of its points are failing.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from yunfab.sparkplug import DataType
from yunfab_gateway.config import (
    DEFAULT_DEVICE_TYPE,
    GatewayConfig,
    PointBase,
    RegisterType,
    ValueKind,
)

Value = float | int | bool | str

DEVICE_STATUS_METRIC: Final = "gateway_point_errors"
"""Per device: how many of its points failed their last read or had their last value refused."""
EDGE_STATUS_METRICS: Final = (
    ("gateway_points_in_error", "1"),
    ("gateway_values_refused", "count"),
    ("gateway_read_errors", "count"),
    ("gateway_journal_rows", "1"),
    ("gateway_journal_dropped", "count"),
)
"""The gateway's own metrics, published as the edge node's (NBIRTH/NDATA)."""


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Sink(Protocol):
    """Where a connector reports what it reads: the gateway's runner."""

    def sample(self, point: Point, raw: Any, ts_ms: int) -> None: ...

    def point_error(self, point: Point, reason: str) -> None: ...

    def connector_state(self, connector: str, up: bool, reason: str | None = None) -> None: ...


@dataclass(frozen=True)
class Point:
    """One source value: where it is read (`source`, for people) and what it becomes."""

    connector: str
    device: str
    metric: str
    unit: str
    kind: ValueKind
    min: float | None
    max: float | None
    scale: float = 1.0
    offset: float = 0.0
    source: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.device, self.metric)

    @property
    def published(self) -> bool:
        """Texts are shown, not published: the node stores numbers."""
        return self.kind is not ValueKind.STRING

    @property
    def datatype(self) -> DataType:
        if self.kind is ValueKind.BOOL:
            return DataType.Boolean
        if self.kind is ValueKind.INTEGER and self.scale == 1 and self.offset == 0:
            return DataType.Int64
        if self.kind is ValueKind.STRING:
            return DataType.String
        return DataType.Double

    def convert(self, raw: Any) -> tuple[Value | None, str | None]:
        """The value to publish for `raw`, or None and why it is refused."""
        if self.kind is ValueKind.STRING:
            if raw is None:
                return None, "no value"
            return str(raw), None
        if self.kind is ValueKind.BOOL:
            if isinstance(raw, bool):
                return raw, None
            if isinstance(raw, int) and raw in (0, 1):
                return bool(raw), None
            return None, f"{raw!r} is not a bool"
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            return None, f"{type(raw).__name__} value {raw!r} is not a number"
        if isinstance(raw, float) and not math.isfinite(raw):
            return None, f"{raw} is not a number"
        value: float | int
        if self.datatype is DataType.Int64:
            if isinstance(raw, float):
                if not raw.is_integer():
                    return None, f"{raw} is not an integer"
                raw = int(raw)
            value = raw
        else:
            value = float(raw) * self.scale + self.offset
            if not math.isfinite(value):
                return None, f"{value} is not a number"
        if (self.min is not None and value < self.min) or (
            self.max is not None and value > self.max
        ):
            return None, (
                f"{value:g} {self.unit} outside "
                f"[{_bound(self.min, '-inf')}, {_bound(self.max, '+inf')}]"
            )
        return value, None


def _bound(value: float | None, unbounded: str) -> str:
    return unbounded if value is None else f"{value:g}"


@dataclass
class PointStatus:
    """What `check` prints and status.json holds for a point."""

    reads: int = 0
    published: int = 0
    refused: int = 0
    errors: int = 0
    same_ms: int = 0
    """Values read within the millisecond of the one before: not readings of their own."""
    last_value: Value | None = None
    last_ts_ms: int | None = None
    last_error: str | None = None
    last_error_ms: int | None = None
    failing: bool = False

    def ok(self, value: Value, ts_ms: int) -> None:
        self.reads += 1
        self.last_value = value
        self.last_ts_ms = ts_ms
        self.failing = False

    def refuse(self, reason: str, ts_ms: int) -> None:
        self.reads += 1
        self.refused += 1
        self.last_error = reason
        self.last_error_ms = ts_ms
        self.failing = True

    def error(self, reason: str, ts_ms: int) -> None:
        self.errors += 1
        self.last_error = reason
        self.last_error_ms = ts_ms
        self.failing = True

    def as_json(self) -> dict[str, Any]:
        return {
            "reads": self.reads,
            "published": self.published,
            "refused": self.refused,
            "errors": self.errors,
            "same_ms": self.same_ms,
            "last_value": self.last_value,
            "last_ts_ms": self.last_ts_ms,
            "last_error": self.last_error,
            "last_error_ms": self.last_error_ms,
            "failing": self.failing,
        }


@dataclass(frozen=True)
class MetricDeclaration:
    name: str
    unit: str
    min: float | None
    max: float | None
    datatype: DataType
    alias: int

    def as_node_input(self) -> dict[str, Any]:
        """The node's `DeviceMetricInput` (provisionDevice's `metrics`)."""
        return {"name": self.name, "unit": self.unit, "minValue": self.min, "maxValue": self.max}


@dataclass(frozen=True)
class DeviceDeclaration:
    key: str
    metrics: tuple[MetricDeclaration, ...]
    type: str = DEFAULT_DEVICE_TYPE
    """The node's device type for it (the first of its connectors' that names one)."""


@dataclass
class Mapping:
    """All points of a configuration, with the aliases the gateway's births give them (stable
    for a given configuration: in the order of the file, unique across the edge node)."""

    edge_node: str
    points: list[Point] = field(default_factory=list)
    devices: dict[str, DeviceDeclaration] = field(default_factory=dict)
    edge: DeviceDeclaration | None = None
    _metrics: dict[tuple[str, str], MetricDeclaration] = field(default_factory=dict)

    def metric(self, device: str, metric: str) -> MetricDeclaration | None:
        return self._metrics.get((device, metric))

    def declarations(self) -> list[DeviceDeclaration]:
        """The devices to provision under the edge node, with their metrics."""
        return list(self.devices.values())


def _point(connector: str, device: str, point: PointBase, kind: ValueKind, source: str) -> Point:
    return Point(
        connector=connector,
        device=device,
        metric=point.metric,
        unit=point.unit,
        kind=kind,
        min=point.min,
        max=point.max,
        scale=point.scale,
        offset=point.offset,
        source=source,
    )


def modbus_kind(register: RegisterType) -> ValueKind:
    if register is RegisterType.BOOL:
        return ValueKind.BOOL
    if register in (RegisterType.FLOAT32, RegisterType.FLOAT64):
        return ValueKind.NUMBER
    return ValueKind.INTEGER


def build_mapping(config: GatewayConfig) -> Mapping:
    mapping = Mapping(edge_node=config.gateway.edge_node)
    types: dict[str, str] = {}
    named = [(c.device, c.device_type) for c in config.opcua]
    named += [(c.device, c.device_type) for c in config.modbus]
    for device, device_type in named:
        if device_type is not None:
            types.setdefault(device, device_type)
    for opc in config.opcua:
        for op in opc.points:
            source = op.node if op.node is not None else f"{opc.root or 'Objects'}/{op.path}"
            mapping.points.append(_point(opc.name, opc.device, op, op.kind, source))
    for mb in config.modbus:
        for group in mb.groups:
            for mp in group.points:
                kind = modbus_kind(mp.value_type)
                source = f"{mp.table} {mp.address} {mp.value_type}"
                mapping.points.append(_point(mb.name, mb.device, mp, kind, source))
    alias = 0
    per_device: dict[str, list[MetricDeclaration]] = {}
    for point in mapping.points:
        if not point.published:
            continue
        alias += 1
        minimum, maximum = point.min, point.max
        if point.kind is ValueKind.BOOL:
            minimum, maximum = 0.0, 1.0
        declared = MetricDeclaration(
            point.metric, point.unit, minimum, maximum, point.datatype, alias
        )
        per_device.setdefault(point.device, []).append(declared)
        mapping._metrics[point.key] = declared
    for device, metrics in per_device.items():
        alias += 1
        status = MetricDeclaration(DEVICE_STATUS_METRIC, "1", 0, None, DataType.Int64, alias)
        metrics.append(status)
        mapping._metrics[(device, DEVICE_STATUS_METRIC)] = status
        mapping.devices[device] = DeviceDeclaration(
            device, tuple(metrics), types.get(device, DEFAULT_DEVICE_TYPE)
        )
    edge_metrics = []
    for name, unit in EDGE_STATUS_METRICS:
        alias += 1
        declared = MetricDeclaration(name, unit, 0, None, DataType.Int64, alias)
        edge_metrics.append(declared)
        mapping._metrics[(config.gateway.edge_node, name)] = declared
    mapping.edge = DeviceDeclaration(config.gateway.edge_node, tuple(edge_metrics))
    return mapping
