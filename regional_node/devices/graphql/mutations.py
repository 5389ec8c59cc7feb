from __future__ import annotations

import uuid

import strawberry
from strawberry.types import Info

from regional_node.devices import service
from regional_node.devices.graphql.types import DeviceKindEnum, DeviceType
from regional_node.devices.models import DeviceKind
from regional_node.graphql.context import NodeContext
from yunfab.graphql.resolvers import mutate, service_input

DeviceTransitionEnum = strawberry.enum(service.DeviceTransition, name="DeviceTransition")


@strawberry.input
class DeviceMetricInput:
    name: str = strawberry.field(description="e.g. clamp_force_kn")
    unit: str = strawberry.field(description="e.g. kN, degC, rpm, 1")
    min_value: float | None = None
    max_value: float | None = None


@strawberry.input
class ProvisionDeviceInput:
    factory_id: uuid.UUID
    key: str = strawberry.field(description="Unique on the node; its MQTT username.")
    name: str
    type: str = strawberry.field(description="e.g. injection_moulding; alert rules may target it.")
    kind: DeviceKindEnum = DeviceKind.DEVICE  # type: ignore[valid-type]
    edge_node_key: str | None = strawberry.field(
        default=None, description="For a device behind a Sparkplug edge node."
    )
    metrics: list[DeviceMetricInput] = strawberry.field(default_factory=list)


@strawberry.type(name="DeviceCredentials")
class DeviceCredentialsType:
    device: DeviceType
    username: str
    password: str = strawberry.field(description="Shown this once; the node keeps a hash.")


@strawberry.type
class DeviceMutation:
    @strawberry.mutation(description="Provision a device and issue its own credentials.")
    async def provision_device(
        self, info: Info[NodeContext, None], input: ProvisionDeviceInput
    ) -> DeviceCredentialsType:
        context = info.context
        provisioned = await mutate(
            context,
            service.provision_device,
            runtime=context.runtime,
            input=service_input(
                service.NewDevice,
                input,
                metrics=[service_input(service.MetricInput, m) for m in input.metrics],
            ),
        )
        return DeviceCredentialsType(
            device=DeviceType.from_model(provisioned.device),
            username=provisioned.device.key,
            password=provisioned.secret,
        )

    @strawberry.mutation(description="Suspend, reactivate or retire a device.")
    async def change_device_status(
        self,
        info: Info[NodeContext, None],
        device_id: uuid.UUID,
        transition: DeviceTransitionEnum,  # type: ignore[valid-type]
        reason: str | None = None,
    ) -> DeviceType:
        context = info.context
        device = await mutate(
            context,
            service.change_status,
            runtime=context.runtime,
            device_id=device_id,
            transition=transition,
            reason=reason,
        )
        return DeviceType.from_model(device)

    @strawberry.mutation(description="Issue new credentials; the old ones stop working.")
    async def rotate_device_credentials(
        self, info: Info[NodeContext, None], device_id: uuid.UUID
    ) -> DeviceCredentialsType:
        context = info.context
        provisioned = await mutate(
            context, service.rotate_credentials, runtime=context.runtime, device_id=device_id
        )
        return DeviceCredentialsType(
            device=DeviceType.from_model(provisioned.device),
            username=provisioned.device.key,
            password=provisioned.secret,
        )
