"""`POST /api/v1/gateways/claim`: a gateway trades its one-time claim code for its credentials;
`POST /api/v1/gateways/status`: a claimed gateway reports its status with its own login, and
learns the newest configuration version; `GET /api/v1/gateways/config` fetches it, with the
market machine profiles it names.

The claim is unauthenticated: the code is the only credential. Each address gets a few requests
a minute (a token bucket, before the body is read) and fewer failed codes (a failure throttle),
both counted in the node's shared state (across its replicas with NATS); the body is capped,
and parsed only then.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from regional_node.devices.models import DeviceKind
from regional_node.devices.registry import DeviceEntry
from regional_node.devices.service import MetricInput
from regional_node.gateways import configs, profiles, service, status
from regional_node.gateways.errors import ClaimCodeInvalid, ClaimCodeUsed, ConfigNotFound
from regional_node.runtime import NodeRuntime
from regional_node.state import node_state
from regional_node.telemetry.errors import DeviceAuthFailed
from yunfab.bodies import BodyLimit, read_body
from yunfab.db import session_scope
from yunfab.errors import Forbidden, InvalidInput
from yunfab.ratelimit import SharedFailureThrottle, SharedTokenBucket, TooManyFailures

CLAIM_PATH = "/api/v1/gateways/claim"
MAX_CLAIM_BYTES = 1024 * 1024
BODY_LIMIT = BodyLimit(CLAIM_PATH, MAX_CLAIM_BYTES)
MAX_STATUS_BYTES = 1024 * 1024
MAX_POINTS = 2000
MAX_CONNECTORS = 200
CLAIM_BURST = 10
CLAIM_RATE = 1 / 6
CLAIM_FAILURES = 10
CLAIM_WINDOW_S = 600.0

router = APIRouter(tags=["gateways"])


async def claim_requests(runtime: NodeRuntime) -> SharedTokenBucket:
    """Any claim request: 10 at once from an address, then one every 6 s."""
    ttl_s = SharedTokenBucket.refill_s(CLAIM_RATE, CLAIM_BURST)
    bucket = await runtime.bucket("claim_requests", ttl_s=ttl_s)
    return SharedTokenBucket(bucket, rate=CLAIM_RATE, burst=CLAIM_BURST)


async def claim_failures(runtime: NodeRuntime) -> SharedFailureThrottle:
    """Refused codes: 10 in 10 minutes from an address, then 429 until the window moves."""
    bucket = await runtime.bucket("claim_failures", ttl_s=CLAIM_WINDOW_S)
    return SharedFailureThrottle(bucket, limit=CLAIM_FAILURES, window_s=CLAIM_WINDOW_S)


class _Metric(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(max_length=63)]
    unit: Annotated[str, Field(max_length=16)]
    minValue: float | None = None  # noqa: N815 - provisionDevice's names, as the gateway prints
    maxValue: float | None = None  # noqa: N815

    def to_service(self) -> MetricInput:
        return MetricInput(
            name=self.name, unit=self.unit, min_value=self.minValue, max_value=self.maxValue
        )


class _Device(BaseModel):
    model_config = ConfigDict(extra="ignore")
    key: Annotated[str, Field(max_length=63)]
    type: Annotated[str, Field(max_length=63)] = "gateway-machine"
    metrics: Annotated[list[_Metric], Field(max_length=200)] = []


class _EdgeNode(BaseModel):
    model_config = ConfigDict(extra="ignore")
    key: Annotated[str, Field(max_length=63)]
    metrics: Annotated[list[_Metric], Field(max_length=200)] = []


class _Gateway(BaseModel):
    model_config = ConfigDict(extra="ignore")
    group: Annotated[str, Field(max_length=63)]
    edge_node: _EdgeNode
    devices: Annotated[list[_Device], Field(max_length=service.MAX_CLAIMED_DEVICES)] = []


class _ClaimBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Annotated[str, Field(max_length=64)]
    gateway: _Gateway


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}"


def _parsed(body: bytes) -> _ClaimBody:
    try:
        return _ClaimBody.model_validate(orjson.loads(body))
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"body is not JSON: {exc}") from exc
    except ValidationError as exc:
        raise InvalidInput(_first_error(exc)) from exc


@router.post(
    CLAIM_PATH,
    summary="A gateway's one-time claim code and mapping for its edge node's broker login.",
)
async def claim(request: Request) -> dict[str, Any]:
    state = node_state(request.app)
    address = request.client.host if request.client else "unknown"
    wait = await state.claim_requests.take(address)
    if wait > 0:
        raise TooManyFailures(
            "too many claim requests; try again later", retry_after_s=int(wait) + 1
        )
    await state.claim_failures.check(address)
    body = _parsed(await read_body(request, BODY_LIMIT))
    gateway = body.gateway
    request_claim = service.Claim(
        code=body.code,
        group=gateway.group,
        edge_node=gateway.edge_node.key,
        edge_metrics=[m.to_service() for m in gateway.edge_node.metrics],
        devices=[
            service.ClaimedDevice(
                key=d.key, type=d.type, metrics=[m.to_service() for m in d.metrics]
            )
            for d in gateway.devices
        ],
        address=address,
    )
    try:
        async with session_scope(state.db.sessionmaker) as session:
            claimed = await service.claim_gateway(
                session, runtime=state.runtime, claim=request_claim
            )
    except (ClaimCodeInvalid, ClaimCodeUsed):
        await state.claim_failures.failed(address)
        raise
    return {
        "edge_node": claimed.edge_node.key,
        "username": claimed.edge_node.key,
        "password": claimed.password,
        "group": gateway.group,
        "provisioned": claimed.provisioned,
        "kept": claimed.kept,
    }


STATUS_PATH = "/api/v1/gateways/status"
STATUS_LIMIT = BodyLimit(STATUS_PATH, MAX_STATUS_BYTES, checked_by_route=True)


def _clipped(limit: int) -> Any:
    """Text the gateway writes (a protocol library's error) kept to `limit` characters."""
    return BeforeValidator(lambda v: v[:limit] if isinstance(v, str) else v)


Text = Annotated[str | None, _clipped(500)]
Name = Annotated[str, Field(max_length=200)]


class _Mqtt(BaseModel):
    connected: bool = False
    connects: int = 0
    messages: int = 0
    rows_acked: int = 0
    refused: int = 0
    last_error: Text = None


class _Journal(BaseModel):
    rows: int = 0
    bytes: int = 0
    dropped: int = 0


class _Connector(BaseModel):
    up: bool = False
    last_error: Text = None


class _Point(BaseModel):
    connector: Name
    device: Name
    metric: Name
    unit: Annotated[str, Field(max_length=32)] = ""
    source: Annotated[str, _clipped(300)] = ""
    reads: int = 0
    published: int = 0
    refused: int = 0
    errors: int = 0
    last_value: float | bool | Annotated[str, _clipped(200)] | None = None
    last_ts_ms: int | None = None
    last_error: Text = None
    last_error_ms: int | None = None
    failing: bool = False


class _ConfigRefusal(BaseModel):
    version: int
    error: Annotated[str, _clipped(1000)]


class _StatusBody(BaseModel):
    """What `status.json` holds, as the gateway posts it (keys it adds later are ignored)."""

    edge_node: Name
    at_ms: int | None = None
    config_version: int | None = None
    """The node's configuration version it runs (None: its own file)."""
    config_refused: _ConfigRefusal | None = None
    mqtt: _Mqtt = _Mqtt()
    journal: _Journal = _Journal()
    values_refused: int = 0
    read_errors: int = 0
    connectors: Annotated[dict[Name, _Connector], Field(max_length=MAX_CONNECTORS)] = {}
    points: Annotated[list[_Point], Field(max_length=MAX_POINTS)] = []


async def _edge_node(request: Request) -> DeviceEntry:
    """The edge node named by HTTP Basic credentials (its key and secret), throttled like
    telemetry's device logins."""
    state = node_state(request.app)
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    client = request.client.host if request.client else "unknown"
    throttle = state.device_throttle
    if scheme.lower() != "basic" or not value:
        await throttle.check(None, client)
        raise DeviceAuthFailed("send the edge node's key and secret with HTTP Basic")
    try:
        key, _, secret = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        await throttle.check(None, client)
        await throttle.failed(None, client)
        raise DeviceAuthFailed("malformed Basic credentials") from exc
    await throttle.check(key, client)
    entry = await state.runtime.registry.get(key)
    if entry is None or not await state.device_secrets.verify(key, secret, entry.secret_hash):
        await throttle.failed(key, client)
        raise DeviceAuthFailed("unknown device or wrong secret")
    await throttle.succeeded(key, client)
    if entry.kind is not DeviceKind.EDGE_NODE:
        raise Forbidden(f"{key} is not an edge node: only gateways report a gateway status")
    refusal = entry.refusal()
    if refusal is not None:
        raise Forbidden(f"device {key} is refused: {refusal.replace('_', ' ')}")
    return entry


@router.post(
    STATUS_PATH,
    summary="A gateway's status: link, journal, connectors, each point's last value and error "
    "(HTTP Basic: the edge node's own credentials).",
)
async def report_status(request: Request) -> dict[str, Any]:
    sender = await _edge_node(request)
    state = node_state(request.app)
    raw = await read_body(request, STATUS_LIMIT)
    try:
        body = _StatusBody.model_validate(orjson.loads(raw))
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"body is not JSON: {exc}") from exc
    except ValidationError as exc:
        raise InvalidInput(_first_error(exc)) from exc
    if body.edge_node != sender.key:
        raise Forbidden(f"{sender.key} may not report for {body.edge_node!r}")
    async with session_scope(state.db.sessionmaker) as session:
        row = await status.store_status(
            session,
            device_id=sender.id,
            gateway_at_ms=body.at_ms,
            document=body.model_dump(mode="json", exclude={"edge_node", "at_ms"}),
        )
        latest = await configs.latest_version(session, sender.id)
    # The newest configuration version tells the gateway whether to fetch one.
    return {
        "edge_node": sender.key,
        "reported_at": row.reported_at.isoformat(),
        "config_version": latest,
    }


CONFIG_PATH = "/api/v1/gateways/config"


@router.get(
    CONFIG_PATH,
    summary="The newest configuration the node holds for the gateway (HTTP Basic: the edge "
    "node's own credentials); 404 when there is none.",
)
async def fetch_config(request: Request) -> dict[str, Any]:
    sender = await _edge_node(request)
    async with node_state(request.app).db.sessionmaker() as session:
        row = await configs.latest_config(session, sender.id)
        installed = await profiles.profiles_for(session, row.text) if row is not None else {}
    if row is None:
        raise ConfigNotFound(f"the node holds no configuration for {sender.key}")
    return {
        "edge_node": sender.key,
        "version": row.version,
        "config": row.text,
        "profiles": installed,
    }
