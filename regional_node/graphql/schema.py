from __future__ import annotations

from pathlib import Path

import strawberry
from strawberry.tools import merge_types

from regional_node.alerts.graphql.schema import AlertMutation, AlertQuery, AlertSubscription
from regional_node.data_products.graphql import DataProductQuery
from regional_node.devices.graphql.mutations import DeviceMutation
from regional_node.devices.graphql.queries import DeviceQuery
from regional_node.factories.graphql.mutations import FactoryMutation
from regional_node.factories.graphql.queries import FactoryQuery
from regional_node.hub_link.graphql import NodeQuery, NodeSubscription
from regional_node.market.graphql import MarketQuery
from regional_node.orders.graphql.schedules import ScheduleMutation, ScheduleQuery
from regional_node.orders.graphql.schema import OrderMutation, OrderQuery, OrderSubscription
from regional_node.overview.graphql import AuditTrailQuery, OverviewQuery
from regional_node.settings import NodeSettings
from regional_node.telemetry.graphql.schema import TelemetryQuery, TelemetrySubscription
from regional_node.viewer.graphql import ViewerQuery
from regional_node.vision.graphql import VisionMutation, VisionQuery, VisionSubscription
from yunfab.graphql.errors import Schema
from yunfab.graphql.http import schema_extensions

SCHEMA_FILE = Path(__file__).with_name("schema.graphql")

Query = merge_types(
    "Query",
    (
        NodeQuery,
        ViewerQuery,
        OverviewQuery,
        FactoryQuery,
        DeviceQuery,
        TelemetryQuery,
        AlertQuery,
        AuditTrailQuery,
        OrderQuery,
        ScheduleQuery,
        VisionQuery,
        DataProductQuery,
        MarketQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        FactoryMutation,
        DeviceMutation,
        AlertMutation,
        OrderMutation,
        ScheduleMutation,
        VisionMutation,
    ),
)
Subscription = merge_types(
    "Subscription",
    (
        NodeSubscription,
        TelemetrySubscription,
        AlertSubscription,
        OrderSubscription,
        VisionSubscription,
    ),
)


def build_schema(settings: NodeSettings) -> strawberry.Schema:
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=schema_extensions(settings),
    )
