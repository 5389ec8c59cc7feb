"""Claim codes: a gateway's credentials without anyone typing one.

Someone who may manage a factory's devices makes a one-time code for one edge node key; the
gateway's owner runs `yunfab gateway claim --code ...` on the box, which sends the code and the
gateway's own mapping (the devices and metrics `yunfab gateway devices` prints). The node checks
the code (unknown, used, expired: refused with the reason), marks it used, provisions the edge
node (or issues it new credentials when it was provisioned before) and the machines it does not
know yet, and answers with the edge node's broker login, once. All of it in one transaction: a
claim that fails leaves the code as it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.audit.service import append_entry
from regional_node.devices import service as devices
from regional_node.devices.errors import DeviceExists, FactoryNotActive
from regional_node.devices.models import Device, DeviceKind, DeviceStatus
from regional_node.devices.repository import DeviceRepository
from regional_node.factories.models import FactoryStatus
from regional_node.factories.service import factory_for, get_factory
from regional_node.gateways.errors import (
    ClaimCodeExpired,
    ClaimCodeInvalid,
    ClaimCodeUsed,
    ClaimMismatch,
)
from regional_node.gateways.models import GatewayClaimCode
from regional_node.gateways.repository import ClaimCodeRepository
from yunfab.db import utcnow
from yunfab.errors import InvalidInput
from yunfab.subject import Subject, SubjectKind

if TYPE_CHECKING:
    from regional_node.runtime import NodeRuntime

DEFAULT_VALID_HOURS = 24.0
MAX_VALID_HOURS = 24.0 * 7
MAX_CLAIMED_DEVICES = 500
CODE = re.compile(r"^([0-9a-f]{8})-([A-Za-z0-9_-]{24})$")


@dataclass(frozen=True)
class IssuedCode:
    claim: GatewayClaimCode
    factory_slug: str
    code: str
    """Shown once: the node keeps the lookup and a hash of the secret."""


@dataclass(frozen=True)
class ClaimedDevice:
    key: str
    type: str
    metrics: Sequence[devices.MetricInput] = field(default_factory=tuple)


@dataclass(frozen=True)
class Claim:
    """What the gateway sends with its code: its group and edge node, and its mapping."""

    code: str
    group: str
    edge_node: str
    edge_metrics: Sequence[devices.MetricInput]
    devices: Sequence[ClaimedDevice]
    address: str


@dataclass(frozen=True)
class Claimed:
    edge_node: Device
    password: str
    provisioned: list[str]
    """Machines provisioned by this claim."""
    kept: list[str]
    """Machines already under this edge node, left as they were."""


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_claim_code(
    session: AsyncSession,
    subject: Subject,
    *,
    runtime: NodeRuntime,
    factory_id: uuid.UUID,
    edge_node_key: str,
    valid_hours: float | None = None,
) -> IssuedCode:
    factory = await factory_for(
        session, subject, runtime=runtime, factory_id=factory_id, action="node.device.manage"
    )
    if factory.status is not FactoryStatus.ACTIVE:
        raise FactoryNotActive(f"factory {factory.slug} is {factory.status.value}, not active")
    hours = DEFAULT_VALID_HOURS if valid_hours is None else valid_hours
    if not 0 < hours <= MAX_VALID_HOURS:
        raise InvalidInput(f"validHours: more than 0, at most {MAX_VALID_HOURS:g}")
    if not devices.KEY.match(edge_node_key):
        raise InvalidInput(
            "edgeNodeKey: lowercase letters, digits and hyphens, at most 63 characters"
        )
    namespaced = not await runtime.authorizer.allows(
        subject, "node.device.manage", {"factory": None}
    )
    if namespaced and not edge_node_key.startswith(f"{factory.slug}-"):
        raise InvalidInput(
            f"edgeNodeKey: devices of {factory.slug} are named {factory.slug}-..., "
            f"e.g. {factory.slug}-gw-01"
        )
    existing = await DeviceRepository(session).get_by_key(edge_node_key)
    if existing is not None and (
        existing.factory_id != factory.id
        or existing.kind is not DeviceKind.EDGE_NODE
        or existing.status is DeviceStatus.RETIRED
    ):
        raise DeviceExists(
            f"a device with key {edge_node_key!r} exists on this node and is not an edge node "
            f"of {factory.slug} in service"
        )
    lookup = secrets.token_hex(4)
    secret = secrets.token_urlsafe(18)
    now = utcnow()
    claim = GatewayClaimCode(
        lookup=lookup,
        secret_sha256=_sha256(secret),
        factory_id=factory.id,
        edge_node_key=edge_node_key,
        namespaced=namespaced,
        created_by=subject.label[:200],
        created_at=now,
        expires_at=now + dt.timedelta(hours=hours),
    )
    ClaimCodeRepository(session).add(claim)
    await session.flush()
    await append_entry(
        session,
        actor=subject,
        action="node.gateway.claim_code.create",
        resource=f"device:{edge_node_key}",
        outcome="ok",
        detail={
            "factory": factory.slug,
            "lookup": lookup,
            "expires_at": claim.expires_at.isoformat(),
        },
    )
    return IssuedCode(claim=claim, factory_slug=factory.slug, code=f"{lookup}-{secret}")


async def _valid_code(session: AsyncSession, code: str) -> GatewayClaimCode:
    match = CODE.match(code)
    row = None
    if match is not None:
        row = await ClaimCodeRepository(session).by_lookup(match.group(1), for_update=True)
    # Compared in constant time, and compared even when nothing was found, so the answer's
    # timing says nothing about which lookups exist.
    stored = row.secret_sha256 if row is not None else "0" * 64
    given = _sha256(match.group(2) if match is not None else code)
    if not hmac.compare_digest(given, stored) or row is None:
        raise ClaimCodeInvalid("no such claim code; ask the node for a new one")
    if row.used_at is not None:
        raise ClaimCodeUsed(
            f"this claim code was used at {row.used_at.isoformat()}; ask the node for a new one"
        )
    if row.expires_at <= utcnow():
        raise ClaimCodeExpired(
            f"this claim code expired at {row.expires_at.isoformat()}; ask the node for a new one"
        )
    return row


async def claim_gateway(session: AsyncSession, *, runtime: NodeRuntime, claim: Claim) -> Claimed:
    """Trade a claim code for the edge node's credentials, provisioning the gateway's devices
    from its mapping. Refusals raise; the transaction then leaves the code unused."""
    row = await _valid_code(session, claim.code)
    factory = await get_factory(session, row.factory_id)
    if factory.status is not FactoryStatus.ACTIVE:
        raise FactoryNotActive(f"factory {factory.slug} is {factory.status.value}, not active")
    # The claim acts with the node's own rights, named after the code in the audit chain.
    actor = Subject(kind=SubjectKind.SYSTEM, id=f"gateway-claim:{row.lookup}")
    if claim.group != factory.slug:
        raise ClaimMismatch(
            f"gateway.group is {claim.group!r}, but the code is for factory {factory.slug!r}"
        )
    if claim.edge_node != row.edge_node_key:
        raise ClaimMismatch(
            f"gateway.edge_node is {claim.edge_node!r}, but the code is for {row.edge_node_key!r}"
        )
    if len(claim.devices) > MAX_CLAIMED_DEVICES:
        raise InvalidInput(f"devices: at most {MAX_CLAIMED_DEVICES}")
    if row.namespaced:
        outside = [d.key for d in claim.devices if not d.key.startswith(f"{factory.slug}-")]
        if outside:
            raise InvalidInput(
                f"devices: {outside[0]!r}: devices of {factory.slug} are named {factory.slug}-..."
            )
    repository = DeviceRepository(session)
    row.used_at = utcnow()
    row.used_from = claim.address[:64]
    await session.flush()
    edge = await repository.get_by_key(row.edge_node_key)
    if edge is None:
        made = await devices.provision_device(
            session,
            actor,
            runtime=runtime,
            input=devices.NewDevice(
                factory_id=factory.id,
                key=row.edge_node_key,
                name=f"Gateway {row.edge_node_key}",
                type="gateway",
                kind=DeviceKind.EDGE_NODE,
                metrics=claim.edge_metrics,
            ),
        )
    else:
        if (
            edge.factory_id != factory.id
            or edge.kind is not DeviceKind.EDGE_NODE
            or edge.status is DeviceStatus.RETIRED
        ):
            raise DeviceExists(f"{row.edge_node_key!r} is no longer an edge node in service")
        made = await devices.rotate_credentials(session, actor, runtime=runtime, device_id=edge.id)
    provisioned: list[str] = []
    kept: list[str] = []
    for device in claim.devices:
        known = await repository.get_by_key(device.key)
        if known is not None:
            if known.edge_node_id != made.device.id:
                raise DeviceExists(
                    f"a device with key {device.key!r} exists on this node, not under "
                    f"{row.edge_node_key}"
                )
            kept.append(device.key)
            continue
        await devices.provision_device(
            session,
            actor,
            runtime=runtime,
            input=devices.NewDevice(
                factory_id=factory.id,
                key=device.key,
                name=f"Machine {device.key}",
                type=device.type,
                edge_node_key=row.edge_node_key,
                metrics=device.metrics,
            ),
        )
        provisioned.append(device.key)
    await append_entry(
        session,
        actor=actor,
        action="node.gateway.claim",
        resource=f"device:{row.edge_node_key}",
        outcome="ok",
        detail={
            "factory": factory.slug,
            "from": row.used_from,
            "created_by": row.created_by,
            "provisioned": len(provisioned),
            "kept": len(kept),
        },
    )
    return Claimed(edge_node=made.device, password=made.secret, provisioned=provisioned, kept=kept)
