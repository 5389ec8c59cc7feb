"""The node's audit log narrowed to one thing: a factory's trail, an order's, a device's.

Audit entries name what they are about as text (`factory:<slug>`, `device:<key>`,
`order:<number>`, `station:<factory slug>/<station>`, `vision-model:<factory slug>/...`), so a
thing given by id is looked up for the names its entries carry. A factory's trail is the
factory's own entries, its stations', its inspection models' and its devices'. A name given as
such (a slug, a key, a number) is taken as it is: the trail of something since removed still
reads.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.audit.models import AuditEntry
from regional_node.audit.service import CHAIN
from regional_node.devices.errors import DeviceNotFound
from regional_node.devices.models import Device
from regional_node.factories.errors import FactoryNotFound
from regional_node.factories.models import Factory
from regional_node.graphql.lookup import AmbiguousLookup
from regional_node.orders.errors import OrderNotFound
from regional_node.orders.models import Order
from regional_node.runtime import NodeRuntime
from yunfab.errors import InvalidInput
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.subject import Subject


@dataclass(frozen=True)
class Target:
    """At most one of these."""

    factory_id: uuid.UUID | None = None
    factory_slug: str | None = None
    order_id: uuid.UUID | None = None
    order_number: str | None = None
    device_id: uuid.UUID | None = None
    device_key: str | None = None


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    target: Target = Target()
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    actor: str | None = None


async def search(
    session: AsyncSession,
    subject: Subject,
    *,
    runtime: NodeRuntime,
    filter: AuditFilter,
    page: PageRequest,
) -> Page[AuditEntry]:
    """Newest first."""
    await runtime.authorizer.check(subject, "node.audit.read")
    if filter.since and filter.until and filter.until <= filter.since:
        raise InvalidInput("until must be after since")
    names = await _names(session, filter.target)
    return await CHAIN.page(
        session,
        page=page,
        action=filter.action,
        resources=None if names is None else names[0],
        resource_prefixes=() if names is None else names[1],
        since=filter.since,
        until=filter.until,
        actor=filter.actor,
    )


async def _names(session: AsyncSession, target: Target) -> tuple[list[str], list[str]] | None:
    """The exact resource names and name prefixes of the target's entries; None: no target."""
    given = [name for name, value in vars(target).items() if value is not None]
    if not given:
        return None
    if len(given) > 1:
        raise AmbiguousLookup(f"give at most one target: {', '.join(given)} were given")
    if target.factory_id is not None or target.factory_slug is not None:
        slug = target.factory_slug
        if target.factory_id is not None:
            factory = await session.get(Factory, target.factory_id)
            if factory is None:
                raise FactoryNotFound(f"no factory {target.factory_id} on this node")
            slug = factory.slug
        assert slug is not None
        slug = slug.strip()
        keys = await session.scalars(
            select(Device.key)
            .join(Factory, Factory.id == Device.factory_id)
            .where(Factory.slug == slug)
        )
        return (
            [f"factory:{slug}", *(f"device:{key}" for key in keys)],
            [f"station:{slug}/", f"vision-model:{slug}/"],
        )
    if target.order_id is not None:
        number = await session.scalar(select(Order.number).where(Order.id == target.order_id))
        if number is None:
            raise OrderNotFound(f"no order {target.order_id} on this node")
        return [f"order:{number}"], []
    if target.order_number is not None:
        return [f"order:{target.order_number.strip()}"], []
    key = target.device_key
    if target.device_id is not None:
        key = await session.scalar(select(Device.key).where(Device.id == target.device_id))
        if key is None:
            raise DeviceNotFound(f"no device {target.device_id} on this node")
    assert key is not None
    return [f"device:{key.strip()}"], []
