from __future__ import annotations

import uuid

import strawberry
from strawberry.types import Info

from regional_node.devices import service
from regional_node.devices.graphql.types import DeviceType
from regional_node.graphql.context import NodeContext


@strawberry.type
class DeviceQuery:
    @strawberry.field(description="One device, by id.")
    async def device(self, info: Info[NodeContext, None], id: uuid.UUID) -> DeviceType:
        context = info.context
        device, _ = await service.device_with_factory(
            context.session,
            context.subject,
            runtime=context.runtime,
            device_id=id,
            action="node.device.read",
        )
        return DeviceType.from_model(device)
