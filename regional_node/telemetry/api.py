"""HTTP batch ingest for gateways without MQTT, and the Prometheus `/metrics` endpoint."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from regional_node.devices.credentials import VerifiedSecrets
from regional_node.devices.models import DeviceKind
from regional_node.devices.registry import DeviceEntry
from regional_node.runtime import NodeRuntime
from regional_node.settings import NodeSettings
from regional_node.state import node_state
from regional_node.telemetry.codec import Decoded, MalformedMessage, decode_readings
from regional_node.telemetry.errors import DeviceAuthFailed
from regional_node.telemetry.pipeline import Envelope, describe
from yunfab.bodies import BodyLimit, read_body
from yunfab.errors import Forbidden, InvalidInput
from yunfab.ratelimit import SharedCredentialThrottle

MAX_DEVICES = 1000
TELEMETRY_PATH = "/api/v1/telemetry"

router = APIRouter()


async def device_throttle(runtime: NodeRuntime) -> SharedCredentialThrottle:
    """Bad device logins: 20 a minute lock a device out at that address (not the other devices
    behind the same proxy or NAT), 200 a minute with any keys lock the address out for keys that
    have not logged in from it within the hour (a device at work there goes on). Counted in the
    node's shared state: across the replicas when they share NATS."""
    return SharedCredentialThrottle(
        credentials=await runtime.bucket("device_auth_failures", ttl_s=60),
        addresses=await runtime.bucket("device_auth_addresses", ttl_s=60),
        known=await runtime.bucket("device_auth_known", ttl_s=3600),
        per_credential=20,
        per_address=200,
        window_s=60,
    )


def body_limit(settings: NodeSettings) -> BodyLimit:
    """A batch's cap; the route checks the device's credentials before it reads the body."""
    return BodyLimit(TELEMETRY_PATH, settings.telemetry_max_body_bytes, checked_by_route=True)


def _runtime(request: Request) -> NodeRuntime:
    runtime: NodeRuntime = node_state(request.app).runtime
    return runtime


async def _device(request: Request, runtime: NodeRuntime) -> DeviceEntry:
    """The device named by HTTP Basic credentials (its key and secret)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    client = request.client.host if request.client else "unknown"
    throttle: SharedCredentialThrottle = node_state(request.app).device_throttle
    if scheme.lower() != "basic" or not value:
        await throttle.check(None, client)
        raise DeviceAuthFailed("send the device key and secret with HTTP Basic")
    try:
        key, _, secret = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        await throttle.check(None, client)
        await throttle.failed(None, client)
        raise DeviceAuthFailed("malformed Basic credentials") from exc
    await throttle.check(key, client)
    entry = await runtime.registry.get(key)
    verified: VerifiedSecrets = node_state(request.app).device_secrets
    # A secret not seen before costs a PBKDF2 run: off the event loop, so ingest goes on.
    if entry is None or not await verified.verify(key, secret, entry.secret_hash):
        await throttle.failed(key, client)
        raise DeviceAuthFailed("unknown device or wrong secret")
    await throttle.succeeded(key, client)
    return entry


@router.post(
    TELEMETRY_PATH,
    summary="Batch of readings from a device or an edge node (HTTP Basic device credentials).",
)
async def post_telemetry(request: Request) -> dict[str, Any]:
    runtime = _runtime(request)
    sender = await _device(request, runtime)
    refusal = sender.refusal()
    if refusal is not None:
        # Counted and kept as a dead letter; nothing it sends is stored, its devices' included.
        await runtime.pipeline.ingest(
            [
                Envelope(
                    source="http",
                    payload=b"",
                    device_key=sender.key,
                    refusal=(refusal, f"{sender.key} is refused: {refusal.replace('_', ' ')}"),
                )
            ]
        )
        raise Forbidden(f"device {sender.key} is refused: {refusal.replace('_', ' ')}")
    # Read only now, and only up to the cap (by Content-Length, and as a chunked body streams).
    settings: NodeSettings = node_state(request.app).settings
    body = await read_body(request, body_limit(settings))
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"body is not JSON: {exc}") from exc
    devices = parsed.get("devices") if isinstance(parsed, dict) else None
    if not isinstance(devices, dict) or not devices:
        raise InvalidInput('expected {"devices": {"<device key>": {"readings": [...]}}}')
    if len(devices) > MAX_DEVICES:
        raise InvalidInput(f"at most {MAX_DEVICES} devices per request")
    envelopes = []
    for key, message in devices.items():
        if key != sender.key:
            target = await runtime.registry.get(key)
            if (
                sender.kind is not DeviceKind.EDGE_NODE
                or target is None
                or target.edge_node_key != sender.key
            ):
                raise Forbidden(f"{sender.key} may not send readings for {key!r}")
        decoded = Decoded()
        try:
            if not isinstance(message, dict) or "readings" not in message:
                raise MalformedMessage("bad_shape", f'{key}: expected {{"readings": [...]}}')
            decode_readings(message["readings"], decoded)
        except MalformedMessage as exc:
            raise InvalidInput(exc.detail) from exc
        # A dead letter keeps this device's part of the request, not the whole body.
        envelopes.append(
            Envelope(source="http", payload=orjson.dumps(message), device_key=key, decoded=decoded)
        )
    outcome = await runtime.pipeline.ingest(envelopes)
    return describe(outcome)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    registry = _runtime(request).metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
