from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.types import Info

from regional_node.alerts.graphql.types import SeverityEnum
from regional_node.factories.graphql.types import FactoryStatusEnum
from regional_node.graphql.context import NodeContext
from regional_node.hub_link.graphql import HubLinkType
from regional_node.orders.graphql.types import OrderStageEnum, OrderStatusEnum
from regional_node.overview import service
from yunfab.graphql.permissions import allowed
from yunfab.graphql.resolvers import query


@strawberry.type(name="FactoryStatusCount")
class FactoryStatusCount:
    status: FactoryStatusEnum  # type: ignore[valid-type]
    count: int


@strawberry.type(
    name="DeviceConnectivity",
    description="Devices not retired: online while Sparkplug says so or while their last "
    "reading is at most `windowS` seconds old; never seen when nothing of them arrived.",
)
class DeviceConnectivity:
    online: int
    offline: int
    never_seen: int
    total: int
    window_s: int = strawberry.field(description="DEVICE_ONLINE_WINDOW_S of the node.")


@strawberry.type(name="AlertSeverityCount", description="Alerts not closed, of one severity.")
class AlertSeverityCount:
    severity: SeverityEnum  # type: ignore[valid-type]
    open: int
    acknowledged: int


@strawberry.type(name="OrderStageCount")
class OrderStageCount:
    stage: OrderStageEnum  # type: ignore[valid-type]
    count: int


@strawberry.type(name="OrderStatusCount")
class OrderStatusCount:
    status: OrderStatusEnum  # type: ignore[valid-type]
    count: int


@strawberry.type(
    name="OutputToday",
    description="Today (the node's TIME_ZONE) against plan: units the work orders plan for the "
    "day and good units reported for it.",
)
class OutputToday:
    day: dt.date
    time_zone: str
    planned: int
    produced: int
    work_orders: int = strawberry.field(
        description="Work orders with units planned or reported for the day."
    )


@strawberry.type(name="NodeOverview", description="The node at a glance, for its operator.")
class OverviewType:
    as_of: dt.datetime
    factories: list[FactoryStatusCount] = strawberry.field(
        description="Every status, zero counts included."
    )
    devices: DeviceConnectivity
    open_alerts: list[AlertSeverityCount] = strawberry.field(
        description="Critical, warning, info: alerts open or acknowledged."
    )
    orders: list[OrderStageCount] = strawberry.field(
        description="Open orders by the stage they are at, all twelve stages in order."
    )
    orders_by_status: list[OrderStatusCount]
    today: OutputToday
    hub_link: HubLinkType

    @classmethod
    def of(cls, found: service.Overview, hub_link: HubLinkType) -> OverviewType:
        devices = found.devices
        return cls(
            as_of=found.as_of,
            factories=[FactoryStatusCount(status=s, count=n) for s, n in found.factories.items()],
            devices=DeviceConnectivity(
                online=devices.online,
                offline=devices.offline,
                never_seen=devices.never_seen,
                total=devices.online + devices.offline + devices.never_seen,
                window_s=devices.window_s,
            ),
            open_alerts=[
                AlertSeverityCount(severity=a.severity, open=a.open, acknowledged=a.acknowledged)
                for a in found.open_alerts
            ],
            orders=[OrderStageCount(stage=s, count=n) for s, n in found.orders.items()],
            orders_by_status=[
                OrderStatusCount(status=s, count=n) for s, n in found.orders_by_status.items()
            ],
            today=OutputToday(
                day=found.today.day,
                time_zone=found.today.time_zone,
                planned=found.today.planned,
                produced=found.today.produced,
                work_orders=found.today.work_orders,
            ),
            hub_link=hub_link,
        )


@strawberry.type
class OverviewQuery:
    @strawberry.field(
        description="Factories by status, devices online, open alerts, orders by stage, today's "
        "output against plan and the hub link: the node operator's first page.",
        permission_classes=[allowed("node.overview.read")],
    )
    async def overview(self, info: Info[NodeContext, None]) -> OverviewType:
        context = info.context
        settings = context.settings
        found = await query(
            context,
            service.overview,
            runtime=context.runtime,
            time_zone=settings.time_zone,
            online_window_s=settings.device_online_window_s,
        )
        return OverviewType.of(found, HubLinkType.from_status(context.hub_link.status))
