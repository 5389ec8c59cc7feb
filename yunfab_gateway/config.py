"""The gateway's configuration file (TOML), checked as a whole before anything connects.

A mistake is reported as one line naming the file and the key (`opcua[0].points[2].path:
...`), so an operator on a shop floor can fix it without reading a traceback. Profiles
(`profile = "euromap77"`) are expanded here, so everything after loading sees plain points.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

KEY = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
"""A device key as the node accepts it (its MQTT username and Sparkplug id)."""
METRIC = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
"""A metric name as the node accepts it."""
PROFILES = "yunfab_gateway.profiles"
PROFILE_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,98}[a-z0-9])?$")
"""A profile's name: a built-in file's, or a market listing's slug."""
PROFILES_FOLDER = "profiles"
"""Profiles from the market, kept in the gateway's data folder as `<name>.toml`."""
MAX_PROFILE_BYTES = 64 * 1024
DATA_DIR = Path("var/gateway")


class ConfigError(Exception):
    """A configuration that cannot be used; the message is one line naming file and key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Key = Annotated[str, Field(pattern=KEY.pattern)]
# The node's device type of a connector's machine (injection_moulding, energy_meter, ...).
DeviceType = Annotated[str, Field(pattern=r"^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$")]
DEFAULT_DEVICE_TYPE = "gateway-machine"
MetricName = Annotated[str, Field(pattern=METRIC.pattern)]
Unit = Annotated[str, Field(min_length=1, max_length=16)]
Positive = Annotated[float, Field(gt=0)]


class ValueKind(StrEnum):
    """What a point's value is: numbers and flags are readings the node stores (a flag as
    0/1); a text (a mould id) is read and shown in the point's status, not published."""

    NUMBER = "number"
    INTEGER = "integer"
    BOOL = "bool"
    STRING = "string"


class PointBase(_Strict):
    metric: MetricName
    unit: Unit = "1"
    min: float | None = None
    max: float | None = None
    scale: float = 1.0
    offset: float = 0.0
    """The published value is raw * scale + offset (a register in tenths of a degree: 0.1)."""

    @model_validator(mode="after")
    def _range(self) -> Self:
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError("min must be below max")
        if self.scale == 0:
            raise ValueError("scale must not be 0")
        return self


class Security(StrEnum):
    NONE = "None"
    BASIC256SHA256 = "Basic256Sha256"


class SecurityMode(StrEnum):
    SIGN = "Sign"
    SIGN_AND_ENCRYPT = "SignAndEncrypt"


class OpcUaPoint(PointBase):
    node: str | None = None
    """An absolute node id (`ns=2;s=IMM01.Temp`, `ns=3;i=1012`)."""
    path: str | None = None
    """A browse path below the connector's root: `MachineStatus/MachineMode`, each step a browse
    name, optionally `prefix:Name` with a prefix from the connector's `namespaces`."""
    kind: ValueKind = ValueKind.NUMBER
    sampling_interval_ms: Positive | None = None
    deadband_absolute: Annotated[float, Field(ge=0)] | None = None
    deadband_percent: Annotated[float, Field(ge=0, le=100)] | None = None

    @model_validator(mode="after")
    def _source(self) -> Self:
        if (self.node is None) == (self.path is None):
            raise ValueError("give exactly one of node (a node id) and path (a browse path)")
        if self.deadband_absolute is not None and self.deadband_percent is not None:
            raise ValueError("give at most one of deadband_absolute and deadband_percent")
        if self.deadband_percent is not None and (self.min is None or self.max is None):
            raise ValueError("deadband_percent needs min and max (the range it is a percent of)")
        return self


class OpcUaConnector(_Strict):
    name: Key
    device: Key
    device_type: DeviceType | None = None
    """The machine's device type at the node (alert rules and pages group machines by it); the
    profile's when it names one, else `gateway-machine`."""
    url: Annotated[str, Field(pattern=r"^opc\.tcp://")]
    root: str | None = None
    """Where point paths start: a node id, or a browse path from the Objects folder; the
    Objects folder itself when not given."""
    namespaces: dict[str, str] = Field(default_factory=dict)
    """Browse-name prefixes and the namespace URIs they stand for, resolved on connect."""
    profile: str | None = None
    security: Security = Security.NONE
    mode: SecurityMode = SecurityMode.SIGN_AND_ENCRYPT
    certificate: Path | None = None
    """The gateway's certificate (DER); made, with its key, on first run when missing."""
    private_key: Path | None = None
    server_certificate: Path | None = None
    """Pin the server's certificate (DER or PEM); otherwise it is taken from its endpoints."""
    username: str | None = None
    password: SecretStr | None = None
    sampling_interval_ms: Positive = 500.0
    publishing_interval_ms: Positive = 500.0
    timeout_s: Positive = 4.0
    reconnect_initial_s: Positive = 1.0
    reconnect_max_s: Positive = 30.0
    points: list[OpcUaPoint] = Field(default_factory=list)


class Table(StrEnum):
    HOLDING = "holding"
    INPUT = "input"
    COIL = "coil"
    DISCRETE = "discrete"


class RegisterType(StrEnum):
    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    BOOL = "bool"

    @property
    def registers(self) -> int:
        return {"int32": 2, "uint32": 2, "float32": 2, "float64": 4}.get(self.value, 1)


Order = Literal["big", "little"]


class ModbusPoint(PointBase):
    table: Table = Table.HOLDING
    address: Annotated[int, Field(ge=0, le=65535)]
    type: RegisterType | None = None
    """Register type; `bool` (the default) for coils and discrete inputs, `uint16` otherwise."""
    byte_order: Order | None = None
    word_order: Order | None = None

    @model_validator(mode="after")
    def _type(self) -> Self:
        bits = self.table in (Table.COIL, Table.DISCRETE)
        if bits and self.type not in (None, RegisterType.BOOL):
            raise ValueError(f"{self.table} points are bool")
        if not bits and self.type is RegisterType.BOOL:
            raise ValueError("bool is for coil and discrete points")
        if self.address + self.value_type.registers > 65536:
            raise ValueError("the value runs past register 65535")
        return self

    @property
    def value_type(self) -> RegisterType:
        if self.type is not None:
            return self.type
        return (
            RegisterType.BOOL
            if self.table in (Table.COIL, Table.DISCRETE)
            else (RegisterType.UINT16)
        )


class ModbusGroup(_Strict):
    """Points polled together, every `interval_s`: one request per contiguous block."""

    name: str = "default"
    interval_s: Positive = 1.0
    points: list[ModbusPoint] = Field(default_factory=list)


class ModbusTransport(StrEnum):
    TCP = "tcp"
    RTU = "rtu"
    RTU_OVER_TCP = "rtu-over-tcp"
    """RTU frames through a serial-to-Ethernet converter."""


class ModbusConnector(_Strict):
    name: Key
    device: Key
    device_type: DeviceType | None = None
    """The machine's device type at the node (alert rules and pages group machines by it); the
    profile's when it names one, else `gateway-machine`."""
    transport: ModbusTransport = ModbusTransport.TCP
    host: str | None = None
    port: Annotated[int, Field(ge=1, le=65535)] = 502
    serial_port: str | None = None
    baudrate: Annotated[int, Field(gt=0)] = 9600
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    bytesize: Literal[7, 8] = 8
    unit_id: Annotated[int, Field(ge=0, le=247)] = 1
    timeout_s: Positive = 1.0
    byte_order: Order = "big"
    word_order: Order = "big"
    profile: str | None = None
    max_block: Annotated[int, Field(ge=1, le=125)] = 100
    """The most registers (or 16x as many coils) one request reads."""
    reconnect_initial_s: Positive = 1.0
    reconnect_max_s: Positive = 30.0
    groups: list[ModbusGroup] = Field(default_factory=list)

    @model_validator(mode="after")
    def _endpoint(self) -> Self:
        if self.transport is ModbusTransport.RTU:
            if not self.serial_port:
                raise ValueError("an rtu connector needs serial_port (e.g. /dev/ttyUSB0)")
        elif not self.host:
            raise ValueError(f"a {self.transport} connector needs host")
        return self


class GatewaySection(_Strict):
    group: Key
    """The factory's slug on the node: the Sparkplug group id."""
    edge_node: Key
    """The key of the gateway's own device (kind EDGE_NODE) on the node."""
    data_dir: Path = DATA_DIR
    """The journal, generated certificates and status.json live here (relative to the file)."""
    status_interval_s: Positive = 10.0


class MqttSection(_Strict):
    url: Annotated[str, Field(pattern=r"^mqtts?://[^/]+$")]
    username: str | None = None
    """Defaults to the edge node's key, which is its broker login on the node's broker."""
    password: SecretStr | None = None
    password_file: Path | None = None
    client_id: str | None = None
    ca_file: Path | None = None
    keepalive_s: Annotated[int, Field(ge=5, le=3600)] = 30
    window: Annotated[int, Field(ge=1, le=1000)] = 32
    """Messages sent and not yet acknowledged (PUBACK) at once."""
    batch: Annotated[int, Field(ge=1, le=5000)] = 200
    """Readings in one DDATA at most."""
    historical_after_s: Annotated[float, Field(ge=0)] = 10.0
    """Readings older than this when sent go out flagged historical (store and forward)."""
    reconnect_initial_s: Positive = 1.0
    reconnect_max_s: Positive = 30.0

    @model_validator(mode="after")
    def _password(self) -> Self:
        if self.password is not None and self.password_file is not None:
            raise ValueError("give password or password_file, not both")
        return self


class NodeSection(_Strict):
    """The node's own HTTP API (the URL the gateway was claimed from): the gateway reports its
    status there with its edge node's login."""

    url: Annotated[str, Field(pattern=r"^https?://[^\s]+$")]
    timeout_s: Positive = 10.0


class JournalSection(_Strict):
    path: Path | None = None
    """Defaults to `journal.db` in the gateway's data_dir."""
    max_rows: Annotated[int, Field(ge=100)] = 2_000_000
    max_bytes: Annotated[int, Field(ge=1 << 16)] = 256 << 20
    """Bounds of what waits to be sent; beyond either the oldest readings are dropped (and
    counted)."""
    synchronous: Literal["normal", "full"] = "full"
    """SQLite's fsync policy in WAL mode: `full` survives a power cut, `normal` a crash."""


class GatewayConfig(_Strict):
    gateway: GatewaySection
    mqtt: MqttSection
    journal: JournalSection = JournalSection()
    node: NodeSection | None = None
    opcua: list[OpcUaConnector] = Field(default_factory=list)
    modbus: list[ModbusConnector] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> Self:
        names: set[str] = set()
        connectors: list[OpcUaConnector | ModbusConnector] = [*self.opcua, *self.modbus]
        for connector in connectors:
            if connector.name in names:
                raise ValueError(f"connector name {connector.name!r} is used twice")
            names.add(connector.name)
            if connector.device == self.gateway.edge_node:
                raise ValueError(
                    f"connector {connector.name!r}: device {connector.device!r} is the edge node"
                )
        if not names:
            raise ValueError("no connectors: add an [[opcua]] or a [[modbus]] section")
        seen: set[tuple[str, str]] = set()
        for _, device, metric in self.metric_sources():
            if (device, metric) in seen:
                raise ValueError(f"device {device!r} metric {metric!r} is mapped twice")
            seen.add((device, metric))
        return self

    def metric_sources(self) -> list[tuple[str, str, str]]:
        rows = [(c.name, c.device, p.metric) for c in self.opcua for p in c.points]
        rows += [
            (c.name, c.device, p.metric) for c in self.modbus for g in c.groups for p in g.points
        ]
        return rows

    @property
    def client_id(self) -> str:
        return self.mqtt.client_id or self.gateway.edge_node

    @property
    def username(self) -> str:
        return self.mqtt.username or self.gateway.edge_node


# --- loading ----------------------------------------------------------------------------------


def _where(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _first_error(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    loc = [part for part in error["loc"] if not str(part).startswith("function-")]
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    elif error["type"] == "missing":
        message = "required"
    where = _where(loc)
    more = exc.error_count() - 1
    suffix = f" (and {more} more)" if more else ""
    return f"{where}: {message}{suffix}" if where else f"{message}{suffix}"


def available_profiles() -> list[str]:
    return sorted(
        entry.name.removesuffix(".toml")
        for entry in resources.files(PROFILES).iterdir()
        if entry.name.endswith(".toml")
    )


def load_profile(
    name: str, given: Mapping[str, str] | None = None, folder: Path | None = None
) -> dict[str, Any]:
    """A profile's TOML: `kind` (opcua or modbus), its points or groups and, for OPC UA,
    its namespace prefixes. Built-in names first, then a document in `given` (the node sends
    installed market profiles with a configuration), then `<folder>/<name>.toml`."""
    if not PROFILE_NAME.fullmatch(name):
        raise ConfigError(f"unknown profile {name!r} (profiles: {', '.join(available_profiles())})")
    if name in available_profiles():
        text = resources.files(PROFILES).joinpath(f"{name}.toml").read_text(encoding="utf-8")
        data: dict[str, Any] = tomllib.loads(text)
        return data
    if given is not None and name in given:
        return parse_profile(name, given[name])
    path = folder / f"{name}.toml" if folder is not None else None
    if path is not None and path.is_file():
        try:
            return parse_profile(name, path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from None
    known = ", ".join(available_profiles())
    raise ConfigError(
        f"unknown profile {name!r} (built in: {known}; a market profile must be installed "
        "on the node)"
    )


def parse_profile(name: str, text: str) -> dict[str, Any]:
    """A profile document (a market `machine_profile` artifact) checked as the built-in ones are
    used: its points must make a valid connector. ConfigError says what is wrong."""
    if not PROFILE_NAME.fullmatch(name):
        raise ConfigError(f"profile name {name!r}: lower-case letters, digits, - and _")
    if name in available_profiles():
        raise ConfigError(f"profile name {name!r} is a built-in profile's")
    if len(text.encode()) > MAX_PROFILE_BYTES:
        raise ConfigError(f"a profile has at most {MAX_PROFILE_BYTES} bytes")
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}") from None
    unknown = sorted(
        set(data) - {"kind", "description", "device_type", "namespaces", "points", "groups"}
    )
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown key")
    kind = data.get("kind")
    if kind not in ("opcua", "modbus"):
        raise ConfigError("kind: opcua or modbus")
    if not isinstance(data.get("description", ""), str):
        raise ConfigError("description: text")
    shape: dict[str, Any] = {"name": "profile", "device": "profile"}
    if data.get("device_type") is not None:
        shape["device_type"] = data["device_type"]
    if kind == "opcua":
        if "groups" in data:
            raise ConfigError("groups: an opcua profile has points")
        model: type[OpcUaConnector | ModbusConnector] = OpcUaConnector
        shape |= {
            "url": "opc.tcp://profile",
            "namespaces": data.get("namespaces", {}),
            "points": data.get("points", []),
        }
    else:
        if "points" in data or "namespaces" in data:
            raise ConfigError("points: a modbus profile has groups (each with its points)")
        model = ModbusConnector
        shape |= {"host": "profile", "groups": data.get("groups", [])}
    try:
        connector = model.model_validate(shape)
    except ValidationError as exc:
        raise ConfigError(_first_error(exc)) from None
    if isinstance(connector, OpcUaConnector):
        count = len(connector.points)
    else:
        count = sum(len(group.points) for group in connector.groups)
    if count == 0:
        raise ConfigError("a profile maps at least one point")
    return data


def _expand_profiles(raw: dict[str, Any], given: Mapping[str, str], folder: Path | None) -> None:
    """Profile points come first; points in the file add to them, and a point in the file with
    the metric of a profile point replaces it (another node id, another range)."""
    for section in ("opcua", "modbus"):
        connectors = raw.get(section)
        if not isinstance(connectors, list):
            continue
        for index, connector in enumerate(connectors):
            if not isinstance(connector, dict) or "profile" not in connector:
                continue
            name = connector["profile"]
            try:
                profile = load_profile(str(name), given, folder)
            except ConfigError as exc:
                raise ConfigError(f"{section}[{index}].profile: {exc}") from None
            if profile.get("kind") != section:
                raise ConfigError(
                    f"{section}[{index}].profile: {name!r} is a {profile.get('kind')} profile"
                )
            if profile.get("device_type") and "device_type" not in connector:
                connector["device_type"] = profile["device_type"]
            if section == "opcua":
                connector["namespaces"] = {
                    **profile.get("namespaces", {}),
                    **connector.get("namespaces", {}),
                }
                own = connector.get("points", [])
                replaced = {p.get("metric") for p in own if isinstance(p, dict)}
                kept = [p for p in profile.get("points", []) if p["metric"] not in replaced]
                connector["points"] = [*kept, *own]
            else:
                own_groups = connector.get("groups", [])
                replaced = {
                    p.get("metric")
                    for g in own_groups
                    if isinstance(g, dict)
                    for p in g.get("points", [])
                    if isinstance(p, dict)
                }
                groups = []
                for group in profile.get("groups", []):
                    points = [p for p in group.get("points", []) if p["metric"] not in replaced]
                    if points:
                        groups.append({**group, "points": points})
                connector["groups"] = [*groups, *own_groups]


def parse_config(
    raw: dict[str, Any], *, base: Path | None = None, profiles: Mapping[str, str] | None = None
) -> GatewayConfig:
    """The configuration in `raw` (a parsed TOML document); relative paths are taken from
    `base`, the file's folder. A connector's `profile` is a built-in one, one of `profiles`
    (name to document) or, with `base`, one kept in the data folder's `profiles/`.
    ConfigError names the key at fault."""
    _expand_profiles(raw, profiles or {}, _profiles_folder(raw, base))
    try:
        config = GatewayConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_first_error(exc)) from None
    if base is None:
        return config
    return _rebased(config, base)


def _profiles_folder(raw: dict[str, Any], base: Path | None) -> Path | None:
    if base is None:
        return None
    section = raw.get("gateway")
    data_dir = section.get("data_dir") if isinstance(section, dict) else None
    folder = Path(data_dir) if isinstance(data_dir, str) else DATA_DIR
    return (folder if folder.is_absolute() else base / folder) / PROFILES_FOLDER


def _rebased(config: GatewayConfig, base: Path) -> GatewayConfig:
    def at(path: Path | None) -> Path | None:
        return None if path is None or path.is_absolute() else base / path

    data_dir = config.gateway.data_dir
    if not data_dir.is_absolute():
        data_dir = base / data_dir
    journal = config.journal.path
    journal = data_dir / "journal.db" if journal is None else (at(journal) or journal)
    opcua = [
        c.model_copy(
            update={
                "certificate": at(c.certificate) or c.certificate,
                "private_key": at(c.private_key) or c.private_key,
                "server_certificate": at(c.server_certificate) or c.server_certificate,
            }
        )
        for c in config.opcua
    ]
    mqtt = config.mqtt.model_copy(
        update={
            "password_file": at(config.mqtt.password_file) or config.mqtt.password_file,
            "ca_file": at(config.mqtt.ca_file) or config.mqtt.ca_file,
        }
    )
    return config.model_copy(
        update={
            "gateway": config.gateway.model_copy(update={"data_dir": data_dir}),
            "journal": config.journal.model_copy(update={"path": journal}),
            "opcua": opcua,
            "mqtt": mqtt,
        }
    )


def load_config(path: Path, *, secrets: bool = True) -> GatewayConfig:
    """Read and check `path`; ConfigError (one line, starting with the file's name) otherwise.
    `secrets=False` skips the check that `mqtt.password_file` exists (provisioning writes it)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        config = parse_config(raw, base=path.resolve().parent)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if (
        secrets
        and config.mqtt.password_file is not None
        and not config.mqtt.password_file.is_file()
    ):
        raise ConfigError(f"{path}: mqtt.password_file: no such file")
    return config


def mqtt_password(config: GatewayConfig) -> str | None:
    if config.mqtt.password is not None:
        return config.mqtt.password.get_secret_value()
    if config.mqtt.password_file is not None:
        return config.mqtt.password_file.read_text(encoding="utf-8").strip()
    return None
