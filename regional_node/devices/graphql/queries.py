from __future__ import annotations

import uuid
from typing import Annotated

import strawberry
from strawberry.types import Info

from regional_node.devices import service
from regional_node.devices.graphql.types import (
    ConnectionEnum,
    DeviceKindEnum,
    DeviceStatusEnum,
    DeviceType,
)
from regional_node.graphql.context import NodeContext
from regional_node.graphql.lookup import exactly_one
from yunfab.graphql.pagination import Connection, counted_or_visible
from yunfab.graphql.resolvers import page_request, query


@strawberry.type(name="DeclaredMetric")
class DeclaredMetricType:
    name: str
    unit: str


@strawberry.type(
    name="DeviceTypeMetrics",
    description="A device type and the metrics its devices declare: what an alert rule on the "
    "type may watch.",
)
class DeviceTypeMetricsType:
    type: str
    metrics: list[DeclaredMetricType] = strawberry.field(
        description="By name; a metric declared in two units appears once per unit."
    )


@strawberry.type
class DeviceQuery:
    @strawberry.field(
        description="The device types of a factory (`factoryId`) or, for the node operator, of "
        "the whole node, each with the metrics its devices (not retired) declare: the choices "
        "`createAlertRule` accepts for a rule on a device type, by type name."
    )
    async def device_types(
        self, info: Info[NodeContext, None], factory_id: uuid.UUID | None = None
    ) -> list[DeviceTypeMetricsType]:
        context = info.context
        found = await query(
            context, service.device_types, runtime=context.runtime, factory_id=factory_id
        )
        return [
            DeviceTypeMetricsType(
                type=kind,
                metrics=[DeclaredMetricType(name=name, unit=unit) for name, unit in sorted(pairs)],
            )
            for kind, pairs in sorted(found.items())
        ]

    @strawberry.field(
        description="One device, by id or by key (exactly one); DEVICE_NOT_FOUND for one you "
        "may not see."
    )
    async def device(
        self,
        info: Info[NodeContext, None],
        id: uuid.UUID | None = None,
        key: Annotated[
            str | None, strawberry.argument(description="As provisioned, e.g. <slug>-press-01.")
        ] = None,
    ) -> DeviceType:
        context = info.context
        exactly_one(id=id, key=key)
        if id is not None:
            device, _ = await query(
                context,
                service.device_with_factory,
                runtime=context.runtime,
                device_id=id,
                action="node.device.read",
            )
        else:
            device = await query(
                context, service.readable_device_by_key, runtime=context.runtime, key=str(key)
            )
        return DeviceType.from_model(device)

    @strawberry.field(
        description="Devices by key: one factory's (`factoryId`), or all you may see (every "
        "factory's for the node operator, your factory's for its people; `totalCount` null "
        "for the latter unless `factoryId` is given)."
    )
    async def devices(
        self,
        info: Info[NodeContext, None],
        factory_id: uuid.UUID | None = None,
        status: DeviceStatusEnum | None = None,  # type: ignore[valid-type]
        connection: Annotated[
            ConnectionEnum | None,  # type: ignore[valid-type]
            strawberry.argument(description="ONLINE: the devices connected now."),
        ] = None,
        kind: DeviceKindEnum | None = None,  # type: ignore[valid-type]
        type: str | None = None,
        search: Annotated[
            str | None, strawberry.argument(description="Part of the key or the name, any case.")
        ] = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[DeviceType]:
        context = info.context
        request = page_request(context, first, after, arity=1)
        where = service.DeviceFilter(
            status=status, connection=connection, kind=kind, type=type, search=search
        )
        if factory_id is not None:
            page = await query(
                context,
                service.list_devices,
                runtime=context.runtime,
                factory_id=factory_id,
                page=request,
                where=where,
            )
            return Connection[DeviceType].from_page(
                page, key=lambda device: (device.key,), node=DeviceType.from_model, after=after
            )
        return await counted_or_visible(
            request,
            sees_all=await service.sees_every_device(context.runtime, context.subject),
            fetch=lambda page: service.device_page(context.session, page, where),
            keep=lambda rows: query(
                context, service.readable_devices, runtime=context.runtime, devices=rows
            ),
            key=lambda device: (device.key,),
            node=DeviceType.from_model,
            after=after,
        )
