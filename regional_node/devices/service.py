"""Devices: provisioning with their own credentials, lifecycle, metric declarations.

Lifecycle: provisioned -> active (on its first accepted reading) -> suspended <-> active, and
retired from any state for good. When the node manages the broker, each change is made there
first, inside the database transaction: if the broker refuses, nothing changes on the node; if
the node's commit then failed, the broker would know a device the node does not, which refuses
its data anyway.
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.audit.service import append_entry
from regional_node.broker_admin import BrokerAdminError
from regional_node.devices import repository
from regional_node.devices.credentials import hash_secret, new_secret
from regional_node.devices.errors import (
    BrokerUnavailable,
    DeviceExists,
    DeviceNotFound,
    DeviceTransitionNotAllowed,
    FactoryNotActive,
)
from regional_node.devices.models import (
    Connection,
    Device,
    DeviceKind,
    DeviceMetric,
    DeviceStatus,
)
from regional_node.devices.repository import DeviceRepository
from regional_node.factories.models import Factory, FactoryStatus
from regional_node.factories.service import factory_for, factory_resource, get_factory
from yunfab.authorization import Denied
from yunfab.db import after_commit, utcnow
from yunfab.errors import InvalidInput
from yunfab.graphql.pagination import Page, PageRequest, contains
from yunfab.subject import Subject, SubjectKind
from yunfab.tokens import TokenMissing

if TYPE_CHECKING:
    from regional_node.runtime import NodeRuntime

KEY = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
METRIC = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
MAX_METRICS = 200


class DeviceTransition(enum.StrEnum):
    SUSPEND = "suspend"
    REACTIVATE = "reactivate"
    RETIRE = "retire"


@dataclass(frozen=True)
class MetricInput:
    name: str
    unit: str
    min_value: float | None = None
    max_value: float | None = None


@dataclass(frozen=True)
class NewDevice:
    factory_id: uuid.UUID
    key: str
    name: str
    type: str
    kind: DeviceKind = DeviceKind.DEVICE
    edge_node_key: str | None = None
    metrics: Sequence[MetricInput] = field(default_factory=tuple)


@dataclass(frozen=True)
class Provisioned:
    device: Device
    secret: str
    """Shown once: the node keeps only a hash."""


async def get_device(session: AsyncSession, device_id: uuid.UUID) -> Device:
    device = await DeviceRepository(session).get(device_id)
    if device is None:
        raise DeviceNotFound(f"no device {device_id} on this node")
    return device


async def device_with_factory(
    session: AsyncSession,
    subject: Subject,
    *,
    runtime: NodeRuntime,
    device_id: uuid.UUID,
    action: str,
) -> tuple[Device, Factory]:
    """The device, once the policy allowed `action` on it (decided on its factory). Who may not
    see the device is told DEVICE_NOT_FOUND, as for an id that is not there."""
    device = await DeviceRepository(session).get(device_id)
    factory = None if device is None else await get_factory(session, device.factory_id)
    await runtime.authorizer.check_found(
        subject,
        action,
        None if factory is None else factory_resource(factory),
        read="node.device.read",
        missing=DeviceNotFound(f"no device {device_id} on this node"),
    )
    assert device is not None
    assert factory is not None
    return device, factory


async def provision_device(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, input: NewDevice
) -> Provisioned:
    factory = await factory_for(
        session, subject, runtime=runtime, factory_id=input.factory_id, action="node.device.manage"
    )
    if factory.status is not FactoryStatus.ACTIVE:
        raise FactoryNotActive(f"factory {factory.slug} is {factory.status.value}, not active")
    if not KEY.match(input.key):
        raise InvalidInput("key: lowercase letters, digits and hyphens, at most 63 characters")
    if input.key in runtime.reserved_keys:
        raise InvalidInput(f"key: {input.key!r} is reserved for the node itself")
    if not await runtime.authorizer.allows(subject, "node.device.manage", {"factory": None}):
        # Keys are the node's MQTT usernames, unique on the node. Who manages the devices of one
        # factory only (not of any factory) names them in its namespace, so they never try a key
        # taken in a factory they cannot see: DEVICE_EXISTS names only devices they can see.
        if not input.key.startswith(f"{factory.slug}-"):
            raise InvalidInput(
                f"key: devices of {factory.slug} are named {factory.slug}-..., "
                f"e.g. {factory.slug}-press-01"
            )
    if not KEY.match(input.type.replace("_", "-")):
        raise InvalidInput("type: a short lowercase name such as injection_moulding")
    name = input.name.strip()
    if not 1 <= len(name) <= 200:
        raise InvalidInput("name: 1 to 200 characters")
    devices = DeviceRepository(session)
    if await devices.key_taken(input.key):
        raise DeviceExists(f"a device with key {input.key!r} already exists on this node")
    edge_node_id = None
    if input.edge_node_key is not None:
        if input.kind is DeviceKind.EDGE_NODE:
            raise InvalidInput("edgeNodeKey: an edge node is not under another edge node")
        edge = await devices.get_by_key(input.edge_node_key)
        if edge is None or edge.factory_id != factory.id or edge.kind is not DeviceKind.EDGE_NODE:
            raise InvalidInput(
                f"edgeNodeKey: no edge node {input.edge_node_key!r} in factory {factory.slug}"
            )
        edge_node_id = edge.id
    metrics = _checked_metrics(input.metrics)
    secret = new_secret()
    device = Device(
        key=input.key,
        factory_id=factory.id,
        kind=input.kind,
        type=input.type,
        name=name,
        edge_node_id=edge_node_id,
        status=DeviceStatus.PROVISIONED,
        secret_hash=hash_secret(secret),
    )
    session.add(device)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise DeviceExists(f"a device with key {input.key!r} already exists on this node") from exc
    session.add_all(
        DeviceMetric(
            device_id=device.id,
            name=metric.name,
            unit=metric.unit,
            min_value=metric.min_value,
            max_value=metric.max_value,
        )
        for metric in metrics
    )
    await session.flush()
    await append_entry(
        session,
        actor=subject,
        action="node.device.provision",
        resource=f"device:{device.key}",
        outcome="ok",
        detail={"factory": factory.slug, "kind": device.kind.value, "metrics": len(metrics)},
    )
    if runtime.broker is not None:
        group = factory.slug if device.kind is DeviceKind.EDGE_NODE else None
        await _broker_call(
            runtime.broker.provision_device(device.key, secret, edge_node_group=group)
        )
    after_commit(session, lambda: runtime.registry.invalidate([device.key]))
    return Provisioned(device=device, secret=secret)


async def change_status(
    session: AsyncSession,
    subject: Subject,
    *,
    runtime: NodeRuntime,
    device_id: uuid.UUID,
    transition: DeviceTransition,
    reason: str | None = None,
) -> Device:
    device, _ = await device_with_factory(
        session, subject, runtime=runtime, device_id=device_id, action="node.device.manage"
    )
    previous = device.status
    if previous is DeviceStatus.RETIRED:
        raise DeviceTransitionNotAllowed(f"device {device.key} is retired")
    if transition is DeviceTransition.SUSPEND:
        if previous is DeviceStatus.SUSPENDED:
            raise DeviceTransitionNotAllowed(f"device {device.key} is already suspended")
        device.status = DeviceStatus.SUSPENDED
    elif transition is DeviceTransition.REACTIVATE:
        if previous is not DeviceStatus.SUSPENDED:
            raise DeviceTransitionNotAllowed(f"device {device.key} is not suspended")
        device.status = DeviceStatus.ACTIVE
    else:
        device.status = DeviceStatus.RETIRED
    device.status_changed_at = utcnow()
    await session.flush()
    await append_entry(
        session,
        actor=subject,
        action=f"node.device.{transition.value}",
        resource=f"device:{device.key}",
        outcome="ok",
        detail={"from": previous.value, "to": device.status.value, "reason": reason},
    )
    if runtime.broker is not None:
        if transition is DeviceTransition.SUSPEND:
            await _broker_call(runtime.broker.disable_device(device.key))
        elif transition is DeviceTransition.REACTIVATE:
            await _broker_call(runtime.broker.enable_device(device.key))
        else:
            await _broker_call(runtime.broker.delete_device(device.key))
    key = device.key
    after_commit(session, lambda: runtime.registry.invalidate([key]))
    return device


async def rotate_credentials(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, device_id: uuid.UUID
) -> Provisioned:
    device, _ = await device_with_factory(
        session, subject, runtime=runtime, device_id=device_id, action="node.device.manage"
    )
    if device.status is DeviceStatus.RETIRED:
        raise DeviceTransitionNotAllowed(f"device {device.key} is retired")
    secret = new_secret()
    device.secret_hash = hash_secret(secret)
    await session.flush()
    await append_entry(
        session,
        actor=subject,
        action="node.device.rotate_credentials",
        resource=f"device:{device.key}",
        outcome="ok",
    )
    if runtime.broker is not None:
        await _broker_call(runtime.broker.set_password(device.key, secret))
    key = device.key
    after_commit(session, lambda: runtime.registry.invalidate([key]))
    return Provisioned(device=device, secret=secret)


async def device_metrics(session: AsyncSession, device_id: uuid.UUID) -> Sequence[DeviceMetric]:
    return await DeviceRepository(session).metrics(device_id)


@dataclass(frozen=True)
class DeviceFilter:
    """What a device listing narrows to; every given condition must hold."""

    factory_id: uuid.UUID | None = None
    status: DeviceStatus | None = None
    connection: Connection | None = None
    kind: DeviceKind | None = None
    type: str | None = None
    search: str | None = None
    """Part of the key or the name, any case."""

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.factory_id is not None:
            found.append(Device.factory_id == self.factory_id)
        if self.status is not None:
            found.append(Device.status == self.status)
        if self.connection is not None:
            found.append(Device.connection == self.connection)
        if self.kind is not None:
            found.append(Device.kind == self.kind)
        if self.type is not None:
            found.append(Device.type == self.type)
        if self.search:
            found.append(or_(contains(Device.key, self.search), contains(Device.name, self.search)))
        return found


async def device_page(
    session: AsyncSession, page: PageRequest, where: DeviceFilter
) -> Page[Device]:
    """One page by key, not yet decided by the policy (see `counted_or_visible`)."""
    return await DeviceRepository(session).page(where.conditions(), page)


async def list_devices(
    session: AsyncSession,
    subject: Subject,
    *,
    runtime: NodeRuntime,
    factory_id: uuid.UUID,
    page: PageRequest,
    where: DeviceFilter | None = None,
) -> Page[Device]:
    """One factory's devices, decided once on the factory (so with an exact total)."""
    factory = await factory_for(
        session, subject, runtime=runtime, factory_id=factory_id, action="node.device.read"
    )
    scoped = replace(where or DeviceFilter(), factory_id=factory.id)
    return await device_page(session, page, scoped)


async def sees_every_device(runtime: NodeRuntime, subject: Subject) -> bool:
    """Whether the policy lets `subject` read devices of any factory (the node operator);
    others are decided factory by factory. Nobody signed in is told so (401), not shown an
    empty list."""
    if subject.kind is SubjectKind.ANONYMOUS:
        raise TokenMissing("authentication required: send a Bearer access token")
    return await runtime.authorizer.allows(
        subject, "node.device.read", {"factory": None, "org": None}
    )


async def device_types(
    session: AsyncSession,
    subject: Subject,
    *,
    runtime: NodeRuntime,
    factory_id: uuid.UUID | None,
) -> dict[str, set[tuple[str, str]]]:
    """Device type -> (metric, unit) pairs its devices declare, not retired: what an alert rule
    on a type may watch, in a factory or (no factory) node-wide, as `createAlertRule` checks it.
    Node-wide is for who reads every factory's devices (the operator)."""
    if factory_id is not None:
        factory = await factory_for(
            session, subject, runtime=runtime, factory_id=factory_id, action="node.device.read"
        )
        return await repository.metric_units_by_type(session, factory.id)
    if not await sees_every_device(runtime, subject):
        raise Denied("node-wide device types are the node operator's: name a factory")
    return await repository.metric_units_by_type(session, None)


async def readable_devices(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, devices: Sequence[Device]
) -> list[Device]:
    """The devices `subject` may read, decided on their factories in one policy evaluation."""
    ids = {device.factory_id for device in devices}
    factories = {
        f.id: f for f in await DeviceRepository(session).factories(ids)
    } if ids else {}  # fmt: skip
    return await runtime.authorizer.filter(
        subject,
        "node.device.read",
        list(devices),
        lambda device: factory_resource(factories[device.factory_id]),
    )


async def readable_device_by_key(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, key: str
) -> Device:
    """A device by its key (its MQTT username); DEVICE_NOT_FOUND for one the caller may not
    read, as for a key that is not provisioned."""
    device = await DeviceRepository(session).get_by_key(key.strip()[:63])
    factory = None if device is None else await get_factory(session, device.factory_id)
    await runtime.authorizer.check_found(
        subject,
        "node.device.read",
        None if factory is None else factory_resource(factory),
        read="node.device.read",
        missing=DeviceNotFound(f"no device {key!r} on this node"),
    )
    assert device is not None
    return device


def _checked_metrics(metrics: Sequence[MetricInput]) -> list[MetricInput]:
    if len(metrics) > MAX_METRICS:
        raise InvalidInput(f"metrics: at most {MAX_METRICS}")
    names: set[str] = set()
    for index, metric in enumerate(metrics):
        where = f"metrics[{index}]"
        if not METRIC.match(metric.name):
            raise InvalidInput(f"{where}.name: lowercase letters, digits and underscores")
        if metric.name in names:
            raise InvalidInput(f"{where}.name: {metric.name} declared twice")
        names.add(metric.name)
        if not 1 <= len(metric.unit) <= 16:
            raise InvalidInput(f"{where}.unit: 1 to 16 characters (e.g. kN, degC, rpm, 1)")
        if (
            metric.min_value is not None
            and metric.max_value is not None
            and metric.min_value >= metric.max_value
        ):
            raise InvalidInput(f"{where}: minValue must be below maxValue")
    return list(metrics)


async def _broker_call(call: Awaitable[None]) -> None:
    try:
        await call
    except BrokerAdminError as exc:
        raise BrokerUnavailable(f"the broker refused the change: {exc}") from exc


async def follow_factory_status(
    session: AsyncSession, runtime: NodeRuntime, factory: Factory, previous: FactoryStatus
) -> None:
    """A factory was suspended, reactivated or activated: its devices are accepted or refused
    from now on, by the node and by the broker (a suspended factory's machines are not even let
    in, rather than dead-lettered forever). Runs in the transition's unit of work."""
    rows = await DeviceRepository(session).keys_and_statuses_at(factory.id)
    keys = [key for key, _ in rows]
    if runtime.broker is not None:
        for key, status in rows:
            if status in (DeviceStatus.RETIRED, DeviceStatus.SUSPENDED):
                continue  # retired: gone from the broker; suspended: stays disabled
            if factory.status is FactoryStatus.SUSPENDED:
                await _broker_call(runtime.broker.disable_device(key))
            elif previous is FactoryStatus.SUSPENDED:
                await _broker_call(runtime.broker.enable_device(key))
    after_commit(session, lambda: runtime.registry.invalidate(keys))
