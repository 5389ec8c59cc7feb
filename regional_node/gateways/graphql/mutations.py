"""`createGatewayClaimCode`: a one-time code a factory's gateway claims its credentials with;
`pushGatewayConfig`: a new configuration version for a gateway."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Self

import strawberry
from strawberry.types import Info

from regional_node.gateways import configs, service
from regional_node.graphql.context import NodeContext
from yunfab.errors import Forbidden, Unauthenticated, YunfabError
from yunfab.graphql.resolvers import mutate


@strawberry.input
class CreateGatewayClaimCodeInput:
    factory_id: uuid.UUID
    edge_node_key: str = strawberry.field(
        description="The gateway's `gateway.edge_node`: provisioned by the claim, or given new "
        "credentials when it is an edge node of the factory already."
    )
    valid_hours: float | None = strawberry.field(
        default=None, description="24 unless given; at most 168."
    )


@strawberry.type
class CreateGatewayClaimCodeSuccess:
    code: str = strawberry.field(description="Shown this once; the node keeps a hash.")
    edge_node_key: str
    factory_slug: str
    expires_at: dt.datetime
    claim_command: str = strawberry.field(
        description="What to run on the gateway's box (its configuration at gateway.toml)."
    )


@strawberry.type
class CreateGatewayClaimCodeError:
    code: str = strawberry.field(description="Stable, e.g. INVALID_INPUT, DEVICE_EXISTS.")
    message: str

    @classmethod
    def of(cls, error: YunfabError) -> Self:
        return cls(code=error.code.upper(), message=error.detail)


CreateGatewayClaimCodeResult = Annotated[
    CreateGatewayClaimCodeSuccess | CreateGatewayClaimCodeError,
    strawberry.union("CreateGatewayClaimCodeResult"),
]


@strawberry.type
class GatewayMutation:
    @strawberry.mutation(
        description="A one-time claim code for a gateway of a factory (who may manage its "
        "devices): `yunfab gateway claim` trades it for the edge node's broker login and "
        "provisions the machines of the gateway's mapping."
    )
    async def create_gateway_claim_code(
        self, info: Info[NodeContext, None], input: CreateGatewayClaimCodeInput
    ) -> CreateGatewayClaimCodeResult:
        context = info.context
        try:
            issued = await mutate(
                context,
                service.create_claim_code,
                runtime=context.runtime,
                factory_id=input.factory_id,
                edge_node_key=input.edge_node_key,
                valid_hours=input.valid_hours,
            )
        except (Forbidden, Unauthenticated):
            raise
        except YunfabError as exc:
            if exc.status_code >= 500 and exc.status_code != 503:
                raise
            return CreateGatewayClaimCodeError.of(exc)
        node_url = (
            context.settings.public_url or f"http://{context.settings.host}:{context.settings.port}"
        )
        return CreateGatewayClaimCodeSuccess(
            code=issued.code,
            edge_node_key=issued.claim.edge_node_key,
            factory_slug=issued.factory_slug,
            expires_at=issued.claim.expires_at,
            claim_command=(
                f"yunfab gateway claim --node {node_url} --code {issued.code} --config gateway.toml"
            ),
        )


@strawberry.input
class PushGatewayConfigInput:
    device_id: uuid.UUID = strawberry.field(description="The gateway's edge node.")
    config: str = strawberry.field(
        description="The whole gateway.toml (256 KiB at most), checked with the gateway's own "
        "parser; its gateway.group and gateway.edge_node must be the edge node's."
    )


@strawberry.type
class PushGatewayConfigSuccess:
    version: int
    created_at: dt.datetime


@strawberry.type
class PushGatewayConfigError:
    code: str = strawberry.field(description="Stable, e.g. INVALID_INPUT.")
    message: str

    @classmethod
    def of(cls, error: YunfabError) -> Self:
        return cls(code=error.code.upper(), message=error.detail)


PushGatewayConfigResult = Annotated[
    PushGatewayConfigSuccess | PushGatewayConfigError,
    strawberry.union("PushGatewayConfigResult"),
]


@strawberry.type
class GatewayConfigMutation:
    @strawberry.mutation(
        description="Store a new configuration version for a gateway (who may manage the "
        "factory's devices); the gateway fetches it at its next status report, checks it, "
        "applies it and reports the version it runs (gatewayStatus.configVersion)."
    )
    async def push_gateway_config(
        self, info: Info[NodeContext, None], input: PushGatewayConfigInput
    ) -> PushGatewayConfigResult:
        context = info.context
        try:
            row = await mutate(
                context,
                configs.push_config,
                runtime=context.runtime,
                device_id=input.device_id,
                text=input.config,
            )
        except (Forbidden, Unauthenticated):
            raise
        except YunfabError as exc:
            if exc.status_code >= 500 and exc.status_code != 503:
                raise
            return PushGatewayConfigError.of(exc)
        return PushGatewayConfigSuccess(version=row.version, created_at=row.created_at)
