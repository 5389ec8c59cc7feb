"""The signed-in subject as the node sees it, and its capabilities.

A capability is the answer the policy engine gives to the same question the real query or
mutation asks, with the subject's own organization standing in for the resource where the rule
depends on one: "may I provision devices" is `node.device.manage` on a factory of my own
organization, "may I place orders" is `node.order.place` for my organization. A console hides
what would be refused; the API still decides each request for the resource it names.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.factories.models import Factory
from regional_node.runtime import NodeRuntime
from yunfab.subject import Subject, canonical_org_id


class On(enum.Enum):
    """What a capability's permission is decided on."""

    NODE = "node"
    """Nothing: the permission is asked without a resource (lists, node-wide operations)."""
    FACTORY = "factory"
    """A factory of the caller's organization (`{"factory", "org"}`, as `factory_resource`)."""
    ORDER = "order"
    """An order of the caller's organization (`{"order", "org"}`, as `order_resource`)."""


@dataclass(frozen=True)
class Capability:
    name: str
    needs: tuple[tuple[str, On], ...]
    """Every one of these permissions must be granted."""
    description: str


CAPABILITIES: tuple[Capability, ...] = (
    Capability("read_overview", (("node.overview.read", On.NODE),), "`overview`"),
    Capability(
        "read_factories",
        (("node.factory.list", On.NODE),),
        "`factories` (all of the node's for the operator, their own for a factory's people)",
    ),
    Capability(
        "manage_factories",
        (("node.factory.invite", On.NODE), ("node.factory.review", On.FACTORY)),
        "`inviteFactory`, and `changeFactoryStatus` to verify, activate, reject or suspend",
    ),
    Capability(
        "edit_factory_profile",
        (("node.factory.edit", On.FACTORY),),
        "`saveFactoryProfile`, `setFactoryCapacity` and submitting the profile",
    ),
    Capability(
        "read_devices", (("node.device.read", On.FACTORY),), "`devices` and a device's telemetry"
    ),
    Capability(
        "provision_devices",
        (("node.device.manage", On.FACTORY),),
        "`provisionDevice`, suspending, reactivating and rotating devices",
    ),
    Capability("read_dead_letters", (("node.deadletter.read", On.NODE),), "`deadLetters`"),
    Capability("read_alerts", (("node.alert.list", On.NODE),), "`alerts`, `alertChanges`"),
    Capability(
        "respond_to_alerts",
        (("node.alert.respond", On.FACTORY),),
        "`acknowledgeAlert`, `closeAlert`",
    ),
    Capability(
        "manage_alerts",
        (("node.alert.manage", On.FACTORY),),
        "alert rules and their silences",
    ),
    Capability(
        "manage_contact_points",
        (("node.contact_point.manage", On.FACTORY),),
        "a factory's contact points",
    ),
    Capability(
        "read_orders",
        (("node.order.read", On.ORDER),),
        "`orders` (all of them for the operator, a buyer's own otherwise)",
    ),
    Capability("place_orders", (("node.order.place", On.ORDER),), "`placeOrder`"),
    Capability(
        "plan_orders",
        (("node.order.plan", On.ORDER), ("node.order.advance", On.ORDER)),
        "`planOrder`, `replanOrder`, dispatching and advancing orders",
    ),
    Capability("import_routings", (("node.routing.manage", On.NODE),), "`importRouting`"),
    Capability(
        "report_work",
        (("node.workorder.report", On.FACTORY), ("node.breakdown.report", On.FACTORY)),
        "work order progress and breakdowns",
    ),
    Capability("read_schedules", (("node.schedule.read", On.FACTORY),), "a factory's schedules"),
    Capability(
        "manage_schedules",
        (("node.schedule.manage", On.FACTORY),),
        "`scheduleFactory`, rush jobs, what-if comparisons",
    ),
    Capability(
        "read_vision",
        (("node.vision.station.read", On.FACTORY), ("node.vision.quality.read", On.FACTORY)),
        "stations, models and quality records",
    ),
    Capability(
        "manage_vision",
        (("node.vision.station.manage", On.FACTORY),),
        "stations: create, configure, switch and roll back their models",
    ),
    Capability(
        "train_vision_models",
        (("node.vision.model.train", On.FACTORY),),
        "training an inspection model from uploaded images",
    ),
    Capability(
        "read_vision_images",
        (("node.vision.image.read", On.FACTORY),),
        "inspected images and heatmaps",
    ),
    Capability("read_audit", (("node.audit.read", On.NODE),), "`auditLog`"),
    Capability("read_data_products", (("node.data_product.read", On.NODE),), "`dataProducts`"),
    Capability("read_installations", (("node.market.read", On.NODE),), "`marketInstallations`"),
)


@dataclass(frozen=True)
class Viewer:
    subject: Subject
    factories: Sequence[Factory]
    """The factories of the subject's organization (a factory's people); none for others."""
    can: Mapping[str, bool]


def _resource(on: On, subject: Subject) -> dict[str, Any] | None:
    if on is On.NODE:
        return None
    return {on.value: None, "org": subject.org_id}


async def capabilities(runtime: NodeRuntime, subject: Subject) -> dict[str, bool]:
    """Each capability by name: whether the policy grants all it needs."""
    decided: dict[tuple[str, On], bool] = {}
    for capability in CAPABILITIES:
        for need in capability.needs:
            if need not in decided:
                action, on = need
                decided[need] = await runtime.authorizer.allows(
                    subject, action, _resource(on, subject)
                )
    return {c.name: all(decided[need] for need in c.needs) for c in CAPABILITIES}


async def viewer(session: AsyncSession, subject: Subject, *, runtime: NodeRuntime) -> Viewer:
    factories: list[Factory] = []
    if subject.org_id is not None and subject.org_kind == "factory":
        query = select(Factory).where(Factory.organization_id.is_not(None)).order_by(Factory.name)
        factories = [
            factory
            for factory in (await session.scalars(query)).all()
            if canonical_org_id(factory.organization_id) == subject.org_id
        ]
    return Viewer(subject=subject, factories=factories, can=await capabilities(runtime, subject))
