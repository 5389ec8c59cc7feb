from __future__ import annotations

import strawberry
from strawberry.types import Info

from regional_node.factories.graphql.types import FactoryType
from regional_node.graphql.context import NodeContext
from regional_node.viewer import service
from yunfab.graphql.resolvers import query


@strawberry.type(
    name="ViewerCapabilities",
    description="What the policy lets the caller do here, asked as the real operation asks it "
    "(for a resource of the caller's own organization where the rule depends on one). For "
    "hiding what would be refused: each request is still decided on its own.",
)
class CapabilitiesType:
    read_overview: bool = strawberry.field(description="`overview`.")
    read_factories: bool = strawberry.field(
        description="`factories` (all of the node's for the operator, their own for a "
        "factory's people)."
    )
    manage_factories: bool = strawberry.field(
        description="`inviteFactory`, and `changeFactoryStatus` to verify, activate, reject or "
        "suspend."
    )
    edit_factory_profile: bool = strawberry.field(
        description="`saveFactoryProfile`, `setFactoryCapacity` and submitting the profile."
    )
    read_devices: bool = strawberry.field(description="`devices` and a device's telemetry.")
    provision_devices: bool = strawberry.field(
        description="`provisionDevice`, suspending, reactivating and rotating devices."
    )
    read_dead_letters: bool = strawberry.field(description="`deadLetters`.")
    read_alerts: bool = strawberry.field(description="`alerts`, `alertChanges`.")
    respond_to_alerts: bool = strawberry.field(description="`acknowledgeAlert`, `closeAlert`.")
    manage_alerts: bool = strawberry.field(description="Alert rules and their silences.")
    manage_contact_points: bool = strawberry.field(description="A factory's contact points.")
    read_orders: bool = strawberry.field(
        description="`orders` (all of them for the operator, a buyer's own otherwise)."
    )
    place_orders: bool = strawberry.field(description="`placeOrder`.")
    plan_orders: bool = strawberry.field(
        description="`planOrder`, `replanOrder`, dispatching and advancing orders."
    )
    import_routings: bool = strawberry.field(description="`importRouting`.")
    report_work: bool = strawberry.field(description="Work order progress and breakdowns.")
    read_schedules: bool = strawberry.field(description="A factory's schedules.")
    manage_schedules: bool = strawberry.field(
        description="`scheduleFactory`, rush jobs, what-if comparisons."
    )
    read_vision: bool = strawberry.field(description="Stations, models and quality records.")
    manage_vision: bool = strawberry.field(
        description="Stations: create, configure, switch and roll back their models."
    )
    train_vision_models: bool = strawberry.field(
        description="Training an inspection model from uploaded images."
    )
    read_vision_images: bool = strawberry.field(description="Inspected images and heatmaps.")
    read_audit: bool = strawberry.field(description="`auditLog`.")
    read_data_products: bool = strawberry.field(description="`dataProducts`.")
    read_installations: bool = strawberry.field(description="`marketInstallations`.")


@strawberry.type(
    name="Viewer", description="Who the node takes the caller to be, from their token."
)
class ViewerType:
    kind: str = strawberry.field(description="user, client, system or anonymous.")
    subject: str | None = strawberry.field(description="The token's subject (`sub`).")
    name: str | None = strawberry.field(description="When the token carries it.")
    email: str | None = strawberry.field(description="When the token carries it.")
    organization_id: str | None
    organization_kind: str | None
    region: str | None
    node: str | None = strawberry.field(description="For a node's own client: its node.")
    client_id: str | None
    scopes: list[str]
    roles: list[str]
    factories: list[FactoryType] = strawberry.field(
        description="The factories of the caller's organization on this node (a factory's "
        "people); empty for anyone else."
    )
    can: CapabilitiesType

    @classmethod
    def of(cls, viewer: service.Viewer) -> ViewerType:
        subject = viewer.subject
        return cls(
            kind=subject.kind.value,
            subject=subject.id,
            name=subject.name,
            email=subject.email,
            organization_id=subject.org_id,
            organization_kind=subject.org_kind,
            region=subject.region,
            node=subject.node,
            client_id=subject.client_id,
            scopes=sorted(subject.scopes),
            roles=sorted(subject.roles),
            factories=[FactoryType.from_model(factory) for factory in viewer.factories],
            can=CapabilitiesType(**viewer.can),
        )


@strawberry.type
class ViewerQuery:
    @strawberry.field(
        description="Who is signed in and what they may do; anyone may ask (an anonymous caller "
        "is told so, with no capabilities)."
    )
    async def viewer(self, info: Info[NodeContext, None]) -> ViewerType:
        context = info.context
        return ViewerType.of(await query(context, service.viewer, runtime=context.runtime))
